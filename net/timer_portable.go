//go:build !linux || beastgo_portable

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
//
// This is the portable path (see [TCPSocket]): each pending wait is a time.AfterFunc timer of the
// Go runtime, which starts no goroutine until it fires and posts the completion to the handler's
// executor from the short-lived goroutine it then runs on.
type SteadyTimer struct {
	ex     executor.Executor
	mu     sync.Mutex
	expiry time.Time
	waits  []*timerWait
}

// timerWait is one pending AsyncWait.
type timerWait struct {
	t     *SteadyTimer
	h     completion.Handler[error]
	work  completion.Work // on the timer's executor and the handler's, until the handler has run
	timer *time.Timer
	stop  func() bool // disarms the context's cancellation
}

// NewSteadyTimer returns a timer whose waits complete on ex; it expires at once until set.
func NewSteadyTimer(ex executor.Executor) *SteadyTimer {
	return &SteadyTimer{ex: ex, expiry: time.Now()}
}

// AsyncWait completes h with nil when the timer expires, at once (posted) if it already has.
// A context bound to h (completion.WithContext) cancels the wait.
func (t *SteadyTimer) AsyncWait(h completion.Handler[error]) {
	ctx := completion.AssociatedContext(h)
	if ctx != nil && ctx.Err() != nil {
		postResult(t.ex, h, completion.Canceled(ctx))
		return
	}
	t.mu.Lock()
	wait := time.Until(t.expiry)
	if wait <= 0 {
		t.mu.Unlock()
		postResult(t.ex, h, nil)
		return
	}
	w := &timerWait{t: t, h: h, work: completion.StartWork(t.ex, completion.AssociatedExecutor(h, t.ex))}
	t.waits = append(t.waits, w)
	// The wait is in t.waits before its cancellation is armed, and both callbacks take t.mu first,
	// so neither acts before these assignments are made. A context that ends after the check above
	// and before AfterFunc arms it is not lost: AfterFunc runs the cancellation at once for a
	// context already done.
	w.timer = time.AfterFunc(wait, func() { w.finish(nil) })
	if ctx != nil && ctx.Done() != nil {
		w.stop = context.AfterFunc(ctx, func() { w.finish(completion.Canceled(ctx)) })
	}
	t.mu.Unlock()
}

// Cancel completes every pending wait with completion.ErrOperationAborted and returns how many.
// A wait whose timer has already fired is not cancelled: it completes with nil (as in Asio).
func (t *SteadyTimer) Cancel() int {
	t.mu.Lock()
	waits := t.waits
	t.waits = nil
	t.mu.Unlock()
	for _, w := range waits {
		w.timer.Stop()
		w.deliver(completion.ErrOperationAborted)
	}
	return len(waits)
}

// finish completes w with err, from its timer (nil) or its context, unless Cancel or the other
// of the two has already taken it.
func (w *timerWait) finish(err error) {
	t := w.t
	t.mu.Lock()
	found := false
	for i, x := range t.waits {
		if x == w {
			t.waits = append(t.waits[:i], t.waits[i+1:]...)
			found = true
			break
		}
	}
	t.mu.Unlock()
	if !found {
		return
	}
	if err != nil {
		w.timer.Stop()
	}
	w.deliver(err)
}

// deliver posts the completion to the handler's executor (from a timer's goroutine, or inside
// Cancel or ExpiresAfter: never dispatched) and releases the wait's work when it has run.
func (w *timerWait) deliver(err error) {
	if w.stop != nil {
		w.stop()
	}
	w.work.Handler().Post(func() {
		w.h.Complete(err)
		w.work.Finish()
	})
}
