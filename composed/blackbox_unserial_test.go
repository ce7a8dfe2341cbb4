package composed_test

// Black-box tests of what happens where nothing serialises a composed operation's steps: "Start
// panics before anything runs, with a message that names the fix ("put the I/O object on an
// executor.Strand or bind the handler to one with completion.Bind")", "before counting any work";
// a step through the queue asks again (only Start asks where goroutines cannot be told apart).

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// bbExpectFixPanic checks that f panics with a message naming the fix, and that neither the body
// nor the handler it was given ran.
func bbExpectFixPanic(t *testing.T, what string, f func(body func(*composed.Op[bbRes]), h completion.Handler[bbRes])) {
	t.Helper()
	var ran atomic.Int32
	body := func(op *composed.Op[bbRes]) { ran.Add(1); op.Complete(bbRes{}) }
	h := completion.Callback(func(bbRes) { ran.Add(10) })
	v := bbPanic(func() { f(body, h) })
	if v == nil {
		t.Errorf("%s: Start did not panic", what)
		return
	}
	msg := fmt.Sprint(v)
	if !strings.Contains(msg, "executor.Strand") || !strings.Contains(msg, "completion.Bind") {
		t.Errorf("%s: panic %q does not name the fix (executor.Strand, completion.Bind)", what, msg)
	}
	if n := ran.Load(); n != 0 {
		t.Errorf("%s: body or handler ran (%d) although Start panicked", what, n)
	}
}

// bbRendezvous posts n handlers to ex that wait for each other, so that n goroutines are inside
// ex's run calls at once; it returns when they all are, and the function that lets them go.
func bbRendezvous(ex executor.Executor, n int) (release func()) {
	arrived := make(chan struct{}, n)
	let := make(chan struct{})
	for range n { // one at a time: a goroutine blocked in one cannot hold the next in its batch
		ex.Post(func() { arrived <- struct{}{}; <-let })
		<-arrived
	}
	var once sync.Once
	return func() { once.Do(func() { close(let) }) }
}

type bbKept struct {
	op composed.Op[bbRes]
}

func (k *bbKept) Step(op *composed.Op[bbRes]) { op.Complete(bbRes{}) }

// A ThreadPool of two goroutines, an IOContext made for two: Start, Op.Start and Spawn panic at
// once, naming the fix, and count no work (the context's Run returns at once, the pool joins).
func TestBlackboxUnserialisedStartPanics(t *testing.T) {
	pool := executor.NewThreadPool(2)
	ioc2 := executor.NewIOContextConcurrency(2)
	ioStrand := executor.NewStrand(pool.Executor())

	bbExpectFixPanic(t, "pool, unbound handler", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		composed.Start(pool.Executor(), h, b)
	})
	// The I/O object on a strand, but the handler bound to the pool: the steps would run on the
	// handler's executor, which is not serial.
	bbExpectFixPanic(t, "I/O on a strand, handler bound to the pool", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		composed.Start(ioStrand, completion.Bind(pool.Executor(), h), b)
	})
	bbExpectFixPanic(t, "IOContext with hint 2, nobody running it", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		composed.Start(ioc2, h, b)
	})
	bbExpectFixPanic(t, "kept Op on the pool", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		var k bbKept
		k.op.Start(pool.Executor(), h, &k)
	})
	bbExpectFixPanic(t, "handler whose context is already done, on the pool", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		composed.Start(pool.Executor(), completion.WithContext(ctx, h), b)
	})
	bbExpectFixPanic(t, "started from a handler running on the pool", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		got := make(chan any, 1)
		pool.Executor().Post(func() { got <- bbPanic(func() { composed.Start(pool.Executor(), h, b) }) })
		if v := <-got; v != nil {
			panic(v)
		}
	})
	if v := bbPanic(func() {
		composed.Spawn(pool.Executor(), completion.Callback(func(bbRes) {}), func(*composed.Yield) bbRes { return bbRes{} })
	}); v == nil {
		t.Errorf("Spawn on a pool of two did not panic")
	}

	// No work was counted: the pool joins and the context's Run returns.
	ran := make(chan struct{})
	go func() { ioc2.Run(); pool.Join(); close(ran) }()
	bbWait(t, ran, "Run and Join after the panics (work left counted?)")
}

