package net_test

import (
	stdnet "net"
	"net/netip"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// TestFirstSocketAfterRunIdles: the first I/O object of an IOContext whose Run goroutine is
// already asleep (kept in Run by a work guard, nothing queued) is served at once: attaching the
// reactor wakes the sleeping runner to wait in it. Without that, the accept below would wait for
// some unrelated handler to be posted.
func TestFirstSocketAfterRunIdles(t *testing.T) {
	for _, idleFirst := range []time.Duration{0, 50 * time.Millisecond} {
		ioc := executor.NewIOContext()
		guard := executor.MakeWorkGuard(ioc)
		done := make(chan struct{})
		go func() { defer close(done); ioc.Run() }()
		time.Sleep(idleFirst)
		acceptor := net.NewTCPAcceptor(ioc)
		if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
			t.Fatal(err)
		}
		res := make(chan net.AcceptResult, 1)
		acceptor.AsyncAccept(nil, completion.Chan(res))
		c, err := stdnet.Dial("tcp", acceptor.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-res:
			if r.Socket != nil {
				r.Socket.Close()
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run idle for %v before the acceptor was made: the accept did not complete in 10 s", idleFirst)
			ioc.Post(func() {}) // any post wakes Run, which then waits in the reactor
			<-res
		}
		c.Close()
		acceptor.Close()
		guard.Reset()
		<-done
	}
}
