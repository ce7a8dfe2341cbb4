package main

import (
	"context"
	"crypto/tls"
	"net/netip"
	"net/url"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// defaultPorts are the ports of URLs that name none.
var defaultPorts = map[string]string{"ws": "80", "wss": "443"}

// asyncDial resolves u's host and connects to the first of its addresses that answers: over TCP
// for ws://, and through crypto/tls for wss://, checking the server's certificate unless
// insecure. It calls h with the connection, a next layer for a websocket.Stream on ex, or with
// the error; ctx cancels it.
func asyncDial(ctx context.Context, ex executor.Executor, u *url.URL, insecure bool, h func(net.AsyncStream, error)) {
	port := u.Port()
	if port == "" {
		port = defaultPorts[u.Scheme]
	}
	resolver := net.NewResolver(ex)
	resolver.AsyncResolve(u.Hostname(), port, completion.WithContext(ctx, completion.Callback(func(r net.ResolveResult) {
		switch {
		case r.Err != nil:
			h(nil, r.Err)
		case u.Scheme == "wss":
			cfg := &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: insecure}
			asyncDialTLS(ctx, ex, r.Addrs, cfg, h)
		default:
			asyncConnect(ctx, ex, r.Addrs, h)
		}
	})))
}

// asyncConnect connects a TCP socket, served by the IOContext's reactor, to the first address that
// answers.
func asyncConnect(ctx context.Context, ex executor.Executor, addrs []netip.AddrPort, h func(net.AsyncStream, error)) {
	sock := net.NewTCPSocket(ex)
	net.AsyncConnectAny(sock, addrs, completion.WithContext(ctx, completion.Callback(func(r net.ConnectResult) {
		if r.Err != nil {
			sock.Close()
			h(nil, r.Err)
			return
		}
		h(sock, nil)
	})))
}

// asyncDialTLS connects to the first address that answers and runs the TLS handshake, with Go's
// net and crypto/tls packages: crypto/tls needs a net.Conn, which a beastgo TCPSocket is not. The
// blocking calls run on a goroutine that ends with them, as net.Resolver runs a lookup, and the
// dial counts as work on ex while it is pending, as beastgo's own operations do, so that Run does
// not return under it. net.FromConn then serves the connection.
func asyncDialTLS(ctx context.Context, ex executor.Executor, addrs []netip.AddrPort, cfg *tls.Config, h func(net.AsyncStream, error)) {
	ex.OnWorkStarted()
	go func() {
		d := tls.Dialer{Config: cfg}
		var next net.AsyncStream
		err := net.ErrNoAddresses
		for _, addr := range addrs {
			conn, derr := d.DialContext(ctx, "tcp", addr.String())
			if err = derr; err == nil {
				next = net.FromConn(conn, ex)
				break
			}
		}
		ex.Post(func() {
			h(next, err)
			ex.OnWorkFinished()
		})
	}()
}
