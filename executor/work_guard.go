package executor

import "sync/atomic"

// WorkGuard holds one unit of outstanding work on an executor until Reset, so that an IOContext's
// Run keeps waiting for handlers instead of returning when its queue is empty: Asio's
// executor_work_guard.
type WorkGuard struct {
	ex   Executor
	owns atomic.Bool
}

// MakeWorkGuard counts one unit of work on ex and returns the guard that owns it.
func MakeWorkGuard(ex Executor) *WorkGuard {
	g := &WorkGuard{ex: ex}
	g.owns.Store(true)
	ex.OnWorkStarted()
	return g
}

// Executor returns the executor the guard counts work on.
func (g *WorkGuard) Executor() Executor { return g.ex }

// OwnsWork reports whether the guard still holds its unit of work.
func (g *WorkGuard) OwnsWork() bool { return g.owns.Load() }

// Reset releases the guard's unit of work. Only the first call releases it; later calls, from any
// goroutine, do nothing.
func (g *WorkGuard) Reset() {
	if g.owns.CompareAndSwap(true, false) {
		g.ex.OnWorkFinished()
	}
}
