package composed

import (
	"context"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/sealed"
)

// Slot is where the result of an inner operation lands: keep one in the operation's state for
// each kind of inner operation, and pass [Into] as that operation's handler. Because the slot
// lives in the state, a step allocates nothing.
//
// A slot holds one pending operation at a time: give it to the next inner operation only once the
// last has completed (Ready), and use two slots for two operations in flight at once (a read and
// a timer). A Slot must not be copied (go vet reports a copy).
type Slot[T any] struct {
	noCopy noCopy
	// Value is the inner operation's result, set before the body is entered again.
	Value T
	// c is the operation's core. A Complete off the step executor reads c.ex, which only Start
	// writes, and Start cannot run again until this slot has landed (the run waits for it) or,
	// for a run abandoned by a panic, ever.
	c       *core
	gen     uint32 // the run of the operation that started the inner operation
	ready   bool
	pending bool
}

// Into returns slot as the handler of an inner operation of op: its completion stores the result
// in slot.Value and enters op's body again on op's step executor, which is the slot's associated
// executor, so an inner operation dispatches its completion straight there. Its associated
// context is op's, so cancelling op cancels the inner operation. Into panics if the slot's last inner operation
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
	s.c, s.gen = c, c.gen
	s.ready, s.pending = false, true
	c.pending++
}

// Ready reports whether the inner operation started with this slot has completed: a body with
// two inner operations in flight (a read and a timer) tells by it which one resumed it. Into
// clears it.
func (s *Slot[T]) Ready() bool { return s.ready }

// Complete stores the result and resumes the operation, on its step executor: at once when called
// there, as inner operations that honour their handler's executor do, and posted otherwise, so
// that the body never sees its state change under it.
func (s *Slot[T]) Complete(v T) {
	if !onExecutor(s.c.ex) {
		s.c.ex.Post(func() {
			s.c.checkSerial()
			s.land(v)
		})
		return
	}
	s.land(v)
}

// onExecutor reports whether the caller runs on ex, false when ex cannot tell. This runs on every
// step, so the usual executors are asked without an interface assertion's lookup.
func onExecutor(ex executor.Executor) bool {
	switch x := ex.(type) {
	case *executor.IOContext:
		return x.RunningInThisThread()
	case *executor.Strand:
		return x.RunningInThisThread()
	case threadChecker:
		return x.RunningInThisThread()
	}
	return false
}

// invoke completes h with v on h's associated executor: a Slot lands at once.
func invoke[T any](h completion.Handler[T], v T) {
	if s, ok := h.(*Slot[T]); ok { // a concrete type: one compare, also in generic code
		s.land(v)
		return
	}
	h.Complete(v)
}

// Land stores v and resumes the operation at once, as Complete does when it runs on the step
// executor, without asking where it runs. It is for beastgo's own I/O objects, which call it
// through an internal package from a handler of the slot's executor; its sealed.Key parameter
// cannot be built outside this module.
func (s *Slot[T]) Land(v T, _ sealed.Key) { s.land(v) }

// land stores the result and resumes the operation; on the step executor.
func (s *Slot[T]) land(v T) {
	c := s.c
	s.Value, s.ready, s.pending = v, true, false
	if s.gen == c.gen && c.phase == stepping && !c.inStep {
		c.pending-- // the usual case, resume's first, without a call
		c.step()
		return
	}
	c.resume(s.gen)
}

// Executor returns the operation's step executor: inner completions run there.
func (s *Slot[T]) Executor() executor.Executor {
	if s.c == nil {
		return nil // not armed by Into
	}
	return s.c.ex
}

// Context returns the operation's context: nil when the operation cannot be cancelled, or when the
// slot has not been armed by Into.
func (s *Slot[T]) Context() context.Context {
	if s.c == nil {
		return nil // not armed by Into
	}
	return s.c.ctx
}

var _ completion.Handler[int] = (*Slot[int])(nil)
