package executor_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/executor"
)

// A runner settles the work its handlers release once per batch (runner.work). These cover the
// ways a unit counted in one place is released in another, each of which once let the context
// judge itself out of work while a handler still ran and would post more.

// Counted by a handler, released from another goroutine.
func TestWorkCountedByAHandlerReleasedOffTheContext(t *testing.T) {
	c := executor.NewIOContext()
	var ran atomic.Bool
	c.Post(func() {
		g := executor.MakeWorkGuard(c)
		done := make(chan struct{})
		go func() { g.Reset(); close(done) }()
		<-done
		c.Post(func() { ran.Store(true) })
	})
	n := c.Run()
	if !ran.Load() {
		t.Fatalf("Run returned %d with a posted handler never run (Stopped=%v)", n, c.Stopped())
	}
}

// Counted by a handler on one runner, released by a handler on the other while the first runs.
func TestWorkCountedOnOneRunnerReleasedOnAnother(t *testing.T) {
	c := executor.NewIOContext()
	var ran atomic.Bool
	bDone := make(chan struct{})
	c.Post(func() {
		c.OnWorkStarted()
		go c.Post(func() { c.OnWorkFinished(); close(bDone) }) // runs on runner 2
		<-bDone
		time.Sleep(50 * time.Millisecond) // let runner 2 settle its batch
		c.Post(func() { ran.Store(true) })
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { c.Run() })
	}
	wg.Wait()
	if !ran.Load() {
		t.Fatalf("both Runs returned with a posted handler never run (Stopped=%v)", c.Stopped())
	}
}

// Counted by a handler, released by a handler its nested Poll runs.
func TestWorkCountedByAHandlerReleasedInItsNestedPoll(t *testing.T) {
	c := executor.NewIOContext()
	var ran atomic.Bool
	c.Post(func() {
		c.OnWorkStarted()
		c.Post(func() { c.OnWorkFinished() })
		c.Poll()
		c.Post(func() { ran.Store(true) })
	})
	c.Run()
	if !ran.Load() {
		t.Fatalf("Run returned with a posted handler never run (Stopped=%v)", c.Stopped())
	}
}

// A ThreadPool after Join: the same across its runners.
func TestWorkOnAThreadPoolAfterJoin(t *testing.T) {
	p := executor.NewThreadPool(2)
	ex := p.Executor()
	var ran atomic.Bool
	bDone := make(chan struct{})
	started := make(chan struct{})
	ex.Post(func() {
		ex.OnWorkStarted()
		close(started)
		<-bDone
		time.Sleep(50 * time.Millisecond)
		ex.Post(func() { ran.Store(true) })
	})
	<-started
	go func() { time.Sleep(20 * time.Millisecond); ex.Post(func() { ex.OnWorkFinished(); close(bDone) }) }()
	p.Join()
	if !ran.Load() {
		t.Fatal("Join returned with a posted handler never run")
	}
}
