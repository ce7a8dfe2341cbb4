package completion_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// bbLogExec counts work on an inner executor and logs each call, so the order of Finish's releases
// can be seen.
type bbLogExec struct {
	executor.Executor
	name string
	mu   *sync.Mutex
	log  *[]string
}

func (e *bbLogExec) OnWorkStarted() {
	e.mu.Lock()
	*e.log = append(*e.log, e.name+" started")
	e.mu.Unlock()
	e.Executor.OnWorkStarted()
}

func (e *bbLogExec) OnWorkFinished() {
	e.mu.Lock()
	*e.log = append(*e.log, e.name+" finished")
	e.mu.Unlock()
	e.Executor.OnWorkFinished()
}

func TestBBWorkCountsAndReleasesInOrder(t *testing.T) {
	var mu sync.Mutex
	var log []string
	ctx := executor.NewIOContext()
	io := &bbLogExec{ctx, "io", &mu, &log}
	h := &bbLogExec{executor.NewStrand(ctx), "handler", &mu, &log}

	w := completion.StartWork(io, h)
	if w.SameExecutor() || w.IO() != executor.Executor(io) || w.Handler() != executor.Executor(h) {
		t.Fatalf("two executors: SameExecutor %v, IO %v, Handler %v", w.SameExecutor(), w.IO(), w.Handler())
	}
	w.Finish()
	if want := []string{"io started", "handler started", "handler finished", "io finished"}; !slices.Equal(log, want) &&
		!slices.Equal(log, []string{"handler started", "io started", "handler finished", "io finished"}) {
		t.Fatalf("log %v; want one unit on each, the handler's released first", log)
	}

	log = nil
	w = completion.StartWork(io, io)
	if !w.SameExecutor() || w.Handler() != executor.Executor(io) {
		t.Fatal("one executor: not SameExecutor")
	}
	w.Finish()
	if want := []string{"io started", "io finished"}; !slices.Equal(log, want) {
		t.Fatalf("log %v, want %v", log, want)
	}
}

func TestBBZeroWorkFinishPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Finish on the zero Work did not panic")
		}
	}()
	var w completion.Work
	w.Finish()
}

// A pending Work keeps Run alive, on the I/O context and on the handler's context, with several
// Run goroutines; Finish lets them return.
func TestBBWorkKeepsRunAlive(t *testing.T) {
	for _, runners := range []int{1, 3} {
		ioCtx, hCtx := executor.NewIOContext(), executor.NewIOContext()
		strand := executor.NewStrand(hCtx)
		w := completion.StartWork(ioCtx, strand)
		var wg sync.WaitGroup
		for range runners {
			wg.Go(func() { ioCtx.Run() })
			wg.Go(func() { hCtx.Run() })
		}
		// both contexts still run handlers after their queues were empty
		for range 3 {
			d1, d2 := make(chan struct{}), make(chan struct{})
			ioCtx.Post(func() { close(d1) })
			strand.Post(func() { close(d2) })
			<-d1
			<-d2
		}
		if ioCtx.Stopped() || hCtx.Stopped() {
			t.Fatal("a context stopped while the work was pending")
		}
		// the operation completes: its handler runs on the strand, then the work is finished
		done := make(chan struct{})
		ioCtx.Post(func() {
			strand.Post(func() { close(done) })
			w.Finish()
		})
		<-done
		wg.Wait()
		if !ioCtx.Stopped() || !hCtx.Stopped() {
			t.Fatal("contexts not stopped after Finish")
		}
	}
}

// Poll with a pending Work does not run out of work; after Finish it does.
func TestBBWorkPoll(t *testing.T) {
	ctx := executor.NewIOContext()
	w := completion.StartWork(ctx, ctx)
	ctx.Post(func() {})
	if n := ctx.Poll(); n != 1 || ctx.Stopped() {
		t.Fatalf("Poll ran %d, stopped %v", n, ctx.Stopped())
	}
	w.Finish()
	if n := ctx.Run(); n != 0 || !ctx.Stopped() {
		t.Fatalf("Run ran %d, stopped %v after Finish", n, ctx.Stopped())
	}
}

type bbNilHolder struct{}

func (bbNilHolder) Complete(int)                { panic("not called") }
func (bbNilHolder) Executor() executor.Executor { return nil }
func (bbNilHolder) Context() context.Context    { return nil }

func TestBBAssociated(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cb := completion.Callback(func(int) {})
	for _, c := range []struct {
		name string
		h    completion.Handler[int]
		ex   executor.Executor
		ctx  context.Context
	}{
		{"plain", cb, ioc, nil},
		{"Bind", completion.Bind(s, cb), s, nil},
		{"WithContext", completion.WithContext(ctx, cb), ioc, ctx},
		{"Bind(WithContext)", completion.Bind(s, completion.WithContext(ctx, cb)), s, ctx},
		{"WithContext(Bind)", completion.WithContext(ctx, completion.Bind(s, cb)), s, ctx},
		{"Bind(Bind)", completion.Bind(executor.Executor(ioc), completion.Bind(s, cb)), ioc, nil},
		{"nil holders", bbNilHolder{}, ioc, nil},
		{"Future", completion.NewFuture[int](), ioc, nil},
	} {
		ex, cx := completion.Associated(c.h, ioc)
		if ex != c.ex || cx != c.ctx {
			t.Errorf("%s: Associated = %v, %v; want %v, %v", c.name, ex, cx, c.ex, c.ctx)
		}
		if got := completion.AssociatedExecutor(c.h, ioc); got != ex {
			t.Errorf("%s: AssociatedExecutor %v differs from Associated's %v", c.name, got, ex)
		}
		if got := completion.AssociatedContext(c.h); got != cx {
			t.Errorf("%s: AssociatedContext differs from Associated's", c.name)
		}
	}
}
