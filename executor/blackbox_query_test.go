package executor_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/executor"
)

// bbSerialSays is a wrapper that also answers Serial itself.
type bbSerialSays struct {
	bbWrapper
	serial bool
}

func (e *bbSerialSays) Serial() bool { return e.serial }

// bbContextSays is a wrapper that also names its context itself.
type bbContextSays struct {
	bbWrapper
	ctx *executor.IOContext
}

func (e *bbContextSays) ExecutionContext() *executor.IOContext { return e.ctx }

// bbOnlyContext names a context without wrapping anything.
type bbOnlyContext struct {
	bbUserExec
	ctx *executor.IOContext
}

func (e *bbOnlyContext) ExecutionContext() *executor.IOContext { return e.ctx }

func TestBBQueriesBuiltIn(t *testing.T) {
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	ss := executor.NewStrand(s)
	sysStrand := executor.NewStrand(executor.System{})
	inlStrand := executor.NewStrand(executor.Inline{})
	pool2 := executor.NewThreadPool(2)
	defer pool2.Join()
	pool1 := executor.NewThreadPool(1)
	defer pool1.Join()
	poolCtx, ok := pool2.Executor().(*executor.IOContext)
	if !ok {
		t.Fatalf("ThreadPool.Executor is %T, not the pool's *IOContext", pool2.Executor())
	}
	for _, c := range []struct {
		name    string
		ex      executor.Executor
		serial  bool
		ctx     *executor.IOContext
		inlined bool
	}{
		{"IOContext", ctx, true, ctx, false},
		{"ctx.Executor()", ctx.Executor(), true, ctx, false},
		{"Strand", s, true, ctx, false},
		{"Strand of Strand", ss, true, ctx, false},
		{"Strand over System", sysStrand, true, nil, false},
		{"Strand over Inline", inlStrand, true, nil, true},
		{"Strand of Strand over Inline", executor.NewStrand(inlStrand), true, nil, true},
		{"System", executor.System{}, false, nil, false},
		{"ThreadPool(2)", pool2.Executor(), false, poolCtx, false},
		{"Strand over ThreadPool(2)", executor.NewStrand(pool2.Executor()), true, poolCtx, false},
		{"ThreadPool(1)", pool1.Executor(), true, pool1.Executor().(*executor.IOContext), false},
	} {
		if got := executor.Serial(c.ex); got != c.serial {
			t.Errorf("%s: Serial %v, want %v", c.name, got, c.serial)
		}
		if got := executor.ExecutionContext(c.ex); got != c.ctx {
			t.Errorf("%s: ExecutionContext %p, want %p", c.name, got, c.ctx)
		}
		if got := executor.PostsInline(c.ex); got != c.inlined {
			t.Errorf("%s: PostsInline %v, want %v", c.name, got, c.inlined)
		}
	}
	if !executor.PostsInline(executor.Inline{}) || executor.ExecutionContext(executor.Inline{}) != nil {
		t.Error("Inline: PostsInline false or a context")
	}
	if s.Inner() != executor.Executor(ctx) || ss.Inner() != executor.Executor(s) {
		t.Error("Strand.Inner is not the executor it was made over")
	}
}

// ThreadPool(n > 1) reports not serial from the moment NewThreadPool returns, every time.
func TestBBThreadPoolNotSerialAtOnce(t *testing.T) {
	for range 200 {
		p := executor.NewThreadPool(2)
		if executor.Serial(p.Executor()) {
			p.Join()
			t.Fatal("Serial(ThreadPool(2)) true right after NewThreadPool")
		}
		p.Join()
	}
}

