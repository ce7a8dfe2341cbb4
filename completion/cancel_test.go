package completion_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
)

// postRecorder is an executor that keeps what is posted to it until the test runs it, so a test
// sees exactly what was submitted and on which goroutine it runs. Only Post is expected.
type postRecorder struct {
	t      *testing.T
	posted chan func()
}

func newPostRecorder(t *testing.T) *postRecorder {
	return &postRecorder{t: t, posted: make(chan func(), 16)}
}

func (r *postRecorder) Post(f func()) { r.posted <- f }
func (r *postRecorder) Dispatch(f func()) {
	r.t.Error("OnCancel dispatched instead of posting")
	r.posted <- f
}
func (r *postRecorder) Defer(f func()) {
	r.t.Error("OnCancel deferred instead of posting")
	r.posted <- f
}
func (r *postRecorder) OnWorkStarted()  {}
func (r *postRecorder) OnWorkFinished() {}

// cancelRecord is what the cancel function saw.
type cancelRecord struct {
	mu    sync.Mutex
	calls int
	err   error
	g     uintptr
}

func (c *cancelRecord) fn(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.err = err
	c.g = gid.Current()
}

func (c *cancelRecord) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func checkCanceledBy(t *testing.T, err, cause error) {
	t.Helper()
	if !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, cause) {
		t.Fatalf("cancel received %v, want an error matching ErrOperationAborted and %v", err, cause)
	}
	var ce *completion.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("cancel received %T, want a *CanceledError", err)
	}
}

func TestOnCancelPostsTheCancelFunctionToTheExecutor(t *testing.T) {
	rec := newPostRecorder(t)
	ctx, cancel := context.WithCancel(context.Background())
	var cr cancelRecord
	completion.OnCancel(completion.WithContext(ctx, completion.Detached[int]()), executor.Executor(rec), cr.fn)
	if len(rec.posted) != 0 {
		t.Fatal("OnCancel posted before the context ended")
	}
	cancel()
	f := <-rec.posted // posted from the context's AfterFunc goroutine
	if n := cr.count(); n != 0 {
		t.Fatal("the cancel function ran before the executor ran what was posted")
	}
	me := gid.Current()
	f()
	if n := cr.count(); n != 1 {
		t.Fatalf("cancel ran %d times, want 1", n)
	}
	checkCanceledBy(t, cr.err, context.Canceled)
	if gid.Known && cr.g != me {
		t.Fatal("the cancel function did not run where the executor ran it")
	}
}

func TestOnCancelRunsOnTheIOContextNotOnTheCancellingGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		io := executor.NewIOContext()
		guard := executor.MakeWorkGuard(io)
		ran := make(chan bool, 1)
		var runner uintptr
		io.Post(func() { runner = gid.Current() })
		ctx, cancel := context.WithCancel(t.Context())
		var cr cancelRecord
		completion.OnCancel(completion.WithContext(ctx, completion.Callback(func(int) {})), executor.Executor(io), func(err error) {
			cr.fn(err)
			ran <- io.RunningInThisThread()
			guard.Reset()
		})
		done := make(chan struct{})
		go func() { io.Run(); close(done) }()
		canceller := gid.Current()
		cancel()
		onIO := <-ran
		<-done
		checkCanceledBy(t, cr.err, context.Canceled)
		if gid.Known {
			if !onIO {
				t.Error("the cancel function did not run inside the IOContext's Run")
			}
			if cr.g == canceller || cr.g != runner {
				t.Error("the cancel function ran on the cancelling goroutine, not on the IOContext's runner")
			}
		}
	})
}

func TestOnCancelStopDisarms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newPostRecorder(t)
		ctx, cancel := context.WithCancel(t.Context())
		var cr cancelRecord
		stop := completion.OnCancel(completion.WithContext(ctx, completion.Detached[int]()), executor.Executor(rec), cr.fn)
		if !stop() {
			t.Fatal("stop before the context ended reported false")
		}
		cancel()
		synctest.Wait() // any AfterFunc goroutine has run and posted by now
		if n := len(rec.posted); n != 0 {
			t.Fatalf("a disarmed OnCancel posted %d functions", n)
		}
		if cr.count() != 0 {
			t.Fatal("a disarmed cancel function ran")
		}
	})
}

func TestOnCancelStopAfterTheContextEndedReportsFalse(t *testing.T) {
	rec := newPostRecorder(t)
	ctx, cancel := context.WithCancel(context.Background())
	var cr cancelRecord
	stop := completion.OnCancel(completion.WithContext(ctx, completion.Detached[int]()), executor.Executor(rec), cr.fn)
	cancel()
	f := <-rec.posted
	if stop() {
		t.Fatal("stop reported true after cancel was scheduled")
	}
	f() // the operation's cancel still runs: it is the one that completes the operation
	checkCanceledBy(t, cr.err, context.Canceled)
}

func TestOnCancelContextAlreadyDonePostsAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		ctx   func() (context.Context, context.CancelFunc)
		cause error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline exceeded", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), -1)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newPostRecorder(t)
			ctx, cancel := tt.ctx()
			defer cancel()
			var cr cancelRecord
			stop := completion.OnCancel(completion.WithContext(ctx, completion.Detached[int]()), executor.Executor(rec), cr.fn)
			if cr.count() != 0 {
				t.Fatal("cancel ran inside OnCancel")
			}
			(<-rec.posted)()
			checkCanceledBy(t, cr.err, tt.cause)
			if stop() {
				t.Fatal("stop reported true for a cancel that was already scheduled")
			}
		})
	}
}

func TestOnCancelWithoutAContextDoesNothing(t *testing.T) {
	tests := []struct {
		name string
		h    completion.Handler[int]
	}{
		{"no context", completion.Detached[int]()},
		{"a context that never ends", completion.WithContext(context.Background(), completion.Detached[int]())},
		{"nil context", completion.WithContext[int](nil, completion.Detached[int]())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newPostRecorder(t)
			var cr cancelRecord
			stop := completion.OnCancel(tt.h, executor.Executor(rec), cr.fn)
			if !stop() {
				t.Fatal("stop reported false with nothing to cancel")
			}
			if len(rec.posted) != 0 || cr.count() != 0 {
				t.Fatal("OnCancel posted with nothing to cancel")
			}
		})
	}
}
