package composed_test

// Black-box tests of the guarantees of go doc composed and docs/composed.md "What the framework
// guarantees": the handler is never called inside the initiating function, work is held on both
// executors, the handler's context reaches the inner operation in flight and is sticky, a context
// already done completes at once (posted) without running the body, nothing outlives the
// operation.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// bbCall records an initiating call in progress on a goroutine.
type bbCall struct {
	gid    atomic.Uint64
	inside atomic.Bool
}

func (c *bbCall) around(f func()) {
	c.gid.Store(bbGID())
	c.inside.Store(true)
	f()
	c.inside.Store(false)
}

// insideOnThisGoroutine reports whether the caller runs inside the recorded call.
func (c *bbCall) insideOnThisGoroutine() bool {
	return c.inside.Load() && c.gid.Load() == bbGID()
}

type bbShape struct {
	name string
	// start starts an operation whose handler is h, on io.
	start func(io executor.Executor, h completion.Handler[bbRes], call *bbCall, bad *bbBad)
}

var bbDone = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

var bbShapes = []bbShape{
	{"completes in its first step", func(io executor.Executor, h completion.Handler[bbRes], call *bbCall, bad *bbBad) {
		composed.Start(io, h, func(op *composed.Op[bbRes]) { op.Complete(bbRes{V: 1}) })
	}},
	{"context already done", func(io executor.Executor, h completion.Handler[bbRes], call *bbCall, bad *bbBad) {
		composed.Start(io, completion.WithContext(bbDone, h), func(op *composed.Op[bbRes]) {
			bad.add("the body ran although the handler's context was done at start")
			op.Complete(bbRes{})
		})
	}},
	{"inner operation completes inside its call, then completes", func(io executor.Executor, h completion.Handler[bbRes], call *bbCall, bad *bbBad) {
		var slot composed.Slot[bbRes]
		composed.Start(io, h, func(op *composed.Op[bbRes]) {
			if !op.Resumed() {
				composed.Into(op, &slot).Complete(bbRes{V: 1})
				return
			}
			op.Complete(slot.Value)
		})
	}},
	{"kept Op completes in its first step", func(io executor.Executor, h completion.Handler[bbRes], call *bbCall, bad *bbBad) {
		k := &bbKept{}
		k.op.Start(io, h, k)
	}},
	{"spawned body returns at once", func(io executor.Executor, h completion.Handler[bbRes], call *bbCall, bad *bbBad) {
		composed.Spawn(io, h, func(*composed.Yield) bbRes { return bbRes{V: 1} })
	}},
}

// "The final handler is never called inside the function that started the operation", from a
// goroutine outside, from a handler of the I/O executor, from a handler of the step executor and
// from another operation's final handler, with the handler bound to a strand over a pool or run
// by a one-goroutine IOContext.
func TestBlackboxHandlerNeverInsideTheInitiatingCall(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	var runner sync.WaitGroup
	runner.Go(func() { ioc.Run() })
	defer func() { guard.Reset(); runner.Wait() }()

	type where struct {
		name    string
		io      executor.Executor
		stepEx  executor.Executor
		bind    bool
		spawnEx executor.Executor
	}
	wheres := []where{
		{"handler bound to a strand over a pool", pool.Executor(), strand, true, strand},
		{"I/O object on a strand", strand, strand, false, strand},
		{"one-goroutine IOContext", ioc, ioc, false, ioc},
	}
	for _, w := range wheres {
		for _, sh := range bbShapes {
			t.Run(w.name+"/"+sh.name, func(t *testing.T) {
				bad := &bbBad{}
				const n = 50
				var wg sync.WaitGroup
				wg.Add(4 * n)
				one := func(via string, post func(func())) {
					call := &bbCall{}
					var h completion.Handler[bbRes] = completion.Callback(func(bbRes) {
						if call.insideOnThisGoroutine() {
							bad.add("%s: the handler ran inside the initiating call", via)
						}
						wg.Done()
					})
					if w.bind {
						h = completion.Bind(w.stepEx, h)
					}
					io := w.io
					if sh.name == "spawned body returns at once" {
						io = w.spawnEx
					}
					post(func() { call.around(func() { sh.start(io, h, call, bad) }) })
				}
				for range n {
					one("from outside", func(f func()) { f() })
					one("from a handler of the I/O executor", w.io.Post)
					one("from a handler of the step executor", w.stepEx.Post)
					// from another operation's final handler, on the step executor
					one("from a final handler", func(f func()) {
						var h completion.Handler[bbRes] = completion.Callback(func(bbRes) { f() })
						if w.bind {
							h = completion.Bind(w.stepEx, h)
						}
						composed.Start(w.io, h, func(op *composed.Op[bbRes]) { op.Complete(bbRes{}) })
					})
				}
				ch := make(chan struct{})
				go func() { wg.Wait(); close(ch) }()
				bbWait(t, ch, "the handlers")
				bad.report(t)
			})
		}
	}
}

