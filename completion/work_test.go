package completion_test

import (
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// countingExecutor counts the work started and finished on it.
type countingExecutor struct {
	executor.Executor
	started, finished atomic.Int32
}

func (c *countingExecutor) OnWorkStarted()  { c.started.Add(1) }
func (c *countingExecutor) OnWorkFinished() { c.finished.Add(1) }

func TestWorkCountsEachExecutorOnce(t *testing.T) {
	io, hex := &countingExecutor{}, &countingExecutor{}

	w := completion.StartWork(io, hex)
	if io.started.Load() != 1 || hex.started.Load() != 1 {
		t.Fatalf("started io=%d handler=%d, want 1 and 1", io.started.Load(), hex.started.Load())
	}
	if w.SameExecutor() || w.IO() != executor.Executor(io) || w.Handler() != executor.Executor(hex) {
		t.Fatalf("Work reports the wrong executors")
	}
	w.Finish()
	if io.finished.Load() != 1 || hex.finished.Load() != 1 {
		t.Fatalf("finished io=%d handler=%d, want 1 and 1", io.finished.Load(), hex.finished.Load())
	}

	same := completion.StartWork(io, io)
	if !same.SameExecutor() || io.started.Load() != 2 {
		t.Fatalf("same executor: SameExecutor=%v started=%d, want true and 2", same.SameExecutor(), io.started.Load())
	}
	same.Finish()
	if io.finished.Load() != 2 {
		t.Fatalf("same executor: finished=%d, want 2", io.finished.Load())
	}
}

func TestWorkKeepsTheContextFromRunningOut(t *testing.T) {
	ioc := executor.NewIOContext()
	w := completion.StartWork(ioc, executor.System{})
	ioc.Poll()
	if ioc.Stopped() {
		t.Fatal("the context ran out of work while a Work was held on it")
	}
	w.Finish()
	ioc.Run() // returns at once: nothing is queued and no work is counted
	if !ioc.Stopped() {
		t.Fatal("the context did not run out of work after Finish")
	}
}
