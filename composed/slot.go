package composed

import (
	"context"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Slot is where the result of an inner operation lands: keep one in the operation's state for
// each kind of inner operation, and pass [Into] as that operation's handler. Because the slot
// lives in the state, a step allocates nothing.
type Slot[T any] struct {
	// Value is the inner operation's result, set before the body is entered again.
	Value T
	op    resumer
	ready bool
}

// resumer is an Op of any result type.
type resumer interface {
	resume()
	ioExecutor() executor.Executor
	Context() context.Context
}

// Into returns slot as the handler of an inner operation of op: its completion stores the result
// in slot.Value and enters op's body again on op's I/O executor. Its associated context is op's,
// so cancelling op cancels the inner operation.
func Into[R, T any](op *Op[R], slot *Slot[T]) *Slot[T] {
	slot.op = op
	slot.ready = false
	return slot
}

// Ready reports whether the inner operation started with this slot has completed: a body with
// two inner operations in flight (a read and a timer) tells by it which one resumed it. Into
// clears it.
func (s *Slot[T]) Ready() bool { return s.ready }

// Complete stores the result and resumes the operation.
func (s *Slot[T]) Complete(v T) {
	s.Value = v
	s.ready = true
	s.op.resume()
}

// Executor returns the operation's I/O executor: inner completions run there.
func (s *Slot[T]) Executor() executor.Executor { return s.op.ioExecutor() }

// Context returns the operation's context.
func (s *Slot[T]) Context() context.Context { return s.op.Context() }

var _ completion.Handler[int] = (*Slot[int])(nil)