// Executors written outside the package, answering the queries through Wrapper, ContextExecutor
// and SerialExecutor, or not at all.
func TestBBQueriesUserExecutors(t *testing.T) {
	ctx, other := executor.NewIOContext(), executor.NewIOContext()
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	silent := &bbUserExec{ctx}
	for _, c := range []struct {
		name    string
		ex      executor.Executor
		serial  bool
		ctx     *executor.IOContext
		inlined bool
	}{
		// "An executor that says nothing is trusted to be serial"; it names no context and is not
		// a wrapper, so it does not post inline.
		{"silent over IOContext", silent, true, nil, false},
		{"silent over System", &bbUserExec{executor.System{}}, true, nil, false},
		{"Wrapper over IOContext", bbNewWrapper(ctx), true, ctx, false},
		{"Wrapper over ThreadPool(2)", bbNewWrapper(pool.Executor()), false, pool.Executor().(*executor.IOContext), false},
		{"Wrapper over System", bbNewWrapper(executor.System{}), false, nil, false},
		{"Wrapper over Inline", bbNewWrapper(executor.Inline{}), true == executor.Serial(executor.Inline{}), nil, true},
		{"Wrapper over Strand over Inline", bbNewWrapper(executor.NewStrand(executor.Inline{})), true, nil, true},
		{"Wrapper over Wrapper over Strand", bbNewWrapper(bbNewWrapper(executor.NewStrand(pool.Executor()))), true, pool.Executor().(*executor.IOContext), false},
		{"Strand over Wrapper over ThreadPool(2)", executor.NewStrand(bbNewWrapper(pool.Executor())), true, pool.Executor().(*executor.IOContext), false},
		{"Strand over silent", executor.NewStrand(silent), true, nil, false},
		{"SerialExecutor true over System", &bbSerialSays{*bbNewWrapper(executor.System{}), true}, true, nil, false},
		{"SerialExecutor false over Strand", &bbSerialSays{*bbNewWrapper(executor.NewStrand(ctx)), false}, false, ctx, false},
		{"ContextExecutor other over ctx", &bbContextSays{*bbNewWrapper(ctx), other}, true, other, false},
		{"ContextExecutor nil over ctx", &bbContextSays{*bbNewWrapper(ctx), nil}, true, nil, false},
		{"ContextExecutor only", &bbOnlyContext{bbUserExec{ctx}, other}, true, other, false},
		{"Wrapper over ContextExecutor", bbNewWrapper(&bbOnlyContext{bbUserExec{ctx}, other}), true, other, false},
	} {
		if got := executor.Serial(c.ex); got != c.serial {
			t.Errorf("%s: Serial %v, want %v", c.name, got, c.serial)
		}
		if got := executor.ExecutionContext(c.ex); got != c.ctx {
			t.Errorf("%s: ExecutionContext %p, want %p", c.name, got, c.ctx)
		}
		if got := executor.PostsInline(c.ex); got != c.inlined {
			t.Errorf("%s: PostsInline %v, want %v", c.name, got, c.inlined)
		}
	}
}

// A strand over a user-written executor keeps its order and exclusion.
func TestBBStrandOrderOverUserWrapper(t *testing.T) {
	pool := executor.NewThreadPool(2)
	w := bbNewWrapper(pool.Executor())
	o := bbNewOrder(t, executor.NewStrand(w), w)
	o.drive(3, 300)
	o.finish()
	pool.Join()
}

// ThreadPool: Join waits for every queued handler (including those they post); Wait is Join;
// Attach lends a goroutine until the pool is joined and out of work; Stop abandons the queue.
func TestBBThreadPoolJoinAttachStop(t *testing.T) {
	p := executor.NewThreadPool(2)
	var ran atomic.Int64
	var attached sync.WaitGroup
	attached.Go(p.Attach)
	for range 500 {
		p.Executor().Post(func() {
			ran.Add(1)
			p.Executor().Post(func() { ran.Add(1) })
		})
	}
	p.Wait()
	attached.Wait()
	if ran.Load() != 1000 {
		t.Fatalf("Join returned with %d of 1000 handlers run", ran.Load())
	}

	p = executor.NewThreadPool(3)
	hold := make(chan struct{})
	entered := make(chan struct{})
	p.Executor().Post(func() { close(entered); <-hold })
	<-entered
	for range 100 {
		p.Executor().Post(func() {})
	}
	p.Stop()
	close(hold)
	p.Join() // returns though handlers may be left queued
	if !p.Executor().(*executor.IOContext).Stopped() {
		t.Error("pool's context not stopped after Stop")
	}
}

// NewThreadPool(0) starts at least one goroutine.
func TestBBThreadPoolAtLeastOne(t *testing.T) {
	p := executor.NewThreadPool(0)
	done := make(chan struct{})
	p.Executor().Post(func() { close(done) })
	<-done
	p.Join()
}
