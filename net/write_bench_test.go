package net_test

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// BenchmarkAsyncWrite writes 4 KiB in writes of at most 1 KiB over nettest, each round a Run of
// the context: what the composed write costs per call, Run's own cost included.
func BenchmarkAsyncWrite(b *testing.B) {
	msg := make([]byte, 4096)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			ioc := executor.NewIOContext()
			a, peer := nettest.NewPair(ioc, nettest.Options{WriteSize: 1024, Mode: m.mode}, nettest.Options{})
			drain := make([]byte, len(msg))
			h := completion.Callback(func(r net.IOResult) {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
				peer.AsyncReadSome(drain, completion.Detached[net.IOResult]())
			})
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				net.AsyncWrite(a, msg, h)
				ioc.Run()
				ioc.Restart()
			}
		})
	}
}
