// Package lend lets a goroutine that runs a handler of an executor.IOContext lend its place in the
// context to a coroutine it has switched to, so that what the coroutine posts to the context is
// treated as posted by that handler: it joins the goroutine's private queue without a lock, as the
// handler's own posts do. Package composed lends the place of the goroutine running a step of a
// spawned operation to the body's coroutine (iter.Pull), which takes it whenever it is resumed.
//
// This is sound because a coroutine switch is synchronous: while the body's coroutine runs, the
// goroutine that switched to it is blocked inside its handler, so the two never touch the private
// queue at once, and what the body posts lands in the order it would have had the handler posted
// it. Package executor installs [Of]; it cannot import composed, and composed cannot reach the
// context's unexported run records, so the hook lives here, out of the public API.
package lend

import "sync/atomic"

// Seat is a Run goroutine's place in an IOContext: it names the goroutine (an identifier from
// internal/gid) that posts as that Run goroutine, or 0 when none does. Package executor looks a
// posting goroutine up in its runners' seats when it is not a Run goroutine itself.
//
// The coroutine a seat names may keep it while it is suspended (it posts nothing then), so that a
// Run goroutine resuming the same body again and again writes the seat once. A resumption by
// another goroutine lets go of the seat first (Release, from the resumer or the coroutine), and
// the coroutine lets go of its seat before it ends, since an identifier may be reused once its
// goroutine has ended.
type Seat struct {
	g atomic.Uintptr
}

// Lend names g, the calling coroutine, as the goroutine that posts as the seat's Run goroutine.
// Only a coroutine that the Run goroutine, running one of the context's handlers, has switched to
// and is blocked on may call it.
func (s *Seat) Lend(g uintptr) { s.g.Store(g) }

// Release empties the seat if it still names g: the coroutine, or the goroutine about to resume it
// that has found it another seat (or none).
func (s *Seat) Release(g uintptr) { s.g.CompareAndSwap(g, 0) }

// Holder returns the goroutine that posts as the seat's Run goroutine, 0 if none.
func (s *Seat) Holder() uintptr { return s.g.Load() }

// Of returns the calling goroutine's seat in the IOContext that runs ex's handlers
// (executor.ExecutionContext of ex, an executor.Executor), when the caller is running one of that
// context's handlers, and nil otherwise (also where goroutines cannot be told apart). Package
// executor sets it when it initialises.
var Of func(ex any) *Seat
