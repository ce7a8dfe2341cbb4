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
	body   Body[R]
	run    func() // op.next, bound on first need (runFunc) and kept when the Op is started again
	result R
}

// Body is a composed operation's code, entered on each of its steps: Asio's implementation object
// with its operator()(self). A state struct that keeps its [Op] and implements Body is the whole
// operation in one allocation (none when it is kept and started again); [BodyFunc] makes a
// function a Body.
type Body[R any] interface {
	Step(op *Op[R])
}

// BodyFunc is a function as a [Body]. A func is pointer-shaped, so the conversion to Body
// allocates nothing.
type BodyFunc[R any] func(op *Op[R])

// Step calls f.
func (f BodyFunc[R]) Step(op *Op[R]) { f(op) }

// core is the part of an operation its slots see, whatever its result type. Its fields are read
// and written on the I/O executor only (which runs one handler at a time), or by Start before
// anything can see the run it begins, or by the handler's executor once delivery has handed the
// operation over and nothing on the I/O executor touches it again. So none needs an atomic. (An
// atomic store per step was a third of Start's overhead.) The exceptions are io and ctx, which a
// Slot completed on another goroutine reads to post its landing, and an inner operation reads
// through the Slot's Context from wherever it runs: only Start writes them, and Start cannot run
// while a slot is pending.
type core struct {
	io   executor.Executor
	ctx  context.Context
	self stepper // the Op this core is part of
	// gen numbers the runs of an Op started again and again. A run ends only once all its slots
	// have landed, and an abandoned Op is never started again, so a landing always finds its own
	// run; gen checks it, at the cost of one compare, in case a rule above is ever loosened.
	gen uint32
	// pending counts the inner operations armed by Into that have not landed, and the resumptions
	// posted and not yet run. Delivery waits for it to reach zero, so an operation ends after
	// everything it started, and nothing of a run touches the Op once its handler has it.
	pending int32
	phase   phase
	entered bool // the body has been entered in this run
	resumed bool // the body is being entered for an inner operation's completion
	inStep  bool // the body is running: a resumption now must queue behind it
	sameEx  bool // the handler's executor is io: one unit of work, and it may run inline on io
	// handOver is set when the run is complete and nothing is pending while the body still runs
	// (Complete found nothing pending, or the last landing came round in a Poll the body made
	// after Complete): the step delivers as its very last act.
	handOver bool
	// parked counts posted resumptions that came round while the body was still running: it ran
	// its executor (Poll) itself. They are posted again once the body returns, rather than over
	// and over while it runs. There is at most one per slot pending, and 16 bits keep the core
	// within 64 bytes.
	parked uint16
}

type phase uint8

const (
	idle      phase = iota // never started
	stepping               // the body runs on each resumption
	completed              // Complete was called; delivery waits for the pending count to drain
	invoking               // handed to the handler's executor, whose run of next calls the handler
	done                   // the handler has been called: the Op may be started again
	abandoned              // the body panicked before completing: the operation never completes
)

// threadChecker is an executor that can tell whether its caller is running one of its handlers,
// where Dispatch would run inline: IOContext and Strand.
type threadChecker interface{ RunningInThisThread() bool }

// stepper is an Op of any result type, seen from its core: what needs its result type.
type stepper interface {
	callBody()
	tryDeliver()
	postDelivery()
	deliver()
	handlerExecutor() executor.Executor
}

// Start starts a composed operation: body runs on io, now if the caller is already running on io
// and otherwise posted, and again each time an inner operation started with a handler from [Into]
// completes. The body calls op.Complete exactly once; h then receives the result on its
// associated executor (io when it has none), once every inner operation has completed.
//
// If h's context is already done, the operation completes at once with completion.Fail[R] of the
// cancellation error, without running body; R must then be error or have a SetErr method, and
// Start panics otherwise, before counting any work.
//
// io must run one handler at a time (a Strand, or an IOContext with one Run goroutine), as Asio
// requires of the executor of a composed operation's steps.
//
// Start allocates the Op, and body's closure if it has one; [Op.Start] with a state that is its
// own [Body] allocates neither.
func Start[R any](io executor.Executor, h completion.Handler[R], body func(op *Op[R])) {
	new(Op[R]).Start(io, h, BodyFunc[R](body))
}

