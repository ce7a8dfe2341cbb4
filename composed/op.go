package composed

import (
	"context"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
)

// Op is a composed operation in flight: the Go form of Asio's self. Its body receives it on every
// step; it passes it to [Into] to make the handlers of inner operations and calls Complete once.
//
// [Start] allocates an Op per operation. An object that runs one operation of a kind at a time (a
// stream's reads, its writes) may instead keep an Op in its own state and call its Start method
// for each operation, which then allocates nothing; see [Op.Start] for when that is allowed. An Op
// must not be copied (go vet reports a copy).
type Op[R any] struct {
	noCopy noCopy
	core
	work   completion.Work // on the I/O executor and on the handler's, while in flight
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

// SkippedBody is a [Body] told when its operation completes without running a single step,
// because the handler's context was already done when it started (Start's rule): Skipped runs
// inside Start, before the handler is posted, so that a state that marked itself in flight in its
// initiating function (a busy flag, a timer) can undo that. Without it such a state would stay
// marked for ever, since the step that would have cleared it never runs.
type SkippedBody interface {
	Skipped()
}

// ReleasedBody is a [Body] told that its operation is over, just before its handler is called:
// Asio's rule that an operation's memory is given back before the upcall, so that the handler
// can start the next operation with the same memory. Released may put the state back in a pool;
// nothing of it, Op included, is touched by the operation afterwards.
type ReleasedBody interface {
	Released()
}

// BodyFunc is a function as a [Body]. A func is pointer-shaped, so the conversion to Body
// allocates nothing.
type BodyFunc[R any] func(op *Op[R])

// Step calls f.
func (f BodyFunc[R]) Step(op *Op[R]) { f(op) }

// core is the part of an operation its slots see, whatever its result type. Its fields are read
// and written by the operation's steps, which its step executor runs one at a time (Start refuses
// an executor that does not, and steps that come through its queue ask again), or by Start before anything can see the
// run it begins, or by the handler's executor once delivery has handed the operation over and no
// step touches it again. So none needs an atomic. The exceptions are ex and ctx, which a Slot
// completed on another goroutine reads to post its landing, and an inner operation reads through
// the Slot's Context from wherever it runs: only Start writes them, and Start cannot run while a
// slot is pending.
type core struct {
	// ex is the step executor, where the body runs on every step: the final handler's associated
	// executor, the I/O executor when it has none (Asio's rule), or the executor a Spawn names.
	ex   executor.Executor
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
	// handOver is set when the run is complete and nothing is pending while the body still runs
	// (Complete found nothing pending, or the last landing came round in a Poll the body made
	// after Complete): the step delivers as its very last act.
	handOver bool
	// handlerHere is set when the final handler's executor is the step executor (always for
	// Start): a step that completes calls the handler at once.
	handlerHere bool
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
	deliver(fromStep bool)
	finishWork()
}

// Start starts a composed operation. Its steps run on the step executor: h's associated executor,
// or io when h has none (Asio's rule for async_compose). body runs there, now if the caller is
// already running on it and otherwise posted, and again each time an inner operation started with
// a handler from [Into] completes. The body calls op.Complete exactly once; h then receives the
// result on its associated executor (io when it has none), once every inner operation has
// completed. io is the I/O executor: the operation counts work on it, as on h's executor, while in
// flight (completion.Work), and a completion in the first step is posted through it.
//
// The step executor must run one handler at a time, so that the steps never race each other or
// the handlers they share state with: a Strand, or an IOContext with one Run goroutine. So put the
// I/O object on a strand, or bind h to one with completion.Bind (Asio's bind_executor); the inner
// operations, handed slots whose associated executor is the step executor, complete there. Start
// panics, before counting any work, when executor.Serial says the step executor runs handlers on
// several goroutines at once (a ThreadPool of more than one goroutine, an IOContext with several
// Run goroutines). A step that comes through the executor's queue (a posted step, a completion from
// another goroutine) asks again, so a context that gains a second Run goroutine under a running
// operation panics there instead of racing; a completion dispatched straight onto the step
// executor lands without asking, to keep a step cheap, and the next Start asks again. Start
// panics too for an executor that runs what is posted inside Post (executor.PostsInline:
// executor.Inline, a strand over it).
//
// If h's context is already done, the operation completes at once with completion.Fail[R] of the
// cancellation error, without running body; R must then be error or have a SetErr method, and
// Start panics otherwise, before counting any work.
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
// same): the steps run on the one found at Start.
func (op *Op[R]) Start(io executor.Executor, h completion.Handler[R], body Body[R]) {
	op.begin(io, h, body, nil)
}

// begin starts a run of op whose work is counted on io and on h's associated executor hex (io when
// it has none). Its steps run on hex (Asio's rule for Start), or on spawnEx when it is not nil:
// the executor Spawn names, on which its body runs as Asio's spawn does, and a group's strand.
func (op *Op[R]) begin(io executor.Executor, h completion.Handler[R], body Body[R], spawnEx executor.Executor) {
	hex, ctx := completion.Associated(h, io)
	sx, handlerHere := hex, true
	if spawnEx != nil {
		sx, handlerHere = spawnEx, hex == spawnEx
	}
	switch op.phase {
	case idle, done:
	case abandoned:
		panic("composed: Op started again after its body panicked before completing")
	default:
		panic("composed: Op started again while in flight")
	}
	if _, ok := io.(*executor.IOContext); !ok && executor.PostsInline(io) {
		panic(errInlineIO)
	}
	if _, ok := sx.(*executor.IOContext); !ok && executor.PostsInline(sx) {
		panic(errInlineIO)
	}
	if !serial(sx) {
		panic(notSerialMessage(spawnEx != nil))
	}
	canceled := ctx != nil && ctx.Err() != nil
	if canceled && !completion.CanFail[R]() {
		// Before anything is counted or changed, so the misuse leaves op and io as they were.
		panic("composed: the handler's context is done and the result type cannot carry the error: give *R a SetErr method")
	}
	// Field by field rather than op.core = core{...}: the composite literal is built on the stack
	// and copied in wide moves that stall on store forwarding, a third of Start's time.
	op.ex, op.ctx, op.self = sx, ctx, op
	op.gen++
	op.pending = 0
	op.phase = stepping
	op.entered, op.resumed, op.inStep, op.handOver = false, false, false, false
	op.handlerHere = handlerHere
	op.parked = 0
	op.h, op.body = h, body
	op.work = completion.StartWork(io, hex)
	if canceled {
		if sb, ok := body.(SkippedBody); ok {
			sb.Skipped()
		}
		op.result = completion.Fail[R](completion.Canceled(ctx))
		op.phase = completed
		op.postDelivery() // guarantee 1: never inside the initiating function
		return
	}
	if onExecutor(sx) {
		op.core.step() // what Dispatch would do, without binding a func for it
		return
	}
	sx.Dispatch(op.runFunc())
}

// errInlineIO is Start's panic for an executor that runs what is posted to it inside the call to
// Post: then no step could ever queue behind a running body, and a delivery posted by the first
// step would run inside Start. That is executor.Inline, or a strand or wrapper over it.
const errInlineIO = "composed: executor.Inline, or a strand over it, cannot be an I/O executor or run a composed operation's steps"

// notSerialMessage is the panic of Start whose step executor runs handlers on several goroutines
// at once, or of Spawn (spawned) given such an executor.
func notSerialMessage(spawned bool) string {
	if !spawned {
		return "composed: the steps of a composed operation would run on an executor that runs handlers on several goroutines at once (a ThreadPool, an IOContext with several Run goroutines), where they would race: put the I/O object on an executor.Strand or bind the handler to one with completion.Bind"
	}
	return "composed: Spawn's executor runs handlers on several goroutines at once (a ThreadPool, an IOContext with several Run goroutines), where the body's steps would race: spawn on an executor.Strand"
}

// serial reports whether ex runs one handler at a time at present: a strand without asking.
func serial(ex executor.Executor) bool {
	if _, ok := ex.(*executor.Strand); ok {
		return true
	}
	return executor.Serial(ex)
}

// runFunc returns op.next as a func, bound the first time it is needed. A step that starts on its
// I/O executor and resumes there never needs it, which saves an allocation per operation.
func (op *Op[R]) runFunc() func() {
	if op.run == nil {
		op.run = op.next
	}
	return op.run
}

// IOExecutor returns the I/O executor the operation counts work on (Asio's get_io_executor).
func (op *Op[R]) IOExecutor() executor.Executor { return op.work.IO() }

// Executor returns the executor the steps and the final handler run on (Asio's get_executor): the
// handler's associated executor, or the I/O executor when it has none.
func (op *Op[R]) Executor() executor.Executor { return op.ex }

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
		op.deliver(true)
	}
}

