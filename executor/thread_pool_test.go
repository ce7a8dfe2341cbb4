package executor_test

import (
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/executor"
	"go.uber.org/goleak"
)

func TestThreadPoolRunsEverythingThenJoins(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pool := executor.NewThreadPool(2)
	var ran atomic.Int64
	for range 10_000 {
		pool.Executor().Post(func() { ran.Add(1) })
	}
	pool.Join()
	if ran.Load() != 10_000 {
		t.Fatalf("ran %d of 10000 before Join returned", ran.Load())
	}
	pool.Wait() // a second join returns at once
}

func TestThreadPoolUsesSeveralGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pool := executor.NewThreadPool(3)
	defer pool.Join()
	if !allRunning(pool.Executor().(*executor.IOContext), 3) {
		t.Fatal("three handlers did not run at once on a pool of three")
	}
}

func TestThreadPoolStopAbandonsQueue(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pool := executor.NewThreadPool(1)
	release := make(chan struct{})
	var ran atomic.Int64
	pool.Executor().Post(func() { <-release })
	for range 100 {
		pool.Executor().Post(func() { ran.Add(1) })
	}
	pool.Stop()
	close(release)
	pool.Join()
	if ran.Load() != 0 {
		t.Fatalf("%d handlers ran after Stop", ran.Load())
	}
}

func TestThreadPoolAttach(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	pool := executor.NewThreadPool(1)
	attached := make(chan struct{})
	go func() {
		pool.Attach()
		close(attached)
	}()
	if !allRunning(pool.Executor().(*executor.IOContext), 2) {
		t.Fatal("the attached goroutine does not run the pool's handlers")
	}
	pool.Join()
	<-attached
}
