package main

import (
	"context"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// A shutdown closes every open connection with 1001 (going away) and drops one still in its
// opening handshake; run returns 0 once they are closed, and the server accepts no more.
func TestShutdownClosesWithGoingAway(t *testing.T) {
	srv := startServer(t, "-threads", "2")
	c := newClients(t)
	const open = 3
	var reading sync.WaitGroup
	reasons := make([]websocket.CloseReason, open)
	errs := make([]error, open)
	for i := range open {
		ws := c.dial(srv.addr, nil)
		checkEcho(t, ws, []byte("before the shutdown"), true)
		reading.Go(func() { reasons[i], errs[i] = awaitClose(ws) })
	}
	// A connection whose upgrade request never comes: the server is in its opening handshake.
	raw := c.connect(srv.addr)

	if code := srv.stop(); code != 0 {
		t.Fatalf("run returned %d; stderr:\n%s", code, srv.stderr)
	}
	reading.Wait()
	for i := range open {
		if errs[i] != nil {
			t.Errorf("client %d: %v", i, errs[i])
			continue
		}
		want := websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "server shutting down"}
		if reasons[i] != want {
			t.Errorf("client %d: close frame %+v, want %+v", i, reasons[i], want)
		}
	}
	r := completion.Await(func(h completion.Handler[net.IOResult]) { raw.AsyncReadSome(make([]byte, 64), h) })
	if r.N != 0 || r.Err == nil {
		t.Errorf("the connection in its handshake read %d bytes, %v; want its end", r.N, r.Err)
	}
	if err := completion.Await(func(h completion.Handler[error]) {
		net.NewTCPSocket(c.ioc).AsyncConnect(netip.MustParseAddrPort(srv.addr), h)
	}); err == nil {
		t.Error("the server accepted a connection after its shutdown")
	}
}

// A shutdown with no connection open returns at once; so does one asked for before run serves.
func TestShutdownIdle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	stdout := &lineWriter{lines: make(chan string, 1)}
	if code := run(ctx, []string{"-addr", "127.0.0.1:0"}, stdout, io.Discard); code != 0 {
		t.Fatalf("run returned %d", code)
	}
	select {
	case line := <-stdout.lines:
		if !strings.HasPrefix(line, "listening on 127.0.0.1:") {
			t.Fatalf("run printed %q", line)
		}
	default:
		t.Fatal("run did not say where it listened")
	}
	startServer(t).stop()
}
