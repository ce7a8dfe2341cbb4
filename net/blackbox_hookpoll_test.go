package net_test

// Black-box test of a busy IOContext that still serves its timers and sockets, written from
// docs/executors.md ("The idle hook": "A context whose queue never empties [...] a run goroutine
// also polls the hook, without waiting, once it has run 1024 handlers since it last did") and go
// doc of net: the reactor is the context's idle hook.

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
)

// A single Run goroutine whose handlers keep posting the next one never finds its queue empty;
// a SteadyTimer's expiry and a loopback TCP socket's readiness are still seen, while the chain
// runs, and the chain stops only once both have been.
func TestBlackboxBusyContextSeesTimerAndSocket(t *testing.T) {
	r := bbRun(t, 1)
	sock, peer := bbDialStd(t, r.ioc, bbStdListener(t))
	defer sock.Close()
	defer peer.Close()

	for round := range 5 {
		var chain atomic.Int64
		var timerSeen, readSeen atomic.Bool
		var timerAt, readAt atomic.Int64
		done := make(chan struct{})
		var guardHit atomic.Bool
		// A liveness guard only (a context that never polls its reactor would run the chain for
		// ever): the test fails if it fires, and it says nothing of speed.
		deadline := time.Now().Add(20 * time.Second)
		var step func()
		step = func() {
			n := chain.Add(1)
			if timerSeen.Load() && readSeen.Load() {
				close(done)
				return
			}
			if n%4096 == 0 && time.Now().After(deadline) {
				guardHit.Store(true)
				close(done)
				return
			}
			r.ioc.Post(step)
		}
		r.ioc.Post(step)
		for chain.Load() < 100 {
			// wait until the chain runs, so both events arrive while it does
			time.Sleep(time.Millisecond)
		}
		tm := net.NewSteadyTimer(r.ioc)
		tm.ExpiresAfter(time.Millisecond)
		tm.AsyncWait(completion.Callback(func(err error) {
			if err != nil {
				t.Errorf("round %d: timer wait: %v", round, err)
			}
			timerAt.Store(chain.Load())
			timerSeen.Store(true)
		}))
		buf := make([]byte, 16)
		got := bbNewOnce[net.IOResult]()
		sock.AsyncReadSome(buf, completion.Callback(func(res net.IOResult) {
			readAt.Store(chain.Load())
			readSeen.Store(true)
			got.Complete(res)
		}))
		if _, err := peer.Write([]byte("ready")); err != nil {
			t.Fatal(err)
		}
		<-done
		if guardHit.Load() {
			t.Fatalf("round %d: after %d chained handlers: timer seen %v, read seen %v", round, chain.Load(), timerSeen.Load(), readSeen.Load())
		}
		res := got.wait()
		if res.Err != nil || string(buf[:res.N]) != "ready" {
			t.Fatalf("round %d: read %q, %v", round, buf[:res.N], res.Err)
		}
		if got.count() != 1 {
			t.Fatalf("round %d: read handler called %d times", round, got.count())
		}
		// Both events ran while the chain was running: the chain had run and was still going.
		if timerAt.Load() < 100 || readAt.Load() < 100 {
			t.Fatalf("round %d: events at chain counts %d and %d", round, timerAt.Load(), readAt.Load())
		}
	}
}
