package composed

import (
	"context"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Op is a composed operation in flight: the Go form of Asio's self. Its body receives it on every
// step; it passes it to [Into] to make the handlers of inner operations and calls Complete once.
//
// [Start] allocates an Op per operation. An object that runs one operation of a kind at a time (a
// stream's reads, its writes) may instead keep an Op in its own state and call its Start method
// for each operation, which then allocates nothing; see [Op.Start] for when that is allowed.
type Op[R any] struct {
	core
	h      completion.Handler[R]
	body   func(*Op[R])
	run    func() // op.next, bound on first need (runFunc) and kept when the Op is started again
	result R
}

// core is the part of an operation its slots see, whatever its result type. Every field is
// written only on the I/O executor (or by Start, before anything can see the run it begins), and
// read there, except what the handler's executor reads once delivery hands the operation over:
// so no field needs an atomic. (An atomic store per step was a third of Start's overhead.)
type core struct {
	io  executor.Executor
	hex executor.Executor // the handler's executor
	ctx context.Context
	// onIO is io if io can tell whether its caller runs on it (IOContext, Strand), else nil. It is
	// asserted once per run rather than on every resumption.
	onIO threadChecker
	self stepper // the Op this core is part of
	// gen numbers the runs of an Op started again and again, so that a slot of an earlier run that
	// completes late is ignored rather than taken for one of the current run.
	gen    uint32
	steps  int
	phase  phase
	inStep bool // the body is running: a resumption now must queue behind it
	sameEx bool // hex == io: one unit of work, and the handler may run inline on io
}

type phase uint8

const (
	idle       phase = iota // never started
	stepping                // the body runs on each resumption
	delivering              // run hands the result to the handler's executor
	invoking                // run calls the handler; then the Op may be started again
	abandoned               // the body panicked: the operation never completes
)

// threadChecker is an executor that can tell whether its caller is running one of its handlers,
// where Dispatch would run inline: IOContext and Strand.
type threadChecker interface{ RunningInThisThread() bool }

// stepper is an Op of any result type, seen from its slots.
type stepper interface{ step() }

// Start starts a composed operation: body runs on io, now if the caller is already running on io
// and otherwise posted, and again each time an inner operation started with a handler from [Into]
// completes. The body calls op.Complete exactly once; h then receives the result on its
// associated executor (io when it has none).
//
// If h's context is already done, the operation completes at once with completion.Fail[R] of the
// cancellation error, without running body; R must then be error or have a SetErr method.
//
// io must run one handler at a time (a Strand, or an IOContext with one Run goroutine), as Asio
// requires of the executor of a composed operation's steps.
func Start[R any](io executor.Executor, h completion.Handler[R], body func(op *Op[R])) {
	new(Op[R]).Start(io, h, body)
}

// Start starts a composed operation on op, as the function [Start] does, without allocating.
//
// op must be new or done: its handler has been called (a handler may start op again itself), or
// its body panicked. Its inner operations of the earlier run should have completed too; one that
// completes after the new run has started is ignored. Start panics if op is still in flight.
func (op *Op[R]) Start(io executor.Executor, h completion.Handler[R], body func(op *Op[R])) {
	if op.phase == stepping || op.phase == delivering {
		panic("composed: Op started again while in flight")
	}
	if _, inline := io.(executor.Inline); inline {
		// Its Post runs at once, so no step could ever queue behind a running body.
		panic("composed: executor.Inline cannot be an I/O executor")
	}
	hex := completion.AssociatedExecutor(h, io)
	op.core = core{
		io: io, hex: hex, ctx: completion.AssociatedContext(h), self: op,
		gen: op.gen + 1, phase: stepping, sameEx: hex == io,
	}
	op.onIO, _ = io.(threadChecker)
	op.h, op.body = h, body
	io.OnWorkStarted()
	if !op.sameEx {
		hex.OnWorkStarted()
	}
	if op.ctx != nil && op.ctx.Err() != nil {
		op.Complete(completion.Fail[R](completion.Canceled(op.ctx)))
		return
	}
	if op.onIO != nil && op.onIO.RunningInThisThread() {
		op.step() // what Dispatch would do, without binding a func for it
		return
	}
	io.Dispatch(op.runFunc())
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
// panics. The body must not use op after Complete: the handler may have started it again.
func (op *Op[R]) Complete(r R) {
	if op.phase != stepping {
		panic("composed: operation completed twice, or before Start")
	}
	op.result = r
	op.phase = delivering
	if op.steps <= 1 {
		op.io.Post(op.runFunc()) // guarantee 1: never inside the initiating function
		return
	}
	op.deliver()
}

// next is the one func the operation posts or dispatches: its first step, or a stage of
// delivering the result. Resumptions that must be posted carry their run's number instead
// (core.resume).
func (op *Op[R]) next() {
	switch op.phase {
	case stepping:
		op.step()
	case delivering:
		op.deliver()
	case invoking:
		op.invoke()
	}
}

// invoke calls the handler. It lets go of the handler and the result first, so that an Op kept
// in an object's state does not keep them alive, and so that the handler may start the Op again.
func (op *Op[R]) invoke() {
	h, r := op.h, op.result
	var zero R
	op.h, op.result = nil, zero
	h.Complete(r)
}

// step runs the body once. A body that panics abandons the operation, so the panic leaves Run
// as an ordinary handler's does, without leaving work counted that would keep Run from returning.
func (op *Op[R]) step() {
	op.steps++
	op.inStep = true
	gen := op.gen
	defer op.afterStep(gen)
	op.body(op)
	if op.gen == gen {
		op.inStep = false
	}
}

// afterStep abandons the run gen if its body did not return (a panic). A run started again from
// the handler, called inline by Complete, owns the Op now and is left alone.
func (c *core) afterStep(gen uint32) {
	if c.gen == gen && c.inStep {
		c.inStep = false
		c.abandon()
	}
}

// deliver dispatches the handler to its executor and then releases the operation's work, also when
// the handler, run inline, panics.
func (op *Op[R]) deliver() {
	op.phase = invoking
	defer release(op.io, op.hex, op.sameEx)
	if op.sameEx && op.inStep {
		op.invoke() // inside a step, so on io: Dispatch would run it inline
		return
	}
	op.hex.Dispatch(op.runFunc())
}

// release gives back the work an operation holds on io and on its handler's executor hex.
func release(io, hex executor.Executor, sameEx bool) {
	if !sameEx {
		hex.OnWorkFinished()
	}
	io.OnWorkFinished()
}

// abandon ends an operation whose body panicked, so that it will never complete: it releases the
// operation's work, as an ordinary handler's panic leaves no work behind, and makes later
// resumptions do nothing.
func (c *core) abandon() {
	if c.phase != stepping {
		return // already completing: delivery releases the work
	}
	c.phase = abandoned
	release(c.io, c.hex, c.sameEx)
}

// postResume posts the step for an inner operation of run gen that completed while the body was
// still running, as one does inside the call that started it: queued behind the body, the step
// keeps the stack flat (guarantee 4). It carries gen because the run may have ended by the time it
// runs (the body went on to Complete). A rare path, so the closure's allocation does not matter.
func (c *core) postResume(gen uint32) {
	c.io.Post(func() {
		switch {
		case gen != c.gen || c.phase != stepping:
		case c.inStep:
			c.postResume(gen)
		default:
			c.self.step()
		}
	})
}