// Start starts a composed operation on op, as the function [Start] does, without allocating.
//
// op must be new or done: its handler has been called (a handler may start op again itself, on
// whatever executor it runs). Start panics if op is still in flight, and if its body panicked
// before completing: a run abandoned that way may still have inner operations pending, whose
// completions read the Op, and has left its state in an unknown condition, so the Op is spent (as
// Asio's operation is once an exception has unwound it). A body that panicked after Complete still
// has its result delivered, and its Op may be started again once that handler has run.
//
// h's associated executor must not change while the operation is in flight (Asio requires the
// same): the work counted on it at Start is released on the one found at delivery.
func (op *Op[R]) Start(io executor.Executor, h completion.Handler[R], body Body[R]) {
	switch op.phase {
	case idle, done:
	case abandoned:
		panic("composed: Op started again after its body panicked before completing")
	default:
		panic("composed: Op started again while in flight")
	}
	if _, ok := io.(*executor.IOContext); !ok && postsInline(io) {
		panic(errInlineIO)
	}
	hex, ctx := completion.Associated(h, io)
	canceled := ctx != nil && ctx.Err() != nil
	if canceled && !completion.CanFail[R]() {
		// Before anything is counted or changed, so the misuse leaves op and io as they were.
		panic("composed: the handler's context is done and the result type cannot carry the error: give *R a SetErr method")
	}
	// Field by field rather than op.core = core{...}: the composite literal is built on the stack
	// and copied in wide moves that stall on store forwarding, a third of Start's time.
	op.io, op.ctx, op.self = io, ctx, op
	op.gen++
	op.pending = 0
	op.phase = stepping
	op.entered, op.resumed, op.inStep, op.handOver = false, false, false, false
	op.parked = 0
	op.sameEx = hex == io
	op.h, op.body = h, body
	io.OnWorkStarted()
	if !op.sameEx {
		hex.OnWorkStarted()
	}
	if canceled {
		op.result = completion.Fail[R](completion.Canceled(ctx))
		op.phase = completed
		op.postDelivery() // guarantee 1: never inside the initiating function
		return
	}
	if onExecutor(io) {
		op.core.step() // what Dispatch would do, without binding a func for it
		return
	}
	io.Dispatch(op.runFunc())
}

// errInlineIO is Start's panic for an I/O executor that runs what is posted to it inside the call
// to Post: then no step could ever queue behind a running body, and a delivery posted by the first
// step would run inside Start. That is executor.Inline, or a strand over it, whose turns Inline
// runs at once.
const errInlineIO = "composed: executor.Inline, or a strand over it, cannot be an I/O executor"

