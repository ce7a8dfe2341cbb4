package composed

import (
	"context"
	"sync/atomic"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Op is a composed operation in flight: the Go form of Asio's self. Its body receives it on every
// step; it passes it to [Into] to make the handlers of inner operations and calls Complete once.
type Op[R any] struct {
	io, hex executor.Executor
	h       completion.Handler[R]
	ctx     context.Context
	body    func(*Op[R])
	run     func() // op.next, bound on first need (runFunc): posts, and dispatches that may queue
	phase   phase
	inStep  atomic.Bool // the body is running: a resumption now must queue behind it
	steps   int
	result  R
}

type phase uint8

const (
	stepping   phase = iota // the body runs on each call of run
	delivering              // run hands the result to the handler's executor
	invoking                // run calls the handler
	abandoned               // the body panicked: the operation never completes, run does nothing
)

// Start starts a composed operation: body runs on io, now if the caller is already running on io
// and otherwise posted, and again each time an inner operation started with a handler from [Into]
// completes. The body calls op.Complete exactly once; h then receives the result on its
// associated executor (io when it has none).
//
// If h's context is already done, the operation completes at once with completion.Fail[R] of the
// cancellation error, without running body; R must then be error or have a SetErr method.
func Start[R any](io executor.Executor, h completion.Handler[R], body func(op *Op[R])) {
	op := &Op[R]{io: io, h: h, hex: completion.AssociatedExecutor(h, io), ctx: completion.AssociatedContext(h), body: body}
	io.OnWorkStarted()
	if op.hex != io {
		op.hex.OnWorkStarted()
	}
	if op.ctx != nil && op.ctx.Err() != nil {
		op.Complete(completion.Fail[R](completion.Canceled(op.ctx)))
		return
	}
	if runningOn(io) {
		op.next() // what Dispatch would do, without binding a func for it
		return
	}
	io.Dispatch(op.runFunc())
}

// runningOn reports whether the caller is known to be running a handler of ex, where Dispatch
// would run inline.
func runningOn(ex executor.Executor) bool {
	r, ok := ex.(interface{ RunningInThisThread() bool })
	return ok && r.RunningInThisThread()
}

// runFunc returns op.next as a func, bound the first time it is needed. A step that starts on its
// I/O executor and resumes there never needs it, which saves an allocation per operation.
func (op *Op[R]) runFunc() func() {
	if op.run == nil {
		op.run = op.next
	}
	return op.run
}

// IOExecutor returns the executor the operation's steps run on (Asio's get_io_executor).
func (op *Op[R]) IOExecutor() executor.Executor { return op.io }

// Executor returns the executor the final handler runs on (Asio's get_executor).
func (op *Op[R]) Executor() executor.Executor { return op.hex }

// Context returns the handler's context, which is also every inner operation's: nil when the
// operation cannot be cancelled.
func (op *Op[R]) Context() context.Context { return op.ctx }

// Err returns the cancellation error once the handler's context is done, and nil before. It is
// sticky, so a body may check it between steps (Asio's self.cancelled()).
func (op *Op[R]) Err() error {
	if op.ctx != nil && op.ctx.Err() != nil {
		return completion.Canceled(op.ctx)
	}
	return nil
}

// Resumed reports whether the body is being entered for an inner operation's completion rather
// than for the first time.
func (op *Op[R]) Resumed() bool { return op.steps > 1 }

// Complete ends the operation with r. The handler receives it on its executor: posted if the
// operation has not yet returned from its first step, dispatched otherwise. A second Complete
// panics.
func (op *Op[R]) Complete(r R) {
	if op.phase != stepping {
		panic("composed: operation completed twice")
	}
	op.result = r
	op.phase = delivering
	if op.steps <= 1 {
		op.io.Post(op.runFunc()) // guarantee 1: never inside the initiating function
		return
	}
	op.deliver()
}

// next is the one handler the operation posts or dispatches: a step of the body, or a stage of
// delivering the result.
func (op *Op[R]) next() {
	switch op.phase {
	case stepping:
		op.step()
	case delivering:
		op.deliver()
	case invoking:
		op.h.Complete(op.result)
	}
}

// step runs the body once. A body that panics abandons the operation, so the panic leaves Run
// as an ordinary handler's does, without leaving work counted that would keep Run from returning.
func (op *Op[R]) step() {
	op.steps++
	op.inStep.Store(true)
	returned := false
	defer func() {
		op.inStep.Store(false)
		if !returned {
			op.abandon()
		}
	}()
	op.body(op)
	returned = true
}

// deliver dispatches the handler to its executor and then releases the operation's work, also when
// the handler, run inline by Dispatch, panics.
func (op *Op[R]) deliver() {
	op.phase = invoking
	io, hex := op.io, op.hex
	defer func() {
		if hex != io {
			hex.OnWorkFinished()
		}
		io.OnWorkFinished()
	}()
	if hex == io && op.inStep.Load() {
		op.next() // inside a step, so on io: Dispatch would run it inline
		return
	}
	hex.Dispatch(op.runFunc())
}

// abandon ends an operation whose body panicked, so that it will never complete: it releases the
// operation's work, as an ordinary handler's panic leaves no work behind, and makes later
// resumptions do nothing.
func (op *Op[R]) abandon() {
	if op.phase != stepping {
		return // already completing: delivery releases the work
	}
	op.phase = abandoned
	if op.hex != op.io {
		op.hex.OnWorkFinished()
	}
	op.io.OnWorkFinished()
}

// resume enters the body again for an inner operation's completion. Called on the I/O executor
// (a Slot's associated executor), it runs the body at once, unless the body is still running, as
// when an inner operation completed inside the call that started it: then the step is posted
// behind it, which keeps the stack flat (guarantee 4).
func (op *Op[R]) resume() {
	switch {
	case op.inStep.Load():
		op.io.Post(op.runFunc())
	case runningOn(op.io):
		op.next() // what Dispatch would do, without binding a func for it
	default:
		// An inner operation that completed off io (one that ignores its handler's executor,
		// such as a goroutine calling Complete): bring the step back onto io.
		op.io.Dispatch(op.runFunc())
	}
}

func (op *Op[R]) ioExecutor() executor.Executor { return op.io }
