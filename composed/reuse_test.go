package composed_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/benchcases"
)

// These tests cover an Op kept in an object's state and started again for each operation, and the
// completions that arrive after their run has ended.

// completeFromGoroutine completes h with r from a goroutine of its own, ignoring h's executor, as
// an operation that breaks the rule does; it holds work on ex until then.
func completeFromGoroutine(ex executor.Executor, h completion.Handler[opResult], r opResult) {
	ex.OnWorkStarted()
	go func() {
		defer ex.OnWorkFinished()
		h.Complete(r)
	}()
}

// allocsPerRun reports the allocations of calling start and then running ctx until it is out of
// work; Run's own are those of a start that posts a func made once.
func allocsPerRun(ctx *executor.IOContext, start func()) float64 {
	return testing.AllocsPerRun(100, func() {
		start()
		ctx.Run()
		ctx.Restart()
	})
}

// mustPanic runs f and fails unless it panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic; want one with %q", want)
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Fatalf("panic %v; want one with %q", r, want)
		}
	}()
	f()
}

func TestOpStartedAgainFromItsHandlerAllocatesNothing(t *testing.T) {
	ctx := executor.NewIOContext()
	c := benchcases.NewReusedChainer(benchcases.NewTicker(ctx))
	var got []int
	runs := 0
	var again completion.Func[int]
	again = func(v int) {
		got = append(got, v)
		if runs++; runs < 5 {
			c.Async(3, again) // from inside the handler: the Op is done once its handler runs
		}
	}
	c.Async(3, again)
	ctx.Run()
	if want := []int{3, 6, 9, 12, 15}; len(got) != len(want) || got[4] != want[4] {
		t.Fatalf("results %v, want %v", got, want)
	}

	// Steady state: a whole operation of three steps, run to completion, allocates nothing beyond
	// what Run allocates for itself.
	ctx.Restart()
	h := completion.Func[int](func(int) {})
	noop := func() {}
	runOnly := allocsPerRun(ctx, func() { ctx.Post(noop) })
	allocs := allocsPerRun(ctx, func() { c.Async(3, h) })
	if allocs != runOnly {
		t.Fatalf("%v allocations per reused operation and Run, %v per Run alone; want the same", allocs, runOnly)
	}
}

func TestOpStartedAgainWhileInFlightPanics(t *testing.T) {
	ctx := executor.NewIOContext()
	io := newTestIO(ctx)
	var op composed.Op[opResult]
	var slot composed.Slot[opResult]
	body := func(op *composed.Op[opResult]) {
		if op.Resumed() {
			op.Complete(slot.Value)
			return
		}
		io.AsyncImmediate(1, composed.Into(op, &slot))
	}
	f := completion.NewFuture[opResult]()
	op.Start(ctx, f, composed.BodyFunc[opResult](body))
	mustPanic(t, "in flight", func() { op.Start(ctx, completion.Detached[opResult](), composed.BodyFunc[opResult](body)) })
	ctx.Run()
	if r, ok := f.Result(); !ok || r.V != 1 {
		t.Fatalf("first run's result %+v, %v; want V 1", r, ok)
	}
}

func TestIntoASlotStillPendingPanics(t *testing.T) {
	ctx := executor.NewIOContext()
	io := newTestIO(ctx)
	var slot composed.Slot[opResult]
	var recovered any
	composed.Start(ctx, completion.Detached[opResult](), func(op *composed.Op[opResult]) {
		if op.Resumed() {
			op.Complete(slot.Value)
			return
		}
		io.AsyncImmediate(1, composed.Into(op, &slot))
		func() {
			defer func() { recovered = recover() }()
			composed.Into(op, &slot)
		}()
	})
	ctx.Run()
	if msg, _ := recovered.(string); !strings.Contains(msg, "not completed") {
		t.Fatalf("Into on a pending slot: recovered %v, want a panic", recovered)
	}
}

