//go:build !race

// Under the race detector sync.Pool drops what it is given at random, so pooled states are made
// anew: these counts hold only without it (CI runs the package both ways).

package net_test

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// AsyncWrite, AsyncWriteBuffers, AsyncRead and AsyncReadUntil take their states from pools: once
// warm, a write and the reads of what it wrote allocate nothing, as a server's per-message path
// must not.
func TestComposedHelpersAllocateNothing(t *testing.T) {
	// One Run goroutine for the whole test: entering Run allocates, an operation must not.
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		ioc.Run()
	}()
	defer func() {
		guard.Reset()
		<-ran
	}()
	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer a.Close()
	defer b.Close()
	msg := []byte("line one\r\n")
	bufs := [][]byte{msg[:4], msg[4:]}
	delim := []byte("\r\n")
	got := make([]byte, len(msg))
	var line net.FlatBuffer
	results := make(chan net.IOResult, 2)
	h := completion.Callback(func(r net.IOResult) { results <- r })
	var failed error
	wait := func() {
		for range 2 {
			if r := <-results; r.Err != nil && failed == nil {
				failed = r.Err
			}
		}
	}
	round := func() {
		net.AsyncWrite(a, msg, h)
		net.AsyncRead(b, got, h)
		wait()
		net.AsyncWriteBuffers(a, bufs, h)
		net.AsyncReadUntil(b, &line, delim, h)
		wait()
		line.Consume(line.Size())
	}
	round() // warms the pools and the buffers
	allocs := testing.AllocsPerRun(100, round)
	switch {
	case gid.Known && allocs != 0:
		t.Errorf("a round of the four helpers allocated %.1f times, want 0", allocs)
	case !gid.Known && allocs > 4:
		// Without goroutine identity (beastgo_nogid) a stream's completion cannot be known to run
		// on the step executor, so it is posted as a closure: one per helper's inner operation.
		t.Errorf("a round of the four helpers allocated %.1f times without goroutine identity, want at most 4", allocs)
	}
	if failed != nil {
		t.Fatal(failed)
	}
	if string(got) != string(msg) {
		t.Errorf("read %q, want %q", got, msg)
	}
}
