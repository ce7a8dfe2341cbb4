package websocket_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// TestBrokenStreamStopsItsTimer: a read that fails because the peer vanished ends the stream, and
// with it the idle timer, so that the context runs out of work at once instead of when the next
// idle check (Idle/2, here 30 s) would have found nothing left to check.
func TestBrokenStreamStopsItsTimer(t *testing.T) {
	ioc := executor.NewIOContext()
	acc := net.NewTCPAcceptor(ioc)
	if err := acc.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	var readErr error
	acc.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
		acc.Close()
		if r.Err != nil {
			readErr = r.Err
			return
		}
		ws := websocket.NewStream(r.Socket, &websocket.Options{Timeout: websocket.Timeout{Idle: time.Minute}})
		ws.AsyncAccept(nil, completion.Callback(func(err error) {
			if err != nil {
				readErr = err
				return
			}
			ws.AsyncRead(new(net.FlatBuffer), completion.Callback(func(res net.IOResult) { readErr = res.Err }))
		}))
	}))
	sock := net.NewTCPSocket(ioc)
	sock.AsyncConnect(acc.Addr(), completion.Callback(func(err error) {
		if err != nil {
			t.Error(err)
			return
		}
		websocket.NewStream(sock, nil).AsyncHandshake("localhost", "/", nil, completion.Callback(func(error) { sock.Close() }))
	}))
	done := make(chan struct{})
	go func() { defer close(done); ioc.Run() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		ioc.Stop()
		<-done
		t.Fatalf("Run still running 10 s after the peer vanished (the read: %v): the idle timer outlived the stream", readErr)
	}
	if readErr == nil {
		t.Fatal("the read succeeded; want the peer's end")
	}
}
