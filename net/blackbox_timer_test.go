package net_test

// Black-box tests of SteadyTimer's cancellation (docs/net.md, "Cancellation": "any cancellation
// that arrives once AsyncWait has started completes the wait with the abort error"), of Cancel's
// and ExpiresAfter's counts racing AsyncWait, and of handlers never running inside AsyncWait or
// Cancel.

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
)

// bbGoid returns the calling goroutine's id, parsed from its stack header.
func bbGoid() uint64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := bytes.Fields(b[:n])
	id, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return id
}

func bbWantAbortCtx(t testing.TB, what string, err error, ctxErr error) {
	t.Helper()
	if !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, ctxErr) {
		t.Errorf("%s: err = %v (%T), want one matching ErrOperationAborted and %v", what, err, err, ctxErr)
	}
}

// Thousands of waits of an hour, each with a context cancelled from another goroutine at the
// moment AsyncWait starts (or just before, or just after): every wait completes with the abort
// error and the context's, and Run returns.
func TestBlackboxTimerContextCancelledAsTheWaitStarts(t *testing.T) {
	for _, runners := range []int{1, 3} {
		r := bbRun(t, runners)
		const waits = 2000
		cancels := make(chan func(), 64)
		var workers sync.WaitGroup
		for range 4 {
			workers.Go(func() {
				for c := range cancels {
					c()
				}
			})
		}
		var done sync.WaitGroup
		var nilResults, badResults, calls atomic.Int64
		var firstBad atomic.Value
		timers := []*net.SteadyTimer{net.NewSteadyTimer(r.ioc), net.NewSteadyTimer(r.ioc)}
		for _, tm := range timers {
			tm.ExpiresAfter(time.Hour)
		}
		for i := range waits {
			var ctx context.Context
			var cancel context.CancelFunc
			var cause error
			if i%3 == 0 {
				cause = errors.New("cause " + strconv.Itoa(i))
				var cc context.CancelCauseFunc
				ctx, cc = context.WithCancelCause(context.Background())
				cancel = func() { cc(cause) }
			} else {
				ctx, cancel = context.WithCancel(context.Background())
			}
			// Each wait on its own timer every other time; the rest share two timers (any
			// number of waits may be pending on one).
			tm := timers[i%2]
			if i%4 == 1 {
				tm = net.NewSteadyTimer(r.ioc)
				tm.ExpiresAfter(time.Hour)
			}
			done.Add(1)
			h := completion.WithContext(ctx, completion.Callback(func(err error) {
				calls.Add(1)
				switch {
				case err == nil:
					nilResults.Add(1)
				case !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, context.Canceled) ||
					(cause != nil && !errors.Is(err, cause)):
					badResults.Add(1)
					firstBad.CompareAndSwap(nil, err.Error())
				}
				done.Done()
			}))
			switch i % 5 {
			case 0: // cancelled before the wait starts
				cancel()
				tm.AsyncWait(h)
			case 1: // cancelled by another goroutine while the wait starts
				cancels <- cancel
				tm.AsyncWait(h)
			case 2: // the same, handed over just after
				tm.AsyncWait(h)
				cancels <- cancel
			default: // cancelled on this goroutine right after
				tm.AsyncWait(h)
				cancel()
			}
		}
		close(cancels)
		workers.Wait()
		done.Wait()
		r.stop() // Run returns: no wait of an hour left pending
		if n := nilResults.Load(); n != 0 {
			t.Errorf("%d runners: %d cancelled waits of an hour completed with nil", runners, n)
		}
		if n := badResults.Load(); n != 0 {
			t.Errorf("%d runners: %d waits completed with the wrong error; first: %v", runners, n, firstBad.Load())
		}
		if n := calls.Load(); n != waits {
			t.Errorf("%d runners: %d handler calls for %d waits", runners, n, waits)
		}
	}
}