// A body that completes on the first of two inner operations (a read racing a timer) leaves the
// other pending: the handler waits for it, so that nothing the operation started outlives it, and
// its completion lands in its slot without entering the body again.
func TestCompleteWaitsForTheInnerOperationsStillPending(t *testing.T) {
	for _, tok := range tokens {
		t.Run(tok.name, func(t *testing.T) {
			ctx := executor.NewIOContext()
			io := newTestIO(ctx)
			slow := io.newPending()
			var fast, late composed.Slot[opResult]
			steps := 0
			h, p := tok.new(nil)
			composed.Start(ctx, h, func(op *composed.Op[opResult]) {
				steps++
				if !op.Resumed() {
					slow.Start(composed.Into(op, &late))
					io.AsyncImmediate(1, composed.Into(op, &fast))
					return
				}
				op.Complete(fast.Value)
			})
			for ctx.PollOne() > 0 { // the first step, then the fast completion: Complete
			}
			if _, ok := p.result(); ok {
				t.Fatal("delivered while an inner operation was still pending")
			}
			go slow.Finish(2)
			ctx.Run()
			if r := p.wait(); r.V != 1 {
				t.Fatalf("result %+v, want V 1", r)
			}
			if p.extra() != 0 || steps != 2 {
				t.Fatalf("%d extra deliveries and %d steps; want 0 and 2", p.extra(), steps)
			}
			if !late.Ready() || late.Value.V != 2 {
				t.Fatalf("the late slot holds %+v (ready %v): its result should land", late.Value, late.Ready())
			}
		})
	}
}

// A state that keeps its Op and is its own Body makes the whole operation one allocation;
// composed.Start makes three (the Op, the state, the body's closure).
func TestAllocationsPerOperation(t *testing.T) {
	ctx := executor.NewIOContext()
	tk := benchcases.NewTicker(ctx)
	h := completion.Func[int](func(int) {})
	noop := func() {}
	runOnly := allocsPerRun(ctx, func() { ctx.Post(noop) })
	for _, c := range []struct {
		name  string
		start benchcases.ChainFunc
		want  float64
	}{
		{"state as Body", benchcases.AsyncOpChain, 1},
		{"composed.Start", benchcases.AsyncStartChain, 3},
	} {
		// Started from a handler, as operations usually are: one started from elsewhere is
		// posted, which binds a func for it (one allocation more).
		start := func() { c.start(tk, 3, h) }
		allocs := allocsPerRun(ctx, func() { ctx.Post(start) })
		want := c.want
		if !gidKnown() {
			// Where goroutines cannot be told apart, a handler is not known to run on the
			// context, so the first step is posted as from elsewhere.
			want++
		}
		if got := allocs - runOnly; got != want {
			t.Errorf("%s: %v allocations per operation, want %v", c.name, got, want)
		}
	}
}

// A run abandoned by a panic may leave an inner operation pending, which reads the Op when it
// completes: the Op is spent, Start refuses it, and the late completion lands in its slot without
// entering the body or holding Run up.
func TestAnAbandonedOpIsSpent(t *testing.T) {
	ctx := executor.NewIOContext()
	io := newTestIO(ctx)
	slow := io.newPending()
	var op composed.Op[opResult]
	var old composed.Slot[opResult]
	entered := 0
	first := func(op *composed.Op[opResult]) {
		entered++
		slow.Start(composed.Into(op, &old))
		panic("first run fails")
	}
	op.Start(ctx, completion.Detached[opResult](), composed.BodyFunc[opResult](first))
	if v := runRecovering(t, ctx); v != "first run fails" {
		t.Fatalf("recovered %v", v)
	}
	mustPanic(t, "after its body panicked before completing", func() {
		op.Start(ctx, completion.Detached[opResult](), composed.BodyFunc[opResult](first))
	})
	ctx.Restart()
	slow.Finish(9) // dispatched to ctx: lands after the run was abandoned
	ctx.Run()
	if entered != 1 || !old.Ready() || old.Value.V != 9 {
		t.Fatalf("body entered %d times, old slot ready %v with %+v; want 1, true, V 9", entered, old.Ready(), old.Value)
	}
}