// postDelivery posts the delivery of a completed run to the I/O executor, which dispatches it to
// the handler's (as Asio's immediate completion goes through the I/O executor).
func (op *Op[R]) postDelivery() { op.work.IO().Post(op.runFunc()) }

// next is the one func the operation posts or dispatches: its first step (on the step executor),
// the delivery of a result found in the first step (posted to the I/O executor), or the call of
// the handler on its executor. Resumptions that must be posted carry their run's number instead
// (core.postResume).
func (op *Op[R]) next() {
	switch op.phase {
	case stepping:
		op.checkSerial()
		op.core.step()
	case completed:
		op.deliver(false)
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
		c.self.deliver(true) // the last act: the Op belongs to the handler from here
	}
}

// checkSerial panics if the step executor runs handlers on several goroutines at once: an
// IOContext that gained a second Run goroutine while the operation was in flight. Called by the
// steps that come through the executor's queue (a posted step or resumption, a completion from
// another goroutine) before they touch anything a concurrent step could be touching; a slot's
// landing straight from a handler of the step executor skips it, which keeps a step cheap, and
// the next Start asks again. Where goroutines
// cannot be told apart (gid.Known is false), an IOContext cannot tell a handler's own Poll from a
// second Run goroutine, and a body may Poll its context: the steps do not ask there, and Start's
// check stands alone.
func (c *core) checkSerial() {
	if gid.Known && !serial(c.ex) {
		panic(errNotSerialStep)
	}
}

