package composed

import (
	"context"
	"iter"
	"runtime"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
)

// Yield is the handle of a spawned operation's body: Asio's yield_context. Pass it to [Await].
//
// The body runs on a coroutine (iter.Pull): a goroutine of its own to which a step of the
// operation on its executor switches control, and which switches back when the body awaits or
// returns. So the body runs only while that step runs, serialised with the executor's other
// handlers, and the switch costs no scheduling.
type Yield struct {
	c *core
	// suspend is iter.Pull's yield: it switches back to the step that resumed the body, with
	// whether the body is ending by runtime.Goexit, and returns once a step resumes the body.
	// It returns false only once the coroutine is stopped.
	suspend func(exiting bool) bool
	// running is set by the step while the body runs: Await is the body's, and only the body
	// may call it.
	running bool
	// g is the coroutine's goroutine where goroutines can be told apart (gid.Known).
	g uintptr
	// slot is the *Slot[T] of the last Await (at first the operation's own Slot[R]), kept for
	// the next Await of the same T: an await allocates nothing once its type has been seen.
	slot any
}

// spawned is a spawned operation: its Op, the Body that resumes the coroutine on every step, and
// the coroutine. One allocation besides the coroutine's own.
type spawned[R any] struct {
	op     Op[R]
	y      Yield
	body   func(y *Yield) R
	result R
	slot   Slot[R] // the awaits' slot while they are of type R, the usual case
	// next resumes the coroutine and returns once the body awaits (awaiting, and whether it is
	// ending by runtime.Goexit) or has returned (not awaiting); it raises a panic of the body
	// again. Made by the first step, so an operation whose body never runs (its context done at
	// Spawn, its executor never run) leaves no coroutine behind.
	next func() (exiting, awaiting bool)
	stop func()
}

// Spawn runs body as a composed operation written as straight-line Go (Asio's spawn). body runs
// on a coroutine of its own (iter.Pull), but only while a step of the operation on ex has switched
// to it, so its code between awaits is serialised with ex's other handlers exactly as a handler of
// ex is (on a strand, with the strand's other handlers). As in Asio, the steps run on ex whatever
// h's executor; h receives the result on its own, with the guarantees of [Start]. ex must run one
// handler at a time (a Strand, or an IOContext with one Run goroutine): Spawn panics otherwise, as
// Start does, and so does a step once ex no longer does. As with Start, a handler whose context is
// already done needs an R that can carry the error (error, or a SetErr method), or Spawn panics;
// the body then never runs and no coroutine is made.
//
// The coroutine is a goroutine, so inside the body RunningInThisThread is false, even for ex, and
// Dispatch posts. The first step makes it; every goroutine that runs ex must be in the thread-lock
// state of that step's goroutine (none locked with runtime.LockOSThread, or one Run goroutine that
// stays locked), or the runtime ends the program when another switches to it (iter.Pull's rule).
// A spawned operation that never completes (its executor never run again, an inner operation that
// never completes) leaves its coroutine suspended for ever, a goroutine that goleak reports: only
// the inner operation's completion may resume the body, and nothing can tell that it never will.
//
// A panic in body is raised again in the step of ex that was running it, so it leaves ex's Run the
// way a panic in an ordinary handler does; the operation never completes and releases its work (so
// a later Run still returns once out of work), and the coroutine has ended. A body that calls
// runtime.Goexit (t.FailNow, say) ends the operation the same way, without a panic: its defers run
// inside the step, the operation never completes, Run goes on, and the coroutine is ended from a
// goroutine of its own, which ends with it (so not where ex runs on a locked thread, above: there
// the body must not call runtime.Goexit).
func Spawn[R any](ex executor.Executor, h completion.Handler[R], body func(y *Yield) R) {
	s := &spawned[R]{body: body}
	s.y.c, s.y.slot = &s.op.core, &s.slot
	s.op.begin(ex, h, s, ex)
}

// Step is the operation's body as the core sees it, entered by every step on ex: it resumes the
// coroutine until the spawned body awaits, returns or panics (the panic goes on from here, and the
// step abandons the operation on its way out).
func (s *spawned[R]) Step(op *Op[R]) {
	if s.next == nil {
		s.next, s.stop = iter.Pull(s.run)
	}
	s.y.running = true
	exiting, awaiting := s.next()
	s.y.running = false
	switch {
	case !awaiting:
		op.Complete(s.result)
	case exiting:
		// The body called runtime.Goexit and its defers have run. Stopping the coroutine lets
		// the Goexit finish, and iter.Pull raises it again in the caller of stop: a goroutine of
		// its own, so that it ends that goroutine, not one running ex.
		op.core.abandon()
		go s.stop()
	}
}

// run is the coroutine: it runs the body, and reports a runtime.Goexit of the body to the step as
// an await that is exiting, since iter.Pull would otherwise raise the Goexit again in the step.
func (s *spawned[R]) run(suspend func(exiting bool) bool) {
	s.y.suspend = suspend
	if gid.Known {
		s.y.g = gid.Current()
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		// recover is nil only for runtime.Goexit: since Go 1.21, panic(nil) panics with a
		// *runtime.PanicNilError. A panic goes on, for iter.Pull to raise again in the step.
		if v := recover(); v != nil {
			panic(v)
		}
		s.y.suspend(true) // false: stopped, and the Goexit goes on
	}()
	s.result = s.body(&s.y)
	returned = true
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
// operation's handler has the spawned operation's executor and context. Only the body may call
// Await, on its own coroutine; Await panics when called from elsewhere or after the body returned.
//
// Once the operation's context is done, Await returns the cancellation error (through
// completion.Fail) without starting the inner operation, when T can carry an error.
//
// An await allocates nothing when the body's last await had the same T: the handler is kept.
func Await[T any](y *Yield, start func(h completion.Handler[T])) T {
	if !y.running || gid.Known && gid.Current() != y.g {
		panic("composed: Await called outside its spawned body, or after the body returned")
	}
	if err := y.Err(); err != nil && completion.CanFail[T]() {
		return completion.Fail[T](err)
	}
	slot, _ := y.slot.(*Slot[T])
	if slot == nil {
		slot = new(Slot[T])
		y.slot = slot
	}
	slot.arm(y.c) // the step that resumed the body is waiting for it: this is serialised with it
	start(slot)
	if !y.suspend(false) {
		// Stopped while awaiting, which Step does not do: should it ever, nothing of the body may
		// run but its defers (Asio unwinds an abandoned spawn's stack the same way).
		runtime.Goexit()
	}
	v := slot.Value
	var zero T
	slot.Value = zero // the slot is kept: do not keep the result alive with it
	return v
}
