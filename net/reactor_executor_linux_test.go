//go:build linux && !beastgo_portable

package net

import (
	"runtime"
	"weak"

	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// tracingExecutor is a user's executor that wraps another, as one that traces or measures
// handlers does: it says which executor it runs on through Inner.
type tracingExecutor struct {
	executor.Executor
	posts int
}

func (e *tracingExecutor) Inner() executor.Executor { return e.Executor }

func (e *tracingExecutor) Post(f func()) {
	e.posts++
	e.Executor.Post(f)
}

// Sockets, acceptors and timers made with a wrapping executor use the reactor of the IOContext
// under it, served by that context's Run goroutine, not the process-wide reactor's goroutine.
func TestWrappingExecutorUsesItsContextsReactor(t *testing.T) {
	ctx := executor.NewIOContext()
	ex := &tracingExecutor{Executor: ctx}
	want, err := reactorFor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a := listen(t, ex)
	defer a.Close()
	client := NewTCPSocket(ex)
	accepted := make(chan AcceptResult, 1)
	connected := make(chan error, 1)
	a.AsyncAccept(nil, completion.Chan(accepted))
	client.AsyncConnect(a.Addr(), completion.Chan(connected))
	timer := NewSteadyTimer(ex)
	if timer.r != want {
		t.Error("the timer does not use its context's reactor")
	}
	ctx.Run()
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	defer client.Close()
	defer r.Socket.Close()
	for name, d := range map[string]*descriptor{"acceptor": a.d, "client": client.d.Load(), "accepted": r.Socket.d.Load()} {
		if d.r != want {
			t.Errorf("the %s does not use its context's reactor (own loop: %v)", name, d.r.owned != nil)
		}
	}
	// No goroutine of the process-wide reactor ran: its loop never started.
	if shared.r != nil {
		l := shared.r.owned
		l.mu.Lock()
		running := l.running
		l.mu.Unlock()
		if running {
			t.Error("the process-wide reactor's goroutine is running")
		}
	}
	if ex.posts == 0 {
		t.Error("nothing was posted through the wrapping executor")
	}
}

// weakContextExecutor says which IOContext runs its handlers without holding it.
type weakContextExecutor struct {
	executor.System
	ctx weak.Pointer[executor.IOContext]
}

func (e weakContextExecutor) ExecutionContext() *executor.IOContext { return e.ctx.Value() }

// A timer or socket holds its context's reactor, and the reactor its context, so the context's
// cleanup (which closes the reactor's epoll and eventfd descriptors) cannot run while they are in
// use, even when nothing else holds the context.
func TestReactorKeepsItsContextWhileObjectsHoldIt(t *testing.T) {
	ctx := executor.NewIOContext()
	ex := weakContextExecutor{ctx: weak.Make(ctx)}
	timer := NewSteadyTimer(ex)
	if timer.err != nil {
		t.Fatal(timer.err)
	}
	ctx = nil
	runtime.GC()
	runtime.GC()
	if ex.ctx.Value() == nil {
		t.Fatal("the context was collected, and its reactor's descriptors closed, under a live timer")
	}
	runtime.KeepAlive(timer)
}
