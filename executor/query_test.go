package executor_test

import (
	"sync"
	"testing"

	"github.com/beastgo/beast/executor"
)

// tracing is a user's executor that wraps another and says nothing else about itself.
type tracing struct{ executor.Executor }

func (t tracing) Inner() executor.Executor { return t.Executor }

func TestExecutionContextLooksThroughStrandsAndWrappers(t *testing.T) {
	ioc := executor.NewIOContext()
	cases := []struct {
		name string
		ex   executor.Executor
		want *executor.IOContext
	}{
		{"context", ioc, ioc},
		{"strand", executor.NewStrand(ioc), ioc},
		{"strand of strand", executor.NewStrand(executor.NewStrand(ioc)), ioc},
		{"wrapper", tracing{ioc}, ioc},
		{"wrapper of strand", tracing{executor.NewStrand(ioc)}, ioc},
		{"system", executor.System{}, nil},
		{"inline", executor.Inline{}, nil},
		{"wrapper of system", tracing{executor.System{}}, nil},
	}
	for _, c := range cases {
		if got := executor.ExecutionContext(c.ex); got != c.want {
			t.Errorf("%s: ExecutionContext = %p, want %p", c.name, got, c.want)
		}
	}
}

func TestPostsInline(t *testing.T) {
	ioc := executor.NewIOContext()
	for _, ex := range []executor.Executor{executor.Inline{}, &executor.Inline{}, executor.NewStrand(executor.Inline{}), tracing{executor.Inline{}}} {
		if !executor.PostsInline(ex) {
			t.Errorf("PostsInline(%T) = false, want true", ex)
		}
	}
	for _, ex := range []executor.Executor{ioc, executor.NewStrand(ioc), executor.System{}, tracing{ioc}} {
		if executor.PostsInline(ex) {
			t.Errorf("PostsInline(%T) = true, want false", ex)
		}
	}
}

func TestSerialFollowsTheRunGoroutines(t *testing.T) {
	ioc := executor.NewIOContext()
	strand := executor.NewStrand(ioc)
	if !executor.Serial(ioc) {
		t.Fatal("an idle context is not serial")
	}
	if executor.Serial(executor.System{}) || executor.Serial(tracing{executor.System{}}) {
		t.Fatal("System is serial")
	}

	// Two goroutines inside Run: the context is not serial, a strand over it is.
	guard := executor.MakeWorkGuard(ioc)
	release := make(chan struct{})
	inside := make(chan struct{})
	var runners sync.WaitGroup
	for range 2 {
		runners.Go(func() { ioc.Run() })
	}
	// One at a time, so that the first runner is busy in its handler when the second is posted.
	for range 2 {
		ioc.Post(func() { inside <- struct{}{}; <-release })
		<-inside
	}
	if executor.Serial(ioc) {
		t.Error("a context with two Run goroutines is serial")
	}
	if !executor.Serial(strand) || !executor.Serial(tracing{strand}) {
		t.Error("a strand over a context with two Run goroutines is not serial")
	}
	close(release)
	guard.Reset()
	runners.Wait()
	if !executor.Serial(ioc) {
		t.Error("the context is not serial once its Run goroutines have left")
	}
}

func TestSerialWithOneRunGoroutineAndANestedPoll(t *testing.T) {
	ioc := executor.NewIOContext()
	var outer, nested bool
	ioc.Post(func() {
		outer = executor.Serial(ioc)
		ioc.Post(func() { nested = executor.Serial(ioc) })
		ioc.Poll()
	})
	ioc.Run()
	if !outer {
		t.Error("one Run goroutine: not serial")
	}
	// Where goroutines cannot be told apart, the nested Poll looks like a second goroutine, and
	// the conservative answer is false.
	if nested != gidKnown() {
		t.Errorf("one Run goroutine polling inside its handler: Serial = %v, want %v (goroutines known)", nested, gidKnown())
	}
}

func TestSerialIsFalseForAThreadPoolOfSeveralFromTheStart(t *testing.T) {
	// Checked as NewThreadPool returns, before its goroutines can be relied on to be inside Run:
	// code that needs one handler at a time must see a pool of two as what it will be.
	for range 100 {
		pool := executor.NewThreadPool(2)
		serial := executor.Serial(pool.Executor())
		pool.Join()
		if serial {
			t.Fatal("Serial(NewThreadPool(2).Executor()) = true")
		}
	}
	pool := executor.NewThreadPool(1)
	defer pool.Join()
	if !executor.Serial(pool.Executor()) {
		t.Error("a pool of one goroutine is not serial")
	}
	pool2 := executor.NewThreadPool(2)
	defer pool2.Join()
	if !executor.Serial(executor.NewStrand(pool2.Executor())) {
		t.Error("a strand over a pool is not serial")
	}
}

func TestSerialFollowsTheConcurrencyHint(t *testing.T) {
	for _, tc := range []struct {
		hint   int
		serial bool
	}{{0, true}, {1, true}, {2, false}, {8, false}} {
		ioc := executor.NewIOContextConcurrency(tc.hint)
		if got := executor.Serial(ioc); got != tc.serial {
			t.Errorf("hint %d: Serial = %v before any Run, want %v", tc.hint, got, tc.serial)
		}
		if got := executor.Serial(tracing{ioc}); got != tc.serial {
			t.Errorf("hint %d: Serial through a wrapper = %v, want %v", tc.hint, got, tc.serial)
		}
		ran := false
		ioc.Post(func() { ran = true })
		if ioc.Run(); !ran {
			t.Errorf("hint %d: the context did not run its handler", tc.hint)
		}
	}
}
