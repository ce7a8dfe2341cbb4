package composed

import (
	"context"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// GroupResult is what [AllOf] and [FirstOf] deliver: every operation's result, by position, and
// the positions in the order the operations completed (Asio's parallel_group completion order).
type GroupResult[T any] struct {
	// Order holds the operations' positions in the order they completed: Order[0] is the first.
	Order []int
	// Results holds each operation's result at its position in the group.
	Results []T
}

// AllOf runs every operation at once and completes when all have completed (Asio's parallel_group
// with wait_for_all). Each operation is started on ex with a handler whose context is h's. The
// group's steps run on a strand over ex, so ex must not be executor.Inline (AllOf panics, as
// Start does).
//
// A group never fails as a whole (GroupResult carries no error): if h's context is already done,
// the operations are still started, with that context, and each is expected to complete at once
// with its cancellation error, as operations that honour their handler's context do.
func AllOf[T any](ex executor.Executor, h completion.Handler[GroupResult[T]], ops ...func(completion.Handler[T])) {
	group(ex, h, false, ops)
}

// FirstOf runs every operation at once; when the first completes it cancels the others through
// their handlers' context, and it completes once all have completed, with every result (Asio's
// parallel_group with wait_for_one). The operations it cancelled complete with their cancellation
// error, which matches context.Canceled even though h's context was not cancelled: Order[0] tells
// which one came first. The operations must honour their handler's context
// (completion.OnCancel) for the cancellation to reach them. A context already done is handled as
// by AllOf.
func FirstOf[T any](ex executor.Executor, h completion.Handler[GroupResult[T]], ops ...func(completion.Handler[T])) {
	group(ex, h, true, ops)
}

// groupState is a group in flight. Its fields are touched only on the group's strand.
type groupState[T any] struct {
	res    GroupResult[T]
	cancel context.CancelFunc // ends the operations' context: on the first completion for FirstOf
}

func group[T any](ex executor.Executor, h completion.Handler[GroupResult[T]], cancelOnFirst bool, ops []func(completion.Handler[T])) {
	parent := completion.AssociatedContext(h)
	if parent == nil {
		parent = context.Background()
	}
	// The group's own operation runs without h's context: a GroupResult cannot carry an error, so
	// an ended context must not fail the group as a whole (Start would need completion.Fail). The
	// context reaches every operation instead, and each completes with its own error.
	//
	// The group's steps and the operations' handlers run on a strand over ex, so the results
	// need no lock, and the operation's state is touched by one goroutine at a time, even when ex
	// runs handlers on several goroutines at once. h still runs on its own executor, or on ex.
	strand := executor.NewStrand(ex)
	new(Op[GroupResult[T]]).begin(strand, withoutContext[GroupResult[T]]{h, ex}, BodyFunc[GroupResult[T]](func(op *Op[GroupResult[T]]) {
		g := &groupState[T]{res: GroupResult[T]{Order: make([]int, 0, len(ops)), Results: make([]T, len(ops))}}
		if len(ops) == 0 {
			op.Complete(g.res)
			return
		}
		var ctx context.Context
		ctx, g.cancel = context.WithCancel(parent)
		// A start that panics abandons the group (the step unwinds it, releasing its work): the
		// operations already started are cancelled, so they end soon, and their handlers, which
		// still come, find the group abandoned and do nothing. If every operation had completed
		// inline before the panic, the group had completed, and it is delivered, as any Op whose
		// body panics after Complete is.
		started := false
		defer func() {
			if !started {
				g.cancel()
			}
		}()
		land := func(i int, v T) {
			if op.phase == abandoned {
				return
			}
			g.res.Results[i] = v
			g.res.Order = append(g.res.Order, i)
			if cancelOnFirst && len(g.res.Order) == 1 {
				g.cancel()
			}
			if len(g.res.Order) == len(ops) {
				g.cancel()
				op.Complete(g.res)
			}
		}
		for i, start := range ops {
			start(completion.WithContext(ctx, completion.Bind[T](strand, completion.Callback(func(v T) {
				if !strand.RunningInThisThread() {
					// An operation that ignored its handler's executor: the result lands on
					// the strand, as a Slot's does, never beside the group's other handlers.
					strand.Post(func() { land(i, v) })
					return
				}
				land(i, v)
			}))))
		}
		started = true
	}), strand)
}

// withoutContext is h without its associated context, and with its associated executor, or ex
// when it has none.
type withoutContext[R any] struct {
	h  completion.Handler[R]
	ex executor.Executor
}

func (w withoutContext[R]) Complete(r R) { w.h.Complete(r) }

func (w withoutContext[R]) Executor() executor.Executor {
	return completion.AssociatedExecutor(w.h, w.ex)
}