// AllOf and FirstOf run their own steps on a strand of their own, "so they work over any
// executor": a pool of two.
func TestBlackboxGroupsOverPool(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	var wg sync.WaitGroup
	const n = 200
	wg.Add(n)
	for range n {
		composed.AllOf(pool.Executor(), completion.Callback(func(g composed.GroupResult[bbRes]) {
			if len(g.Order) != 3 {
				t.Errorf("order %v", g.Order)
			}
			wg.Done()
		}),
			func(h completion.Handler[bbRes]) { pool.Executor().Post(func() { h.Complete(bbRes{V: 1}) }) },
			func(h completion.Handler[bbRes]) { go h.Complete(bbRes{V: 2}) },
			func(h completion.Handler[bbRes]) { pool.Executor().Post(func() { h.Complete(bbRes{V: 3}) }) },
		)
	}
	wg.Wait()
}

// An IOContext with two goroutines inside Run is not serial: Start panics, from outside and from
// one of its handlers; once they leave, a Start from the one Run goroutine left works.
func TestBlackboxStartPanicsWhileTwoGoroutinesRun(t *testing.T) {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { ioc.Run() })
	}
	release := bbRendezvous(ioc, 2)
	bbExpectFixPanic(t, "two Run goroutines, Start from outside", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		composed.Start(ioc, h, b)
	})
	// Spawn's steps run on the executor it is given whatever the handler's: its fix is a strand.
	if v := bbPanic(func() {
		composed.Spawn(ioc, completion.Callback(func(bbRes) { t.Error("Spawn's handler ran") }),
			func(*composed.Yield) bbRes { t.Error("Spawn's body ran"); return bbRes{} })
	}); !strings.Contains(fmt.Sprint(v), "executor.Strand") {
		t.Errorf("two Run goroutines, Spawn from outside: panic %v, want one naming executor.Strand", v)
	}
	release()
	guard.Reset()
	wg.Wait()

	// The same context, one goroutine: serial again.
	ioc.Restart()
	got := make(chan bbRes, 1)
	composed.Start(ioc, completion.Chan(got), func(op *composed.Op[bbRes]) { op.Complete(bbRes{V: 7}) })
	ioc.Run()
	if r := <-got; r.V != 7 {
		t.Errorf("result %+v", r)
	}
}

// A ThreadPool of one goroutine is serial; Attach makes a second runner, and then Start panics.
func TestBlackboxPoolOfOneGainsARunner(t *testing.T) {
	pool := executor.NewThreadPool(1)
	got := make(chan bbRes, 1)
	composed.Start(pool.Executor(), completion.Chan(got), func(op *composed.Op[bbRes]) { op.Complete(bbRes{V: 1}) })
	if r := <-got; r.V != 1 {
		t.Errorf("result %+v", r)
	}
	var wg sync.WaitGroup
	wg.Go(func() { pool.Attach() })
	release := bbRendezvous(pool.Executor(), 2)
	bbExpectFixPanic(t, "pool of one plus an attached goroutine", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		composed.Start(pool.Executor(), h, b)
	})
	release()
	pool.Join()
	wg.Wait()
}

func bbRunRecover(ioc *executor.IOContext) (v any) {
	defer func() { v = recover() }()
	ioc.Run()
	return nil
}

