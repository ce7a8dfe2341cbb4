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
	Value   T
	c       *core
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
	slot.c, slot.gen = &op.core, op.gen
	slot.ready, slot.pending = false, true
	return slot
}

// Ready reports whether the inner operation started with this slot has completed: a body with
// two inner operations in flight (a read and a timer) tells by it which one resumed it. Into
// clears it.
func (s *Slot[T]) Ready() bool { return s.ready }

// Complete stores the result and resumes the operation, on its I/O executor: at once when called
// there, as inner operations that honour their handler's executor do, and posted otherwise, so
// that the body never sees its state change under it.
func (s *Slot[T]) Complete(v T) {
	c := s.c
	if c.onIO == nil || !c.onIO.RunningInThisThread() {
		c.io.Post(func() { s.land(v) })
		return
	}
	s.land(v)
}

// land stores the result and resumes the operation; on the I/O executor. It is written out in
// full, rather than through core.resume, because it is a step's whole overhead.
func (s *Slot[T]) land(v T) {
	s.Value, s.ready, s.pending = v, true, false
	c := s.c
	if s.gen != c.gen || c.phase != stepping {
		return // the run has ended, or another has begun: a late completion
	}
	if c.inStep {
		c.postResume(s.gen)
		return
	}
	c.self.step()
}

// Executor returns the operation's I/O executor: inner completions run there.
func (s *Slot[T]) Executor() executor.Executor { return s.c.io }

// Context returns the operation's context.
func (s *Slot[T]) Context() context.Context { return s.c.ctx }

var _ completion.Handler[int] = (*Slot[int])(nil)