// errNotSerialStep is a step's panic when its executor has stopped running one handler at a time.
const errNotSerialStep = "composed: the executor of a composed operation's steps runs handlers on several goroutines at once (an IOContext that gained a second Run goroutine while the operation was in flight), where its steps would race: put the I/O object on an executor.Strand or bind the handler to one with completion.Bind (for Spawn: spawn on a strand)"

// deliver hands the result to the handler's executor and releases the operation's work. Called
// inside a handler, outside the body: of the step executor (fromStep), or of the I/O executor for
// a completion posted by the first step. It touches the Op only until the hand-over: the handler
// may start it again at once, on another goroutine.
func (op *Op[R]) deliver(fromStep bool) {
	op.phase = invoking
	w := op.work
	if fromStep && op.handlerHere || !fromStep && w.SameExecutor() {
		// The work first, as Asio's composed operation resets its work guard before calling the
		// handler: the handler running here keeps its executor's count up, and an operation it
		// starts takes the released unit back without an atomic operation
		// (executor.IOContext.OnWorkStarted).
		w.Finish()
		op.invoke() // on the handler's executor already, where Dispatch would run it inline
		return
	}
	// Dispatched first, so the handler's executor counts the handler before it loses the
	// operation's unit; released also if the handler, run inline, panics.
	defer w.Finish()
	w.Handler().Dispatch(op.runFunc())
}

// invoke calls the handler. It lets go of the handler and the result first, so that an Op kept
// in an object's state does not keep them alive, and marks the Op done, so the handler may start
// it again.
func (op *Op[R]) invoke() {
	h, r := op.h, op.result
	var zero R
	op.h, op.result = nil, zero
	op.phase = done
	if rb, ok := op.body.(ReleasedBody); ok {
		op.body = nil
		rb.Released()
	}
	h.Complete(r)
}

// finishWork releases the work the run holds.
func (op *Op[R]) finishWork() { op.work.Finish() }

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
	c.self.finishWork()
}

// resume continues run gen after one of its pending inner operations or posted resumptions has
// ended; on the step executor. It enters the body again while the run is stepping (posted behind it if the body
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
	c.ex.Post(func() { c.resumePosted(gen) })
}

// resumePosted runs a posted resumption of run gen. If the body is still running, it has run its
// executor itself (Poll) and this came round inside it: it is parked, still counted as pending,
// until the body returns, instead of being posted again at once, which would spin for ever.
func (c *core) resumePosted(gen uint32) {
	c.checkSerial()
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
		c.ex.Post(func() { c.resumePosted(gen) })
	}
}
