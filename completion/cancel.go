package completion

import (
	"context"

	"github.com/beastgo/beast/executor"
)

// OnCancel is for the authors of operations: it arranges for cancel to run on ex when h's
// associated context ends, and returns a function that disarms it, reporting whether it did so
// before cancel was scheduled. With no context it does nothing and stop returns true.
//
// cancel runs as a handler posted to ex, never on the goroutine that ends the context, so it is
// serialised with the operation's other steps when ex is the operation's strand (the race of
// chriskohlhoff/asio#1029 cannot happen). ex must have work counted for the operation until it
// completes, which every pending operation has.
func OnCancel[R any](h Handler[R], ex executor.Executor, cancel func(err error)) (stop func() bool) {
	ctx := AssociatedContext(h)
	if ctx == nil || ctx.Done() == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() {
		err := Canceled(ctx)
		ex.Post(func() { cancel(err) })
	})
}
