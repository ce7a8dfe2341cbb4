package nettest_test

import (
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// recorder is a callback handler that records every result it receives, and whether it was
// called inside the call that started its operation (which it must never be).
type recorder struct {
	got      []net.IOResult
	starting bool // set by the test while it is inside the initiating call
	inline   bool
}

func (r *recorder) handler() completion.Handler[net.IOResult] {
	return completion.Callback(func(res net.IOResult) {
		if r.starting {
			r.inline = true
		}
		r.got = append(r.got, res)
	})
}

// start calls initiate with the recorder's handler, noting the call.
func (r *recorder) start(initiate func(completion.Handler[net.IOResult])) {
	r.starting = true
	initiate(r.handler())
	r.starting = false
}

// once checks the operation completed exactly once, not inline, and returns its result.
func (r *recorder) once(t *testing.T) net.IOResult {
	t.Helper()
	if r.inline {
		t.Fatal("handler called inside the initiating call")
	}
	if len(r.got) != 1 {
		t.Fatalf("handler called %d times, want once: %+v", len(r.got), r.got)
	}
	return r.got[0]
}

// countingExecutor wraps an executor and counts its outstanding work, so a test can see an
// operation holding work while pending and releasing it. A pointer, so comparable.
type countingExecutor struct {
	executor.Executor
	work atomic.Int64
}

func (c *countingExecutor) OnWorkStarted() {
	c.work.Add(1)
	c.Executor.OnWorkStarted()
}

func (c *countingExecutor) OnWorkFinished() {
	if c.work.Add(-1) < 0 {
		panic("countingExecutor: more work finished than started")
	}
	c.Executor.OnWorkFinished()
}