// An Op restarted from its handler, which runs on another IOContext and goroutine: the step that
// completed must be done with the Op before the handler gets it. Run under -race.
func TestOpStartedAgainFromAHandlerOnAnotherGoroutine(t *testing.T) {
	ioc, other := executor.NewIOContext(), executor.NewIOContext()
	io := newTestIO(ioc)
	var op composed.Op[opResult]
	var slot composed.Slot[opResult]
	body := func(op *composed.Op[opResult]) {
		if op.Resumed() {
			op.Complete(slot.Value)
			return
		}
		io.AsyncImmediate(1, composed.Into(op, &slot))
	}
	const runs = 500
	n := 0
	guards := []*executor.WorkGuard{executor.MakeWorkGuard(ioc), executor.MakeWorkGuard(other)}
	var h completion.Handler[opResult]
	h = completion.Bind[opResult](other, completion.Callback(func(opResult) {
		if n++; n < runs {
			op.Start(ioc, h, composed.BodyFunc[opResult](body))
			return
		}
		for _, g := range guards {
			g.Reset()
		}
	}))
	var wg sync.WaitGroup
	wg.Go(func() { other.Run() })
	wg.Go(func() { ioc.Run() })
	op.Start(ioc, h, composed.BodyFunc[opResult](body))
	wg.Wait()
	if n != runs {
		t.Fatalf("%d runs completed, want %d", n, runs)
	}
}

// An inner operation that completes on a goroutine of its own while the Op is being started again
// by its handler: the operation waits for it, so the restart never meets it. Run under -race.
func TestOffExecutorCompletionsAndRestarts(t *testing.T) {
	ctx := executor.NewIOContext()
	io := newTestIO(ctx)
	var op composed.Op[opResult]
	var fast, offIO composed.Slot[opResult]
	body := func(op *composed.Op[opResult]) {
		if !op.Resumed() {
			completeFromGoroutine(ctx, composed.Into(op, &offIO), opResult{V: 7})
			io.AsyncImmediate(1, composed.Into(op, &fast))
			return
		}
		if fast.Ready() {
			op.Complete(fast.Value) // delivered once offIO has landed too
		}
	}
	const runs = 300
	n := 0
	var h completion.Func[opResult]
	h = func(opResult) {
		if !offIO.Ready() {
			t.Error("delivered before the off-executor completion landed")
		}
		if n++; n < runs {
			op.Start(ctx, h, composed.BodyFunc[opResult](body))
		}
	}
	op.Start(ctx, h, composed.BodyFunc[opResult](body))
	ctx.Run()
	if n != runs {
		t.Fatalf("%d runs completed, want %d", n, runs)
	}
}

// An inner operation that calls Complete on a goroutine of its own, ignoring its handler's
// executor, must not change the slot under a body that is running: its result lands on the I/O
// executor. Run under -race, where the slot's fields would race otherwise.
func TestCompletionOffTheExecutorLandsOnIt(t *testing.T) {
	ctx := executor.NewIOContext()
	io := newTestIO(ctx)
	var a, b composed.Slot[opResult]
	// Every step runs on ctx, which says so where goroutines are identified; elsewhere
	// RunningInThisThread reports false, as documented.
	onIO := true
	f := completion.NewFuture[opResult]()
	composed.Start(ctx, f, func(op *composed.Op[opResult]) {
		onIO = onIO && ctx.RunningInThisThread() == gidKnown()
		if !op.Resumed() {
			completeFromGoroutine(ctx, composed.Into(op, &a), opResult{V: 10})
			io.AsyncImmediate(1, composed.Into(op, &b))
			return
		}
		for range 1000 {
			_ = a.Ready() // reads the fields the goroutine's Complete would otherwise write
		}
		if a.Ready() && b.Ready() {
			op.Complete(opResult{V: a.Value.V + b.Value.V})
		}
	})
	ctx.Run()
	if r, ok := f.Result(); !ok || r.V != 11 {
		t.Fatalf("result %+v, %v; want V 11", r, ok)
	}
	if !onIO {
		t.Fatalf("a step saw RunningInThisThread %v", !gidKnown())
	}
}

// Inline runs what is posted at once, and so does a strand over it, so the delivery posted by a
// first step would run inside Start: neither can be an I/O executor.
func TestInlineIOExecutorPanics(t *testing.T) {
	for name, io := range map[string]executor.Executor{
		"Inline":                      executor.Inline{},
		"*Inline":                     &executor.Inline{},
		"a strand over Inline":        executor.NewStrand(executor.Inline{}),
		"a strand over such a strand": executor.NewStrand(executor.NewStrand(executor.Inline{})),
	} {
		t.Run(name, func(t *testing.T) {
			called := false
			mustPanic(t, "Inline", func() {
				composed.Start(io, completion.Callback(func(int) { called = true }), func(op *composed.Op[int]) { op.Complete(1) })
			})
			if called {
				t.Fatal("the handler ran inside Start")
			}
		})
	}
}