// postsInline reports whether ex is executor.Inline or a strand over it. Out of line, so that
// Start stays as small as it was before the check looked into strands (inlined, the check cost
// Start 10 to 15 ns).
//
//go:noinline
func postsInline(ex executor.Executor) bool {
	for {
		switch x := ex.(type) {
		case executor.Inline, *executor.Inline:
			return true
		case *executor.Strand:
			ex = x.Inner()
		default:
			return false
		}
	}
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
func (op *Op[R]) Executor() executor.Executor { return op.handlerExecutor() }

// handlerExecutor is the handler's executor. Not kept in the Op, which a step's every cache line
// slows: finding it again costs a type assertion, once or twice per operation.
func (op *Op[R]) handlerExecutor() executor.Executor {
	if op.sameEx {
		return op.io
	}
	return completion.AssociatedExecutor(op.h, op.io)
}

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
func (op *Op[R]) Resumed() bool { return op.resumed }

// Complete ends the operation with r. The handler receives it on its executor once the step has
// returned and every inner operation the body started has completed, without entering the body
// again: cancel the ones it no longer needs (a timer) before completing, or the operation waits
// for them. The handler is posted if the operation has not yet returned from its first step, and
// dispatched otherwise. A second Complete panics. The body must not use op after Complete.
func (op *Op[R]) Complete(r R) {
	if op.phase != stepping {
		panic("composed: operation completed twice, or before Start")
	}
	op.result = r
	op.phase = completed
	op.tryDeliver()
}

// tryDeliver delivers the result of a completed operation once nothing it started is pending; on
// the I/O executor.
func (op *Op[R]) tryDeliver() {
	switch {
	case op.pending > 0:
		// The last landing delivers.
	case op.inStep:
		// The step delivers as its last act, once the body has returned (posted if this is the
		// first step): the handler may start the Op again at once, possibly on another goroutine,
		// and the step must not touch it after that. Not before either, even if the body runs its
		// executor (Poll) after Complete.
		op.handOver = true
	default:
		op.deliver()
	}
}

// postDelivery posts the delivery of a completed run to io.
func (op *Op[R]) postDelivery() { op.io.Post(op.runFunc()) }

// next is the one func the operation posts or dispatches: its first step, the delivery of a result
// found in the first step, or the call of the handler on its executor. Resumptions that must be
// posted carry their run's number instead (core.postResume).
func (op *Op[R]) next() {
	switch op.phase {
	case stepping:
		op.core.step()
	case completed:
		op.deliver()
	case invoking:
		op.invoke()
	}
}

// callBody enters the body. Small enough to be inlined into the method the core calls through
// its stepper interface, so that a step costs one call into the Op's result type, not two.
func (op *Op[R]) callBody() { op.body.Step(op) }

// step runs the body once and, if it completed the operation with nothing pending, delivers the
// result as its very last act: posted if this was the first step (guarantee 1), at once otherwise.
// A body that panics abandons the operation (unwind), so the panic leaves Run as an ordinary
// handler's does, without leaving work counted that would keep Run from returning. Outside the
// Op's result type, so that a slot's landing calls it directly.
func (c *core) step() {
	c.resumed, c.entered = c.entered, true
	c.inStep = true
	// The deferred func reads only returned once the body has returned: after the hand-over below
	// the handler may be starting the Op again on another goroutine.
	returned := false
	defer func() {
		if !returned {
			c.unwind()
		}
	}()
	c.self.callBody()
	returned = true
	c.inStep = false
	if c.parked > 0 {
		c.repostParked()
	}
	if c.handOver {
		c.handOver = false
		if !c.resumed {
			c.self.postDelivery() // guarantee 1: never inside the initiating function
			return
		}
		c.self.deliver() // the last act: the Op belongs to the handler from here
	}
}

// deliver hands the result to the handler's executor and releases the operation's work. On io,
// inside one of its handlers, outside the body. It touches the Op only until the hand-over: the
// handler may start it again at once, on another goroutine.
func (op *Op[R]) deliver() {
	op.phase = invoking
	io := op.io
	if op.sameEx {
		// The work first, as Asio's composed operation resets its work guard before calling the
		// handler: the handler running here keeps io's count up, and an operation it starts takes
		// the released unit back without an atomic operation (executor.IOContext.OnWorkStarted).
		io.OnWorkFinished()
		op.invoke() // on io already, where Dispatch would run it inline
		return
	}
	// Dispatched first, so the handler's executor counts the handler before it loses the
	// operation's unit; released also if the handler, run inline, panics.
	hex := op.handlerExecutor()
	defer release(io, hex, false)
	hex.Dispatch(op.runFunc())
}

// invoke calls the handler. It lets go of the handler and the result first, so that an Op kept
// in an object's state does not keep them alive, and marks the Op done, so the handler may start
// it again.
func (op *Op[R]) invoke() {
	h, r := op.h, op.result
	var zero R
	op.h, op.result = nil, zero
	op.phase = done
	h.Complete(r)
}

// release gives back the work an operation holds on io and on its handler's executor hex.
func release(io, hex executor.Executor, sameEx bool) {
	if !sameEx {
		hex.OnWorkFinished()
	}
	io.OnWorkFinished()
}

// unwind abandons the run whose body is unwinding by a panic: called by step's deferred func
// before any hand-over to the handler can have happened (delivery waits for the step's end).
// A run still stepping will never complete: its work is released, as an ordinary handler's panic
// leaves no work behind, and later resumptions do nothing. A run that completed before the panic
// still delivers its result, posted (or by its last landing).
func (c *core) unwind() {
	if !c.inStep {
		return
	}
	c.inStep = false
	switch c.phase {
	case stepping:
		c.abandon()
	case completed:
		// Delivery left to the step's tail, which the panic skipped, is posted; otherwise the
		// last landing delivers (or a parked resumption, posted again here).
		if c.handOver {
			c.handOver = false
			c.self.postDelivery()
		}
	}
	c.repostParked()
}

// abandon ends a run that is stepping without completing it: it releases the run's work and
// makes later resumptions do nothing. The Op is spent. On io, while the body runs or unwinds.
func (c *core) abandon() {
	c.phase = abandoned
	release(c.io, c.self.handlerExecutor(), c.sameEx)
}

// resume continues run gen after one of its pending inner operations or posted resumptions has
// ended; on io. It enters the body again while the run is stepping (posted behind it if the body
// is running, as when an inner operation completed inside the call that started it, which keeps
// the stack flat: guarantee 4), delivers a completed run once nothing is pending, and does
// nothing for an abandoned run or an earlier one.
func (c *core) resume(gen uint32) {
	if gen != c.gen {
		return // an earlier run's: Start has reset the count
	}
	c.pending--
	switch c.phase {
	case stepping:
		if c.inStep {
			c.postResume(gen)
			return
		}
		c.step()
	case completed:
		c.self.tryDeliver()
	}
}

// postResume posts the step of run gen for an inner operation that completed while the body was
// still running. It counts as pending until it runs, so a body that goes on to Complete is
// delivered only after it. A rare path, so the closure's allocation does not matter.
func (c *core) postResume(gen uint32) {
	c.pending++
	c.io.Post(func() { c.resumePosted(gen) })
}

// resumePosted runs a posted resumption of run gen. If the body is still running, it has run its
// executor itself (Poll) and this came round inside it: it is parked, still counted as pending,
// until the body returns, instead of being posted again at once, which would spin for ever.
func (c *core) resumePosted(gen uint32) {
	if gen == c.gen && c.phase == stepping && c.inStep {
		c.parked++
		return
	}
	c.resume(gen)
}

// repostParked posts again the resumptions parked while the body ran; once it has returned.
func (c *core) repostParked() {
	for ; c.parked > 0; c.parked-- {
		gen := c.gen
		c.io.Post(func() { c.resumePosted(gen) })
	}
}
