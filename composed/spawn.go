package composed

import (
	"context"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Yield is the handle of a spawned operation's body: Asio's yield_context. Pass it to [Await].
type Yield struct {
	c *core
	// The baton: a step of the operation on its executor sends on resume to let the body run, and
	// waits on yielded until the body awaits again or returns. So the body runs only while a
	// handler of the executor is running, serialised with the executor's other handlers.
	resume  chan struct{}
	yielded chan yieldEvent
}

type yieldEvent struct {
	finished bool
	panicked bool
	panicVal any
	exited   bool // the body called runtime.Goexit
}

// Spawn runs body as a composed operation written as straight-line Go (Asio's spawn). body runs
// on a goroutine of its own, but only while a step of the operation on ex lets it, so its code
// between awaits is serialised with ex's other handlers exactly as a handler of ex is (on a strand,
// with the strand's other handlers). As in Asio, the steps run on ex whatever h's executor; h
// receives the result on its own, with the guarantees of [Start]. ex must run one handler at a
// time (a Strand, or an IOContext with one Run goroutine): Spawn panics otherwise, as Start does,
// and so does a step once ex no longer does. As with Start, a handler whose context is already
// done needs an R that can carry the error (error, or a SetErr method), or Spawn panics.
//
// A panic in body is raised again in the step of ex that was running it, so it leaves ex's Run the
// way a panic in an ordinary handler does; the operation never completes and releases its work (so
// a later Run still returns once out of work), and the body's goroutine has sent its last word by
// then and is ending. A body that calls runtime.Goexit (t.FailNow, say) ends its goroutine and
// the operation the same way, without a panic: the operation never completes, and Run goes on.
func Spawn[R any](ex executor.Executor, h completion.Handler[R], body func(y *Yield) R) {
	var y *Yield
	var result R
	new(Op[R]).begin(ex, h, BodyFunc[R](func(op *Op[R]) {
		if y == nil {
			y = &Yield{c: &op.core, resume: make(chan struct{}), yielded: make(chan yieldEvent)}
			go y.run(func() { result = body(y) })
		}
		ev := y.step()
		if ev.panicked {
			panic(ev.panicVal) // the step abandons the operation on its way out
		}
		if ev.exited {
			op.core.abandon()
			return
		}
		if ev.finished {
			op.Complete(result)
		}
	}), ex)
}

// run is the body's goroutine.
func (y *Yield) run(body func()) {
	<-y.resume
	finished := false
	defer func() {
		if !finished {
			// recover is nil only for runtime.Goexit: since Go 1.21, panic(nil) panics with a
			// *runtime.PanicNilError.
			if v := recover(); v != nil {
				y.yielded <- yieldEvent{finished: true, panicked: true, panicVal: v}
			} else {
				y.yielded <- yieldEvent{finished: true, exited: true}
			}
		}
	}()
	body()
	finished = true
	y.yielded <- yieldEvent{finished: true}
}

// step hands the baton to the body and waits for it back: until the body awaits, returns or
// panics.
func (y *Yield) step() yieldEvent {
	y.resume <- struct{}{}
	return <-y.yielded
}

// Context returns the spawned operation's context (nil if it cannot be cancelled).
func (y *Yield) Context() context.Context { return y.c.ctx }

// Executor returns the executor the body's steps run on.
func (y *Yield) Executor() executor.Executor { return y.c.ex }

// Err returns the cancellation error once the operation's context is done, and nil before.
func (y *Yield) Err() error {
	if ctx := y.Context(); ctx != nil && ctx.Err() != nil {
		return completion.Canceled(ctx)
	}
	return nil
}

// Await starts an inner operation from a spawned body and returns its result once it completes,
// letting the executor run other handlers meanwhile (Asio's yield_context as a token). The inner
// operation's handler has the spawned operation's executor and context.
//
// Once the operation's context is done, Await returns the cancellation error (through
// completion.Fail) without starting the inner operation, when T can carry an error.
func Await[T any](y *Yield, start func(h completion.Handler[T])) T {
	if err := y.Err(); err != nil && completion.CanFail[T]() {
		return completion.Fail[T](err)
	}
	var slot Slot[T]
	slot.arm(y.c) // the step on the executor is waiting for the baton: this is serialised with it
	start(&slot)
	y.yielded <- yieldEvent{}
	<-y.resume
	return slot.Value
}
