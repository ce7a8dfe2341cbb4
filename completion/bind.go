package completion

import (
	"context"

	"github.com/beastgo/beast/executor"
)

// Bound is a handler with an associated executor, context, or both, set by [Bind] and
// [WithContext]. It forwards the characteristics it does not set from the handler it wraps.
type Bound[R any] struct {
	h   Handler[R]
	ex  executor.Executor
	ctx context.Context
}

// Bind returns h with ex as its associated executor (Asio's bind_executor): the operation runs h's
// completion on ex. h's associated context, if any, is kept.
func Bind[R any](ex executor.Executor, h Handler[R]) *Bound[R] {
	if b, ok := h.(*Bound[R]); ok {
		return &Bound[R]{h: b.h, ex: ex, ctx: b.ctx}
	}
	return &Bound[R]{h: h, ex: ex}
}

// WithContext returns h with ctx as its associated context (Asio's bind_cancellation_slot): when
// ctx is done, the operation is cancelled and completes with an error for which
// errors.Is(err, ErrOperationAborted) and errors.Is(err, ctx.Err()) both hold. If ctx is already
// done when the operation starts, it completes at once (never inside the initiating call) without
// starting any I/O: cancellation is sticky, unlike in Asio. h's associated executor, if any, is
// kept.
func WithContext[R any](ctx context.Context, h Handler[R]) *Bound[R] {
	if b, ok := h.(*Bound[R]); ok {
		return &Bound[R]{h: b.h, ex: b.ex, ctx: ctx}
	}
	return &Bound[R]{h: h, ctx: ctx}
}

// Complete completes the wrapped handler.
func (b *Bound[R]) Complete(r R) { b.h.Complete(r) }

// Executor returns the bound executor, or the wrapped handler's.
func (b *Bound[R]) Executor() executor.Executor {
	if b.ex != nil {
		return b.ex
	}
	return AssociatedExecutor[R](b.h, nil)
}

// Context returns the bound context, or the wrapped handler's.
func (b *Bound[R]) Context() context.Context {
	if b.ctx != nil {
		return b.ctx
	}
	return AssociatedContext(b.h)
}

// Unwrap returns the wrapped handler.
func (b *Bound[R]) Unwrap() Handler[R] { return b.h }
