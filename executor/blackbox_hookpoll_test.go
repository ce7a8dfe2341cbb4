package executor_test

// Black-box tests of the idle hook's poll under a queue that never empties, written from
// docs/executors.md ("The idle hook") and go doc of executor only: "a run goroutine also polls
// the hook, without waiting, once it has run 1024 handlers since it last did (counted across
// RunOne calls too); what the hook finds queues behind what is already queued".

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/executor"
)

// bbPollHook is a test reactor: one event that the test arms, delivered (posted to the context)
// by the first Wait after it is armed, whatever its timeout. The armed event counts as work, as
// a pending operation does.
type bbPollHook struct {
	ioc     *executor.IOContext
	wake    chan struct{}
	armed   atomic.Bool
	polls   atomic.Int64 // Wait calls with a zero timeout
	waits   atomic.Int64 // all Wait calls
	inWait  atomic.Int32
	overlap atomic.Bool // two goroutines inside Wait at once
	deliver func()
}

func newBBPollHook(ioc *executor.IOContext) *bbPollHook {
	return &bbPollHook{ioc: ioc, wake: make(chan struct{}, 1)}
}

func (h *bbPollHook) arm(f func()) {
	h.deliver = f
	h.ioc.OnWorkStarted()
	h.armed.Store(true)
	h.Wake()
}

func (h *bbPollHook) Wait(timeout time.Duration) {
	if h.inWait.Add(1) > 1 {
		h.overlap.Store(true)
	}
	defer h.inWait.Add(-1)
	h.waits.Add(1)
	if timeout == 0 {
		h.polls.Add(1)
	}
	if h.armed.CompareAndSwap(true, false) {
		f := h.deliver
		h.ioc.Post(func() { f(); h.ioc.OnWorkFinished() })
		return
	}
	switch {
	case timeout < 0:
		<-h.wake
	case timeout > 0:
		select {
		case <-h.wake:
		case <-time.After(timeout):
		}
	}
}

func (h *bbPollHook) Wake() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// the bound of the docs' figure: the poll comes once 1024 handlers have run since the last,
// and its event queues behind what is queued (one chain handler here); twice that leaves room
// for the handler that was running when the event was armed and for a batch boundary.
const bbPollBound = 2 * 1024

// A chain of handlers that each post the next never lets the queue empty; an event armed in the
// hook during the chain is still delivered, within the documented count of handlers, by a single
// Run goroutine.
func TestBlackboxIdleHookPolledUnderBusyRun(t *testing.T) {
	ioc := executor.NewIOContext()
	hook := newBBPollHook(ioc)
	if got := ioc.AttachIdleHook(func() executor.IdleHook { return hook }); got != hook {
		t.Fatalf("AttachIdleHook returned %v, want the new hook", got)
	}
	for round := range 20 {
		var n int64 // handlers of the chain run; only the Run goroutine touches it
		var armedAt, seenAt int64 = -1, -1
		var stop bool
		var step func()
		step = func() {
			n++
			if n == int64(3000+round*97) {
				armedAt = n
				hook.arm(func() { seenAt = n; stop = true })
			}
			// A liveness guard only: a context that never polls its hook would run for ever.
			if stop || n > 5_000_000 {
				return
			}
			ioc.Post(step)
		}
		ioc.Restart()
		ioc.Post(step)
		ioc.Run()
		if seenAt < 0 {
			t.Fatalf("round %d: the armed event never ran in %d handlers (%d polls)", round, n, hook.polls.Load())
		}
		if d := seenAt - armedAt; d > bbPollBound {
			t.Fatalf("round %d: event delivered %d handlers after it was armed, want at most %d", round, d, bbPollBound)
		}
	}
	if hook.overlap.Load() {
		t.Fatal("two goroutines were inside Wait at once")
	}
}

// The same with RunOne called in a loop: each call runs one handler, and the count of handlers
// since the last poll carries across calls.
func TestBlackboxIdleHookPolledAcrossRunOne(t *testing.T) {
	ioc := executor.NewIOContext()
	hook := newBBPollHook(ioc)
	ioc.AttachIdleHook(func() executor.IdleHook { return hook })
	var stop atomic.Bool
	var step func()
	step = func() {
		if !stop.Load() {
			ioc.Post(step)
		}
	}
	ioc.Post(step)
	var armedAt, seenAt int64 = -1, -1
	var calls int64
	for calls = 1; calls <= 5_000_000 && seenAt < 0; calls++ {
		if ioc.RunOne() != 1 {
			t.Fatalf("RunOne %d ran nothing", calls)
		}
		if calls == 1500 {
			armedAt = calls
			c := &calls
			hook.arm(func() { seenAt = *c })
		}
	}
	stop.Store(true)
	for ioc.RunOne() != 0 {
	}
	if seenAt < 0 {
		t.Fatalf("the armed event never ran in %d RunOne calls (%d polls)", calls, hook.polls.Load())
	}
	if d := seenAt - armedAt; d > bbPollBound {
		t.Fatalf("event delivered %d RunOne calls after it was armed, want at most %d", d, bbPollBound)
	}
}

// Several Run goroutines on a context whose handlers keep posting: each goroutine counts its own
// handlers, and the hook, polled by whichever reaches the count, is never entered by two at once.
func TestBlackboxIdleHookPolledByPool(t *testing.T) {
	ioc := executor.NewIOContextConcurrency(2)
	hook := newBBPollHook(ioc)
	ioc.AttachIdleHook(func() executor.IdleHook { return hook })
	var stop atomic.Bool
	var ran atomic.Int64
	var step func()
	step = func() {
		if ran.Add(1) > 20_000_000 || stop.Load() {
			return
		}
		ioc.Post(step)
	}
	var seen sync.WaitGroup
	const events = 50
	seen.Add(1)
	var left atomic.Int32
	left.Store(events)
	var fire func()
	fire = func() {
		if left.Add(-1) == 0 {
			stop.Store(true)
			seen.Done()
			return
		}
		hook.arm(fire)
	}
	ioc.Post(step)
	ioc.Post(step)
	ioc.Post(func() { hook.arm(fire) })
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { ioc.Run() })
	}
	wg.Wait()
	if left.Load() != 0 {
		t.Fatalf("%d of %d events never ran in %d handlers", left.Load(), events, ran.Load())
	}
	if hook.overlap.Load() {
		t.Fatal("two goroutines were inside Wait at once")
	}
}
