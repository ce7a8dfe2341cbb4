package net_test

// Black-box tests of I/O objects on a user's wrapping executor (docs/net.md, "The reactor": "a
// user's executor that wraps it (one with Inner(), or one that says its context through
// ExecutionContext()), so a tracing or metrics wrapper is served by the context's Run
// goroutines").

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// bbTracing embeds an executor, counts what is submitted through it, and says its inner executor.
type bbTracing struct {
	executor.Executor
	calls *atomic.Int64
}

func (w bbTracing) Post(f func())            { w.calls.Add(1); w.Executor.Post(f) }
func (w bbTracing) Dispatch(f func())        { w.calls.Add(1); w.Executor.Dispatch(f) }
func (w bbTracing) Defer(f func())           { w.calls.Add(1); w.Executor.Defer(f) }
func (w bbTracing) Inner() executor.Executor { return w.Executor }

// bbContextSayer says its context through ExecutionContext instead of Inner.
type bbContextSayer struct {
	executor.Executor
	ioc   *executor.IOContext
	calls *atomic.Int64
}

func (w bbContextSayer) Post(f func())                         { w.calls.Add(1); w.Executor.Post(f) }
func (w bbContextSayer) Dispatch(f func())                     { w.calls.Add(1); w.Executor.Dispatch(f) }
func (w bbContextSayer) Defer(f func())                        { w.calls.Add(1); w.Executor.Defer(f) }
func (w bbContextSayer) ExecutionContext() *executor.IOContext { return w.ioc }

// Every completion of a socket, an acceptor and a timer on a wrapping executor runs on one of the
// context's Run goroutines, through the wrapper.
func TestBlackboxWrappingExecutorIsServedByItsContext(t *testing.T) {
	for _, runners := range []int{1, 2} {
		for _, kind := range []string{"Inner", "ExecutionContext"} {
			r := bbRun(t, runners)
			var calls atomic.Int64
			var ex executor.Executor
			if kind == "Inner" {
				ex = bbTracing{r.ioc, &calls}
			} else {
				ex = bbContextSayer{r.ioc, r.ioc, &calls}
			}
			if executor.ExecutionContext(ex) != r.ioc {
				t.Fatalf("ExecutionContext of the %s wrapper is not its context", kind)
			}
			var offRun atomic.Int64
			var wg sync.WaitGroup
			check := func() {
				if !r.onRunner() {
					offRun.Add(1)
				}
			}
			client, server := bbSocketPair(t, ex, ex)
			const rounds = 50
			buf := make([]byte, 64)
			for range rounds {
				wg.Add(2)
				server.AsyncReadSome(buf, completion.Callback(func(res net.IOResult) { check(); wg.Done() }))
				client.AsyncWriteSome([]byte("x"), completion.Callback(func(res net.IOResult) { check(); wg.Done() }))
				wg.Wait()
			}
			tm := net.NewSteadyTimer(ex)
			tm.ExpiresAfter(time.Millisecond)
			wg.Add(2)
			tm.AsyncWait(completion.Callback(func(error) { check(); wg.Done() }))
			tm2 := net.NewSteadyTimer(ex)
			tm2.ExpiresAfter(time.Hour)
			tm2.AsyncWait(completion.Callback(func(error) { check(); wg.Done() }))
			tm2.Cancel()
			wg.Wait()
			client.Close()
			server.Close()
			r.stop()
			if n := offRun.Load(); n != 0 {
				t.Errorf("%d runners, %s wrapper: %d completions ran off the context's Run goroutines", runners, kind, n)
			}
			if calls.Load() == 0 {
				t.Errorf("%d runners, %s wrapper: no completion went through the wrapper", runners, kind)
			}
		}
	}
}