// "The first step runs inside the initiating call when the caller is already running there, and
// is posted there otherwise." Where goroutines cannot be told apart, Dispatch posts (README), so
// the first step is posted.
func TestBlackboxFirstStepInlineOnTheStepExecutor(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	type res struct{ inline, fromOutsideInline bool }
	got := make(chan res, 1)
	strand.Post(func() {
		call := &bbCall{}
		var r res
		h := completion.Bind(executor.Executor(strand), completion.Callback(func(bbRes) {}))
		call.around(func() {
			composed.Start(pool.Executor(), h, func(op *composed.Op[bbRes]) {
				r.inline = call.insideOnThisGoroutine()
				op.Complete(bbRes{})
			})
		})
		got <- r
	})
	r := <-got
	if bbHaveGID() && !r.inline {
		t.Errorf("started from a handler of the step strand, the first step was not run inside Start")
	}
	if !bbHaveGID() && r.inline {
		t.Errorf("nogid: the first step ran inside Start although Dispatch posts in this build")
	}
	// From outside, never inline.
	call := &bbCall{}
	inline := make(chan bool, 1)
	call.around(func() {
		composed.Start(pool.Executor(), completion.Bind(executor.Executor(strand), completion.Callback(func(bbRes) {})),
			func(op *composed.Op[bbRes]) { inline <- call.insideOnThisGoroutine(); op.Complete(bbRes{}) })
	})
	if <-inline {
		t.Errorf("started from outside the step executor, the first step ran inside Start")
	}
}

// "While the operation is in flight it counts outstanding work on the I/O executor and on the
// handler's executor (when that is another one), so an IOContext's Run does not return under it."
// The I/O context is given nothing to run at all: only the counted work keeps its Run in.
func TestBlackboxWorkHeldOnBothExecutors(t *testing.T) {
	for _, kind := range []string{"function Start", "kept Op", "Spawn on the handler's context"} {
		t.Run(kind, func(t *testing.T) {
			ioA := executor.NewIOContext() // the I/O executor
			hB := executor.NewIOContext()  // the handler's executor
			inner := make(chan completion.Handler[bbRes], 1)
			var handled, innerDone atomic.Bool
			h := completion.Bind(executor.Executor(hB), completion.Callback(func(r bbRes) {
				if r.V != 5 {
					t.Errorf("result %+v", r)
				}
				handled.Store(true)
			}))
			body := func(op *composed.Op[bbRes]) {
				if !op.Resumed() {
					inner <- composed.Into(op, new(composed.Slot[bbRes]))
					return
				}
				op.Complete(bbRes{V: 5})
			}
			switch kind {
			case "function Start":
				composed.Start(ioA, h, body)
			case "kept Op":
				var op composed.Op[bbRes]
				op.Start(ioA, h, composed.BodyFunc[bbRes](body))
			case "Spawn on the handler's context":
				// Spawn's steps run on the executor given; the handler counts work on its own.
				composed.Spawn(executor.Executor(hB), completion.Bind(executor.Executor(ioA), completion.Callback(func(r bbRes) {
					handled.Store(true)
				})), func(y *composed.Yield) bbRes {
					return composed.Await(y, func(h completion.Handler[bbRes]) { inner <- h })
				})
			}
			returnedEarly := make(chan string, 2)
			var wg sync.WaitGroup
			for name, c := range map[string]*executor.IOContext{"I/O": ioA, "handler's": hB} {
				wg.Go(func() {
					c.Run()
					// Spawn's steps run on hB, its handler on ioA: hB's work may end once the
					// handler is dispatched, before it runs on ioA (Asio's handler_work does so).
					if kind == "Spawn on the handler's context" && c == hB {
						if !innerDone.Load() {
							returnedEarly <- name
						}
						return
					}
					if !handled.Load() {
						returnedEarly <- name
					}
				})
			}
			ih := <-inner // the first step has run: the operation waits for its inner operation
			// Round trips through both contexts: each is running, with nothing queued after.
			for _, c := range []*executor.IOContext{ioA, hB} {
				for range 3 {
					ch := make(chan struct{})
					c.Post(func() { close(ch) })
					bbWait(t, ch, "a probe handler (Run returned under the operation?)")
				}
			}
			if c := len(returnedEarly); c != 0 {
				t.Fatalf("%s context's Run returned while the operation was in flight", <-returnedEarly)
			}
			innerDone.Store(true)
			ih.Complete(bbRes{V: 5})
			ch := make(chan struct{})
			go func() { wg.Wait(); close(ch) }()
			bbWait(t, ch, "both Run calls to return once the operation completed")
			close(returnedEarly)
			for name := range returnedEarly {
				t.Errorf("%s context's Run returned before the handler ran", name)
			}
		})
	}
}

