package testkit

import (
	"sync/atomic"

	"github.com/beastgo/beast/executor"
)

// MarkingExecutor runs its handlers on a serial inner executor (a Strand, or an IOContext run by
// one goroutine) and knows when one of them is running, so that a handler bound to it, or running
// on a stream whose next layer is on it, can tell that it was delivered there. The inner executor
// being serial, only one goroutine at a time moves the count.
type MarkingExecutor struct {
	inner  executor.Executor
	active atomic.Int32
}

// NewMarkingExecutor returns a MarkingExecutor over inner.
func NewMarkingExecutor(inner executor.Executor) *MarkingExecutor {
	return &MarkingExecutor{inner: inner}
}

func (e *MarkingExecutor) wrap(f func()) func() {
	return func() {
		e.active.Add(1)
		defer e.active.Add(-1)
		f()
	}
}

// Post posts f, marked, on the inner executor.
func (e *MarkingExecutor) Post(f func()) { e.inner.Post(e.wrap(f)) }

// Dispatch dispatches f, marked, on the inner executor.
func (e *MarkingExecutor) Dispatch(f func()) { e.inner.Dispatch(e.wrap(f)) }

// Defer defers f, marked, on the inner executor.
func (e *MarkingExecutor) Defer(f func()) { e.inner.Defer(e.wrap(f)) }

// OnWorkStarted counts work on the inner executor.
func (e *MarkingExecutor) OnWorkStarted() { e.inner.OnWorkStarted() }

// OnWorkFinished releases work on the inner executor.
func (e *MarkingExecutor) OnWorkFinished() { e.inner.OnWorkFinished() }

// Inner returns the inner executor, so that queries look through e (executor.Wrapper).
func (e *MarkingExecutor) Inner() executor.Executor { return e.inner }

// On reports whether a handler of e is running.
func (e *MarkingExecutor) On() bool { return e.active.Load() > 0 }