// Cancel racing AsyncWait from another goroutine: Cancel either sees the wait (and counts it) or
// comes first and leaves it for a later Cancel; either way the wait completes once with the abort
// error, and the counts add up. The same for ExpiresAfter and ExpiresAt, which cancel too.
func TestBlackboxTimerCancelRacingAsyncWaitCounts(t *testing.T) {
	r := bbRun(t, 2)
	cancellers := map[string]func(*net.SteadyTimer) int{
		"Cancel":       (*net.SteadyTimer).Cancel,
		"ExpiresAfter": func(tm *net.SteadyTimer) int { return tm.ExpiresAfter(time.Hour) },
		"ExpiresAt":    func(tm *net.SteadyTimer) int { return tm.ExpiresAt(time.Now().Add(time.Hour)) },
	}
	for name, cancel := range cancellers {
		for range 300 {
			tm := net.NewSteadyTimer(r.ioc)
			tm.ExpiresAfter(time.Hour)
			const k = 3
			hs := make([]*bbOnce[error], k)
			for i := range hs {
				hs[i] = bbNewOnce[error]()
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			var counted atomic.Int64
			for i := range hs {
				wg.Go(func() { <-start; tm.AsyncWait(hs[i]) })
			}
			wg.Go(func() { <-start; counted.Add(int64(cancel(tm))) })
			wg.Go(func() { <-start; counted.Add(int64(cancel(tm))) })
			close(start)
			wg.Wait()
			counted.Add(int64(tm.Cancel())) // the waits that started after both
			if c := counted.Load(); c != k {
				t.Fatalf("%s racing AsyncWait: the cancellations counted %d waits, want %d", name, c, k)
			}
			for i, h := range hs {
				if err := h.wait(); !errors.Is(err, completion.ErrOperationAborted) {
					t.Fatalf("%s racing AsyncWait: wait %d completed with %v", name, i, err)
				}
			}
			if n := tm.Cancel(); n != 0 {
				t.Fatalf("Cancel after all waits completed returned %d", n)
			}
		}
	}
	r.stop()
}

// A wait cancelled as it starts by its context, with the timer's Cancel racing it too: still one
// completion, with the abort error.
func TestBlackboxTimerContextAndCancelRacing(t *testing.T) {
	r := bbRun(t, 3)
	for range 500 {
		tm := net.NewSteadyTimer(r.ioc)
		tm.ExpiresAfter(time.Hour)
		ctx, cancel := context.WithCancel(context.Background())
		h := bbNewOnce[error]()
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; tm.AsyncWait(completion.WithContext(ctx, h)) })
		wg.Go(func() { <-start; cancel() })
		wg.Go(func() { <-start; tm.Cancel() })
		close(start)
		wg.Wait()
		err := h.wait()
		if !errors.Is(err, completion.ErrOperationAborted) {
			t.Fatalf("wait completed with %v, want the abort error", err)
		}
		tm.Cancel()
		if h.count() != 1 {
			t.Fatalf("handler ran %d times", h.count())
		}
	}
	r.stop()
}

// Handlers never run inside AsyncWait, Cancel, ExpiresAfter or ExpiresAt, whether those are
// called from a handler on the Run goroutine (where Dispatch would run inline) or from outside.
func TestBlackboxTimerHandlersNeverRunInsideTheCalls(t *testing.T) {
	r := bbRun(t, 1)
	var mu sync.Mutex
	inside := map[uint64]string{} // goroutine -> the call it is inside
	enter := func(what string) { mu.Lock(); inside[bbGoid()] = what; mu.Unlock() }
	leave := func() { mu.Lock(); delete(inside, bbGoid()); mu.Unlock() }
	var wg sync.WaitGroup
	handler := func(name string) completion.Handler[error] {
		wg.Add(1)
		return completion.Callback(func(err error) {
			mu.Lock()
			if call, ok := inside[bbGoid()]; ok {
				t.Errorf("handler %s (err %v) ran inside %s", name, err, call)
			}
			mu.Unlock()
			wg.Done()
		})
	}
	exercise := func(where string) {
		expired := net.NewSteadyTimer(r.ioc) // expires at once until set
		enter("AsyncWait on an expired timer")
		expired.AsyncWait(handler(where + "/expired"))
		leave()
		enter("Cancel after an expired wait")
		expired.Cancel()
		leave()

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tm := net.NewSteadyTimer(r.ioc)
		tm.ExpiresAfter(time.Hour)
		enter("AsyncWait with a done context")
		tm.AsyncWait(completion.WithContext(ctx, handler(where+"/done-context")))
		leave()

		tm.AsyncWait(handler(where + "/cancelled"))
		enter("Cancel")
		tm.Cancel()
		leave()
		tm.AsyncWait(handler(where + "/re-expired"))
		enter("ExpiresAfter")
		tm.ExpiresAfter(time.Hour)
		leave()
		tm.AsyncWait(handler(where + "/re-expired-at"))
		enter("ExpiresAt")
		tm.ExpiresAt(time.Now().Add(time.Hour))
		leave()
		ctx2, cancel2 := context.WithCancel(context.Background())
		tm.AsyncWait(completion.WithContext(ctx2, handler(where+"/context-cancelled")))
		enter("cancel of the context")
		cancel2()
		leave()
	}
	exercise("outside")
	fromHandler := make(chan struct{})
	r.ioc.Post(func() { exercise("handler"); close(fromHandler) })
	<-fromHandler
	wg.Wait()
	r.stop()
}
