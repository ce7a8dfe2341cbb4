package net_test

import (
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// bbWaitGroupWithin waits for wg, failing the test if it is not done within a minute: a watchdog
// for a run call that never returns, not a measure of speed.
func bbWaitGroupWithin(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: Run did not return", what)
	}
}

// Stop with a read pending, while one of two Run goroutines waits in the reactor and the other
// sleeps, returns both run calls; the read stays pending, and after Restart new run calls complete
// it with the bytes the peer sends.
func TestBBStopWithOneRunnerInReactor(t *testing.T) {
	ln := bbStdListener(t)
	for round := range 10 {
		ctx := executor.NewIOContext()
		guard := executor.MakeWorkGuard(ctx)
		var runs sync.WaitGroup
		for range 2 {
			runs.Go(func() { ctx.Run() })
		}
		s, peer := bbDialStd(t, ctx, ln)
		buf := make([]byte, 16)
		got := make(chan net.IOResult, 1)
		s.AsyncReadSome(buf, completion.Callback(func(r net.IOResult) { got <- r }))
		guard.Reset() // the pending read keeps Run going from here
		ran := make(chan struct{})
		ctx.Post(func() { close(ran) })
		<-ran // the runners have been through their loop: one waits in the reactor, one sleeps
		ctx.Stop()
		bbWaitGroupWithin(t, &runs, "Stop")
		select {
		case r := <-got:
			t.Fatalf("round %d: the read completed with nothing sent: %+v", round, r)
		default:
		}
		if _, err := peer.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		ctx.Restart()
		for range 2 {
			runs.Go(func() { ctx.Run() })
		}
		var r net.IOResult
		select {
		case r = <-got:
		case <-time.After(time.Minute): // a watchdog for a read left behind by Stop
			ctx.Stop()
			runs.Wait()
			t.Fatalf("round %d: the read never completed after Restart", round)
		}
		if r.Err != nil || string(buf[:r.N]) != "ping" {
			t.Errorf("round %d: read after Restart = %q, %v; want \"ping\"", round, buf[:r.N], r.Err)
		}
		s.Close()
		peer.Close()
		bbWaitGroupWithin(t, &runs, "out of work")
	}
}
