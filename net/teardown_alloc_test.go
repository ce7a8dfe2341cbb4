//go:build !race

// Under the race detector sync.Pool drops what it is given at random, so the pooled states of a
// teardown and of a read are made anew by chance, and their counts differ by chance.

package net_test

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// A teardown allocates nothing of its own: no more allocations than an AsyncRead on the same setup
// (a pair whose peer has closed), whose state comes from a pool as the teardown's does.
func TestTeardownAllocatesItsStateOnly(t *testing.T) {
	ioc := executor.NewIOContext()
	buf := make([]byte, 8)
	errH := completion.Callback(func(error) {})
	readH := completion.Callback(func(net.IOResult) {})
	measure := func(op func(a *nettest.Stream)) float64 {
		return testing.AllocsPerRun(100, func() {
			a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
			b.Close()
			op(a)
			ioc.Run()
			ioc.Restart()
		})
	}
	read := measure(func(a *nettest.Stream) { net.AsyncRead(a, buf, readH) })
	teardown := measure(func(a *nettest.Stream) { net.AsyncTeardown(a, errH) })
	if teardown > read {
		t.Fatalf("a teardown allocates %.1f times, an AsyncRead on the same setup %.1f", teardown, read)
	}
}