// A pending inner operation that honours its handler's context, as the docs' stream does.
func bbPendingRead(io executor.Executor, h completion.Handler[bbRes]) {
	hex := completion.AssociatedExecutor(h, io)
	io.OnWorkStarted()
	completion.OnCancel(h, io, func(err error) {
		hex.Dispatch(func() { h.Complete(bbRes{Err: err}) })
		io.OnWorkFinished()
	})
}

// "The handler's context (completion.WithContext) is the context of every inner operation, so
// cancelling it reaches the inner operation in flight", many operations on strands over a pool,
// cancelled from other goroutines at once; the error matches ErrOperationAborted, the context's
// error and its cause.
func TestBlackboxContextCancelsTheInnerOperation(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	ss, ds, _ := bbStrands(pool.Executor(), 4, "cancel strand")
	cause := errors.New("bb: peer went quiet")
	const n = 400
	bad := &bbBad{}
	var wg sync.WaitGroup
	wg.Add(n)
	started := make(chan func(), n)
	for i := range n {
		d := ds[i%len(ds)]
		ctx, cancel := context.WithCancelCause(context.Background())
		var slot composed.Slot[bbRes]
		h := completion.WithContext(ctx, completion.Bind(executor.Executor(ss[i%len(ss)]), completion.Callback(func(r bbRes) {
			d.enter()
			defer d.exit()
			if !errors.Is(r.Err, completion.ErrOperationAborted) || !errors.Is(r.Err, context.Canceled) || !errors.Is(r.Err, cause) {
				bad.add("handler's error %v does not match aborted, Canceled and the cause", r.Err)
			}
			wg.Done()
		})))
		composed.Start(pool.Executor(), h, func(op *composed.Op[bbRes]) {
			d.enter()
			defer d.exit()
			if !op.Resumed() {
				s := composed.Into(op, &slot)
				if s.Context() == nil {
					bad.add("the slot has no context")
				}
				bbPendingRead(op.IOExecutor(), s)
				started <- func() { cancel(cause) }
				return
			}
			if op.Err() == nil {
				bad.add("op.Err() is nil after the inner operation was cancelled")
			}
			op.Complete(slot.Value)
		})
	}
	var cancellers sync.WaitGroup
	for range 3 {
		cancellers.Go(func() {
			for range n / 3 {
				(<-started)()
			}
		})
	}
	for range n - 3*(n/3) {
		(<-started)()
	}
	cancellers.Wait()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	bbWait(t, ch, "the cancelled operations")
	bad.report(t)
	for _, d := range ds {
		d.check(t)
	}
}

