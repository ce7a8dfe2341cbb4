//go:build linux && !beastgo_portable

package net

import (
	"context"
	"sync"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// SteadyTimer waits for a point on the monotonic clock: Asio's steady_timer. Any number of waits
// may be pending; each completes exactly once, with nil when the timer expires or
// completion.ErrOperationAborted when cancelled (by Cancel, or by changing the expiry).
type SteadyTimer struct {
	ex     executor.Executor
	r      *reactor
	err    error // the reactor could not be made
	mu     sync.Mutex
	expiry time.Time
	waits  []*timerWait
}

// timerWait is one pending AsyncWait.
type timerWait struct {
	t        *SteadyTimer
	deadline time.Time
	index    int // in the reactor's heap; -1 when not in it
	h        completion.Handler[error]
	work     completion.Work // counted while the wait is pending
	stop     func() bool     // disarms the context's cancellation; under the reactor's mu
}

// NewSteadyTimer returns a timer whose waits complete on ex; it expires at once until set.
func NewSteadyTimer(ex executor.Executor) *SteadyTimer {
	r, err := reactorFor(ex)
	return &SteadyTimer{ex: ex, r: r, err: err, expiry: time.Now()}
}

// AsyncWait completes h with nil when the timer expires, at once (posted) if it already has.
// A context bound to h (completion.WithContext) cancels the wait.
func (t *SteadyTimer) AsyncWait(h completion.Handler[error]) {
	if t.err != nil {
		postResult(t.ex, h, t.err)
		return
	}
	ctx := completion.AssociatedContext(h)
	if ctx != nil && ctx.Err() != nil {
		postResult(t.ex, h, completion.Canceled(ctx))
		return
	}
	t.mu.Lock()
	expiry := t.expiry
	if !time.Now().Before(expiry) {
		t.mu.Unlock()
		postResult(t.ex, h, nil)
		return
	}
	w := &timerWait{t: t, deadline: expiry, index: -1, h: h}
	w.work = completion.StartWork(t.ex, completion.AssociatedExecutor(h, t.ex))
	t.waits = append(t.waits, w)
	// The wait is in the heap before Cancel can see it in t.waits and before its context's
	// cancellation is armed, so a cancellation that arrives from here on finds it there.
	t.r.addTimer(w)
	t.mu.Unlock()
	if ctx != nil && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { w.abort(completion.Canceled(ctx)) })
		if !t.r.setTimerStop(w, stop) {
			stop() // w fired or was cancelled already
		}
	}
}

// Cancel completes every pending wait with completion.ErrOperationAborted and returns how many.
// A wait whose timer has already fired is not cancelled: it completes with nil (as in Asio).
func (t *SteadyTimer) Cancel() int {
	t.mu.Lock()
	waits := t.waits
	t.waits = nil
	t.mu.Unlock()
	n := 0
	for _, w := range waits {
		if stop, ok := t.r.removeTimer(w); ok {
			t.r.release()
			w.finish(completion.ErrOperationAborted, stop, false)
			n++
		}
	}
	return n
}

// abort cancels w alone, for its context.
func (w *timerWait) abort(err error) {
	if stop, ok := w.t.r.removeTimer(w); ok {
		w.t.r.release()
		w.t.forget(w)
		w.finish(err, stop, false)
	}
}

// complete is called by the reactor when w's deadline passes, with the cancellation's stop
// function it took out of w.
func (w *timerWait) complete(err error, stop func() bool) {
	w.t.forget(w)
	w.finish(err, stop, true)
}

func (t *SteadyTimer) forget(w *timerWait) {
	t.mu.Lock()
	for i, x := range t.waits {
		if x == w {
			t.waits = append(t.waits[:i], t.waits[i+1:]...)
			break
		}
	}
	t.mu.Unlock()
}

// finish delivers the completion to the handler's executor and releases the wait's work. The
// reactor's expiries are dispatched; cancellations are posted, so a handler never runs inside the
// Cancel or ExpiresAfter call that cancelled it.
func (w *timerWait) finish(err error, stop func() bool, dispatch bool) {
	if stop != nil {
		stop()
	}
	t := w.t
	invoke := func() {
		w.work.Finish()
		w.h.Complete(err)
	}
	if dispatch && t.r.owned == nil {
		w.work.Handler().Dispatch(invoke)
	} else {
		w.work.Handler().Post(invoke)
	}
}
