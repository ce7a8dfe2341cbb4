package benchcases

import (
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	beastnet "github.com/beastgo/beast/net"
)

// RoundTripsEndsApart is RoundTripsPerContext on two IOContexts with each connection's client on
// one context and its server on the other: every socket stays on one Run goroutine, as in the
// per-context case, but every message crosses from one goroutine, and core, to the other. It
// measures what one context run by two goroutines pays when it hands the two ends of a connection
// to different goroutines; ns/op is per round trip.
func RoundTripsEndsApart(b *testing.B) {
	gate := &loopGate{b: b}
	b.ReportAllocs()
	b.SetBytes(2 * rttSize)
	ctxs := [2]*executor.IOContext{executor.NewIOContext(), executor.NewIOContext()}
	a := beastnet.NewTCPAcceptor(ctxs[0])
	if err := a.Listen(loopback, 0); err != nil {
		b.Fatal(err)
	}
	var clients, servers []*beastnet.TCPSocket
	for i := range rttConns {
		c := beastnet.NewTCPSocket(ctxs[i%2])
		c.AsyncConnect(a.Addr(), completion.Callback(func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}))
		clients = append(clients, c)
		a.AsyncAccept(ctxs[1-i%2], completion.Callback(func(r beastnet.AcceptResult) { servers = append(servers, r.Socket) }))
		for _, ctx := range ctxs {
			ctx.Run()
			ctx.Restart()
		}
	}
	a.Close()
	for _, s := range servers {
		startEcho(s, rttReadBuf)
	}
	// Each pinger on its client's context; once all have stopped, every socket is closed on its
	// own context, the echoers end and both Run calls return.
	var live sync.WaitGroup
	live.Add(rttConns)
	for _, c := range clients {
		c.Executor().Post(newPinger(c, gate, live.Done).round)
	}
	go func() {
		live.Wait()
		for _, s := range append(clients, servers...) {
			s.Executor().Post(func() { s.Close() })
		}
	}()
	var wg sync.WaitGroup
	wg.Go(func() { ctxs[1].Run() })
	ctxs[0].Run()
	wg.Wait()
}
