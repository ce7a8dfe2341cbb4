package completion

import (
	"context"

	"github.com/beastgo/beast/executor"
)

// Handler receives the result of an asynchronous operation. An operation calls Complete exactly
// once, on the handler's associated executor.
type Handler[R any] interface {
	Complete(result R)
}

// ExecutorHolder is implemented by handlers that have an associated executor (Asio's
// associated_executor). Executor returns nil when the handler has none.
type ExecutorHolder interface {
	Executor() executor.Executor
}

// ContextHolder is implemented by handlers that have an associated cancellation context (Asio's
// associated_cancellation_slot). Context returns nil when the handler has none.
type ContextHolder interface {
	Context() context.Context
}

// AssociatedExecutor returns the executor h's completion must run on: its own, or else fallback
// (the I/O object's executor, as in Asio).
func AssociatedExecutor[R any](h Handler[R], fallback executor.Executor) executor.Executor {
	return associatedExecutor(h, fallback)
}

// associatedExecutor is AssociatedExecutor outside generic code: there an assertion to an
// interface type is answered by a cache at the call site, where generic code looks it up in the
// runtime's table each time (about 15 ns, on every step of a composed operation).
func associatedExecutor(h any, fallback executor.Executor) executor.Executor {
	if e, ok := h.(ExecutorHolder); ok {
		if ex := e.Executor(); ex != nil {
			return ex
		}
	}
	return fallback
}

// AssociatedContext returns the context whose end cancels the operation h waits for, or nil when
// the operation cannot be cancelled that way.
func AssociatedContext[R any](h Handler[R]) context.Context { return associatedContext(h) }

// associatedContext is AssociatedContext outside generic code (see associatedExecutor).
func associatedContext(h any) context.Context {
	if c, ok := h.(ContextHolder); ok {
		return c.Context()
	}
	return nil
}

// Associated returns both of h's associations at once: AssociatedExecutor(h, fallback) and
// AssociatedContext(h). An operation that needs both (most do, when they start) asks for them with
// one type switch, answered by one lookup in its cache, instead of two assertions.
func Associated[R any](h Handler[R], fallback executor.Executor) (executor.Executor, context.Context) {
	return associated(h, fallback)
}

// associated is Associated outside generic code (see associatedExecutor).
func associated(h any, fallback executor.Executor) (executor.Executor, context.Context) {
	switch x := h.(type) {
	case associatedBoth:
		if ex := x.Executor(); ex != nil {
			return ex, x.Context()
		}
		return fallback, x.Context()
	case ExecutorHolder:
		if ex := x.Executor(); ex != nil {
			return ex, nil
		}
	case ContextHolder:
		return fallback, x.Context()
	}
	return fallback, nil
}

// associatedBoth is a handler with both associations.
type associatedBoth interface {
	ExecutorHolder
	ContextHolder
}
