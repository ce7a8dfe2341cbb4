package composed

import (
	"context"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Slot is where the result of an inner operation lands: keep one in the operation's state for
// each kind of inner operation, and pass [Into] as that operation's handler. Because the slot
// lives in the state, a step allocates nothing.
//
// A slot holds one pending operation at a time: give it to the next inner operation only once the
// last has completed (Ready), and use two slots for two operations in flight at once (a read and
// a timer).
type Slot[T any] struct {
	// Value is the inner operation's result, set before the body is entered again.
	Value T
	c     *core
	// io and onIO are the run's I/O executor and its thread check, kept here for a Complete
	// called off the I/O executor, which must not read the Op: a new run may be rewriting it.
	io      executor.Executor
	onIO    threadChecker
	gen     uint32 // the run of the operation that started the inner operation
	ready   bool
	pending bool
}

// Into returns slot as the handler of an inner operation of op: its completion stores the result
// in slot.Value and enters op's body again on op's I/O executor. Its associated context is op's,
// so cancelling op cancels the inner operation. Into panics if the slot's last inner operation
// has not completed yet.
func Into[R, T any](op *Op[R], slot *Slot[T]) *Slot[T] {
	if slot.pending {
		panic("composed: Into with a slot whose inner operation has not completed")
	}
	slot.arm(&op.core)
	return slot
}

// arm makes the slot the handler of a new inner operation of the run c is in, counted as pending.
func (s *Slot[T]) arm(c *core) {
	s.c, s.io, s.onIO, s.gen = c, c.io, c.onIO, c.gen
	s.ready, s.pending = false, true
	c.pending++
}

// Ready reports whether the inner operation started with this slot has completed: a body with
// two inner operations in flight (a read and a timer) tells by it which one resumed it. Into
// clears it.
func (s *Slot[T]) Ready() bool { return s.ready }

// Complete stores the result and resumes the operation, on its I/O executor: at once when called
// there, as inner operations that honour their handler's executor do, and posted otherwise, so
// that the body never sees its state change under it.
func (s *Slot[T]) Complete(v T) {
	if s.onIO == nil || !s.onIO.RunningInThisThread() {
		s.io.Post(func() { s.land(v) })
		return
	}
	s.land(v)
}

// land stores the result and resumes the operation; on the I/O executor.
func (s *Slot[T]) land(v T) {
	s.Value, s.ready, s.pending = v, true, false
	s.c.resume(s.gen)
}

// Executor returns the operation's I/O executor: inner completions run there.
func (s *Slot[T]) Executor() executor.Executor { return s.io }

// Context returns the operation's context.
func (s *Slot[T]) Context() context.Context { return s.c.ctx }

var _ completion.Handler[int] = (*Slot[int])(nil)