// "op.Err() reports the cancellation from then on, so one that arrives between two steps is not
// lost": the context ends during a step, the next inner operation ignores it, and the next step
// still sees it.
func TestBlackboxCancellationIsSticky(t *testing.T) {
	ioc := executor.NewIOContext()
	ctx, cancel := context.WithCancel(context.Background())
	var slot composed.Slot[bbRes]
	var sawErr error
	got := make(chan bbRes, 1)
	composed.Start(ioc, completion.WithContext(ctx, completion.Chan(got)), func(op *composed.Op[bbRes]) {
		if !op.Resumed() {
			h := composed.Into(op, &slot)
			cancel() // between two steps, as far as the next inner operation knows
			ioc.Post(func() { h.Complete(bbRes{V: 1}) })
			return
		}
		sawErr = op.Err()
		op.Complete(bbRes{Err: sawErr})
	})
	ioc.Run()
	if r := <-got; !errors.Is(r.Err, context.Canceled) {
		t.Errorf("the handler's error %v", r.Err)
	}
	if sawErr == nil || !errors.Is(sawErr, context.Canceled) || !errors.Is(sawErr, completion.ErrOperationAborted) {
		t.Errorf("op.Err() in the step after the cancellation = %v", sawErr)
	}
}

// "A context already done when the operation starts completes it at once (posted) without running
// its body", with R = error too; an R that cannot carry an error panics before counting work.
func TestBlackboxContextAlreadyDone(t *testing.T) {
	ioc := executor.NewIOContext()
	call := &bbCall{}
	got := make(chan error, 1)
	ioc.Post(func() {
		call.around(func() {
			composed.Start(ioc, completion.WithContext(bbDone, completion.Callback(func(err error) {
				if call.insideOnThisGoroutine() {
					t.Error("handler ran inside Start")
				}
				got <- err
			})), func(op *composed.Op[error]) { t.Error("body ran"); op.Complete(nil) })
		})
	})
	ioc.Run()
	if err := <-got; !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, context.Canceled) {
		t.Errorf("error %v", err)
	}

	ioc2 := executor.NewIOContext()
	v := bbPanic(func() {
		composed.Start(ioc2, completion.WithContext(bbDone, completion.Callback(func(int) { t.Error("handler ran") })),
			func(op *composed.Op[int]) { t.Error("body ran") })
	})
	if v == nil {
		t.Errorf("Start with a done context and R = int did not panic")
	}
	ran := make(chan struct{})
	go func() { ioc2.Run(); close(ran) }()
	bbWait(t, ran, "Run after the panic (work left counted?)")
}

// "The handler runs once the step that called op.Complete has returned and every inner operation
// the body started with composed.Into has completed."
func TestBlackboxNothingOutlivesTheOperation(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	const n = 200
	for range n {
		var read, timer composed.Slot[bbRes]
		var timerDone atomic.Bool
		var stepReturned atomic.Bool
		pending := make(chan completion.Handler[bbRes], 1)
		completed := make(chan struct{})
		handled := make(chan struct{})
		h := completion.Bind(executor.Executor(strand), completion.Callback(func(bbRes) {
			if !timerDone.Load() {
				t.Error("the handler ran before the inner operation still pending had completed")
			}
			if !stepReturned.Load() {
				t.Error("the handler ran before the step that completed had returned")
			}
			close(handled)
		}))
		composed.Start(pool.Executor(), h, func(op *composed.Op[bbRes]) {
			switch {
			case !op.Resumed():
				pending <- composed.Into(op, &timer)              // never cancelled: the operation waits for it
				go composed.Into(op, &read).Complete(bbRes{V: 1}) // from another goroutine
			case read.Ready() && !timer.Ready():
				op.Complete(read.Value)
				stepReturned.Store(false)
				close(completed)
				defer stepReturned.Store(true)
			default:
				t.Errorf("the body was entered again after Complete (read %v, timer %v)", read.Ready(), timer.Ready())
			}
		})
		th := <-pending
		<-completed
		// A round trip through the strand: a handler dispatched by the completing step would have run.
		ch := make(chan struct{})
		strand.Post(func() { close(ch) })
		<-ch
		timerDone.Store(true)
		th.Complete(bbRes{V: 2})
		bbWait(t, handled, "the handler")
	}
}
