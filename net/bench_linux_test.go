//go:build linux && !beastgo_portable

package net

import (
	"runtime"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// BenchmarkIdleSocketMemory reports the reactor's heap per registered socket with a read pending,
// at 8,000 sockets (4,000 loopback connections), the caller's buffer aside.
func BenchmarkIdleSocketMemory(b *testing.B) {
	const conns = 4000
	for b.Loop() {
		ctx := executor.NewIOContext()
		a := NewTCPAcceptor(ctx)
		if err := a.Listen(loopback, 0); err != nil {
			b.Fatal(err)
		}
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		sockets := make([]*TCPSocket, 0, 2*conns)
		var accept completion.Func[AcceptResult]
		accept = func(r AcceptResult) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			sockets = append(sockets, r.Socket)
			if len(sockets) < 2*conns {
				a.AsyncAccept(nil, accept)
			}
		}
		for range conns {
			c := NewTCPSocket(ctx)
			c.AsyncConnect(a.Addr(), completion.Detached[error]())
			sockets = append(sockets, c)
		}
		a.AsyncAccept(nil, accept)
		for len(sockets) < 2*conns {
			ctx.RunOne()
		}
		var one [1]byte
		ignore := completion.Detached[IOResult]()
		for _, s := range sockets {
			s.AsyncReadSome(one[:], ignore)
		}
		ctx.Poll()
		runtime.GC()
		runtime.ReadMemStats(&ms1)
		perSocket := float64(ms1.HeapAlloc-ms0.HeapAlloc-uint64(cap(sockets))*8) / float64(2*conns)
		b.ReportMetric(perSocket, "heap-B/socket")
		for _, s := range sockets {
			s.Close()
		}
		a.Close()
		ctx.Restart()
		ctx.Run()
	}
}
