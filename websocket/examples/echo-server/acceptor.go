package main

import (
	"crypto/tls"
	"io"
	stdnet "net"
	"net/netip"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// acceptor is where the server's connections come from. For ws:// it is a net.TCPAcceptor, as in
// Beast. For wss:// it is Go's crypto/tls, which runs over a net.Conn; a beastgo TCPSocket is
// not one, so that acceptor listens with Go's net package and hands each connection to
// net.FromConn.
type acceptor interface {
	// AsyncAccept waits for a connection and calls h with it, on the acceptor's executor. The
	// connection is a next layer for a websocket.Stream whose executor is ex. One accept may be
	// pending at a time.
	AsyncAccept(ex executor.Executor, h func(accepted))
	// Addr returns the address the acceptor is bound to.
	Addr() string
	// Close stops listening; a pending accept completes with an error.
	Close() error
}

// accepted is a new connection, or the error of an accept.
type accepted struct {
	next net.AsyncStream
	peer string // the client's address, for the log
	err  error
}

// closeNext closes a connection the server will not serve.
func closeNext(next net.AsyncStream) {
	if c, ok := next.(io.Closer); ok {
		_ = c.Close() // nothing was sent on it: there is nothing to report
	}
}

// tcpAcceptor accepts plain TCP connections on the IOContext's reactor.
type tcpAcceptor struct{ acc *net.TCPAcceptor }

// listenTCP listens on addr; the accepts complete on ex.
func listenTCP(ex executor.Executor, addr netip.AddrPort) (tcpAcceptor, error) {
	acc := net.NewTCPAcceptor(ex)
	if err := acc.Listen(addr, 0); err != nil {
		return tcpAcceptor{}, err
	}
	return tcpAcceptor{acc}, nil
}

func (a tcpAcceptor) AsyncAccept(ex executor.Executor, h func(accepted)) {
	a.acc.AsyncAccept(ex, completion.Callback(func(r net.AcceptResult) {
		if r.Err != nil {
			h(accepted{err: r.Err})
			return
		}
		peer, _ := r.Socket.RemoteAddr() // only for the log: a zero address will do
		h(accepted{next: r.Socket, peer: peer.String()})
	}))
}

func (a tcpAcceptor) Addr() string { return a.acc.Addr().String() }
func (a tcpAcceptor) Close() error { return a.acc.Close() }

// tlsAcceptor accepts TLS connections with Go's net and crypto/tls packages. Each connection is
// served by net.FromConn's two goroutines (crypto/tls does blocking reads and writes); its TLS
// handshake runs on the first of them, as the WebSocket handshake reads the upgrade request.
type tlsAcceptor struct {
	ln  stdnet.Listener
	cfg *tls.Config
	ex  executor.Executor // where the accepts complete
}

// listenTLS listens on addr with the certificate and key in the two PEM files; the accepts
// complete on ex.
func listenTLS(ex executor.Executor, addr netip.AddrPort, certFile, keyFile string) (*tlsAcceptor, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	ln, err := stdnet.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	return &tlsAcceptor{ln: ln, cfg: &tls.Config{Certificates: []tls.Certificate{cert}}, ex: ex}, nil
}

// AsyncAccept runs the listener's blocking Accept on a goroutine that ends with it, as
// net.Resolver runs a lookup, and counts the accept as work on the executor while it is pending,
// as beastgo's own operations do, so that Run does not return under it.
func (a *tlsAcceptor) AsyncAccept(ex executor.Executor, h func(accepted)) {
	a.ex.OnWorkStarted()
	go func() {
		r := accepted{}
		conn, err := a.ln.Accept()
		if err != nil {
			r.err = err
		} else {
			r.next = net.FromConn(tls.Server(conn, a.cfg), ex)
			r.peer = conn.RemoteAddr().String()
		}
		a.ex.Post(func() {
			h(r)
			a.ex.OnWorkFinished()
		})
	}()
}

func (a *tlsAcceptor) Addr() string { return a.ln.Addr().String() }
func (a *tlsAcceptor) Close() error { return a.ln.Close() }