// "A step that comes through the executor's queue (a posted step, a completion delivered from
// another goroutine) asks executor.Serial again, and so does every Start, so a context that gains
// a second Run goroutine while an operation is in flight panics there instead of racing." Where
// goroutines cannot be told apart "only Start asks".
func TestBlackboxContextGainsARunGoroutineUnderAnOperation(t *testing.T) {
	ioc := executor.NewIOContext()
	inner := make(chan completion.Handler[bbRes], 1)
	var steps atomic.Int32
	handled := make(chan bbRes, 1)
	composed.Start(ioc, completion.Chan(handled), func(op *composed.Op[bbRes]) {
		steps.Add(1)
		if !op.Resumed() {
			inner <- composed.Into(op, new(composed.Slot[bbRes])) // a pending inner operation
			return
		}
		op.Complete(bbRes{V: 2})
	})
	panics := make(chan any, 2)
	var wg sync.WaitGroup
	wg.Go(func() { panics <- bbRunRecover(ioc) })
	h := <-inner // the first step has run on the one Run goroutine

	wg.Go(func() { panics <- bbRunRecover(ioc) })
	releaseX := bbRendezvous(ioc, 2) // both goroutines are inside Run now
	// Only one rendezvous handler returns: the other keeps its goroutine inside Run.
	hold := make(chan struct{})
	releaseX()
	blocked := make(chan struct{})
	ioc.Post(func() { close(blocked); <-hold })
	<-blocked

	// The next Start asks again, in every build.
	bbExpectFixPanic(t, "Start after the context gained a Run goroutine", func(b func(*composed.Op[bbRes]), hh completion.Handler[bbRes]) {
		composed.Start(ioc, hh, b)
	})

	// The inner operation completes from this goroutine: its step comes through the queue.
	h.Complete(bbRes{V: 1})
	if bbHaveGID() {
		v := <-panics // the goroutine that ran the step left Run with the panic
		msg := fmt.Sprint(v)
		if v == nil || !strings.Contains(msg, "executor.Strand") || !strings.Contains(msg, "completion.Bind") {
			t.Errorf("the step through the queue: Run returned with %v, want the panic naming the fix", v)
		}
		if n := steps.Load(); n != 1 {
			t.Errorf("the body was entered %d times, want once (the resumed step must not run)", n)
		}
	} else {
		// Only Start asks: the step runs, and the operation completes.
		r := <-handled
		if r.V != 2 {
			t.Errorf("nogid: result %+v", r)
		}
	}
	close(hold)
	ioc.Stop()
	wg.Wait()
	close(panics)
	for v := range panics {
		if v != nil && !bbHaveGID() {
			t.Errorf("nogid: a Run goroutine panicked: %v", v)
		}
	}
}

// An executor of the user's that wraps another is asked through executor.Wrapper, or says itself
// through executor.SerialExecutor; an executor that runs posts inline is refused.
type bbWrap struct{ executor.Executor }

func (w *bbWrap) Inner() executor.Executor { return w.Executor }

type bbSays struct {
	executor.Executor
	serial bool
}

func (s *bbSays) Serial() bool { return s.serial }

func TestBlackboxWrappersAndInline(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	bbExpectFixPanic(t, "a Wrapper over a pool of two", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		composed.Start(&bbWrap{pool.Executor()}, h, b)
	})
	bbExpectFixPanic(t, "a SerialExecutor saying false", func(b func(*composed.Op[bbRes]), h completion.Handler[bbRes]) {
		composed.Start(&bbSays{Executor: executor.NewStrand(pool.Executor()), serial: false}, h, b)
	})
	got := make(chan bbRes, 1)
	composed.Start(&bbWrap{executor.NewStrand(pool.Executor())}, completion.Chan(got), func(op *composed.Op[bbRes]) { op.Complete(bbRes{V: 3}) })
	if r := <-got; r.V != 3 {
		t.Errorf("a Wrapper over a strand: %+v", r)
	}
	for _, ex := range []executor.Executor{executor.Inline{}, executor.NewStrand(executor.Inline{})} {
		if v := bbPanic(func() {
			composed.Start(ex, completion.Callback(func(bbRes) {}), func(op *composed.Op[bbRes]) { op.Complete(bbRes{}) })
		}); v == nil {
			t.Errorf("Start on %T (posts inline) did not panic", ex)
		}
	}
}
