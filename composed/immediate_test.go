package composed_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// Guarantee 1: the final handler is never invoked inside the initiating function, and a later
// completion is dispatched to the handler's associated executor.

// doneContext returns a context that has already been canceled.
func doneContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// firstStepShape is a composed operation that can complete before its initiating function returns.
type firstStepShape struct {
	name    string
	ctxDone bool // the handler's context is already done: the body must not run
	want    opResult
	start   func(io executor.Executor, obj *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool)
}

var firstStepShapes = []firstStepShape{
	{name: "Start completing in its first step", want: opResult{V: 1},
		start: func(io executor.Executor, _ *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			composed.Start(io, h, func(op *composed.Op[opResult]) {
				bodyRan.Store(true)
				op.Complete(opResult{V: 1})
			})
		}},
	{name: "Start after an immediate inner operation", want: opResult{V: 2},
		start: func(io executor.Executor, obj *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			var slot composed.Slot[opResult]
			composed.Start(io, h, func(op *composed.Op[opResult]) {
				bodyRan.Store(true)
				if !op.Resumed() {
					obj.AsyncImmediate(2, composed.Into(op, &slot))
					return
				}
				op.Complete(slot.Value)
			})
		}},
	{name: "Start after an inner operation that completes inline", want: opResult{V: 3},
		start: func(io executor.Executor, obj *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			var slot composed.Slot[opResult]
			composed.Start(io, h, func(op *composed.Op[opResult]) {
				bodyRan.Store(true)
				if !op.Resumed() {
					obj.AsyncInline(3, composed.Into(op, &slot))
					return
				}
				op.Complete(slot.Value)
			})
		}},
	{name: "Start with a context already done", ctxDone: true,
		start: func(io executor.Executor, _ *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			composed.Start(io, completion.WithContext(doneContext(), h), func(op *composed.Op[opResult]) {
				bodyRan.Store(true)
				op.Complete(opResult{V: 4})
			})
		}},
	{name: "Spawn returning in its first step", want: opResult{V: 5},
		start: func(io executor.Executor, _ *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			composed.Spawn(io, h, func(y *composed.Yield) opResult {
				bodyRan.Store(true)
				return opResult{V: 5}
			})
		}},
	{name: "Spawn after an immediate inner operation", want: opResult{V: 6},
		start: func(io executor.Executor, obj *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			composed.Spawn(io, h, func(y *composed.Yield) opResult {
				bodyRan.Store(true)
				return composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(6, h) })
			})
		}},
	{name: "Spawn after an inner operation that completes inline", want: opResult{V: 7},
		start: func(io executor.Executor, obj *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			composed.Spawn(io, h, func(y *composed.Yield) opResult {
				bodyRan.Store(true)
				return composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncInline(7, h) })
			})
		}},
	{name: "Spawn with a context already done", ctxDone: true,
		start: func(io executor.Executor, _ *testIO, h completion.Handler[opResult], bodyRan *atomic.Bool) {
			composed.Spawn(io, completion.WithContext(doneContext(), h), func(y *composed.Yield) opResult {
				bodyRan.Store(true)
				return opResult{V: 8}
			})
		}},
}

func TestHandlerNeverInvokedInsideTheInitiatingFunction(t *testing.T) {
	for _, tok := range tokens {
		for _, sh := range firstStepShapes {
			for _, fromHandler := range []bool{false, true} {
				name := tok.name + "/" + sh.name + "/from outside Run"
				if fromHandler {
					// The body's first step then runs inside Start (Dispatch on io runs inline), which is
					// where a completion could slip into the initiating function.
					name = tok.name + "/" + sh.name + "/from a handler of the I/O executor"
				}
				t.Run(name, func(t *testing.T) {
					io := executor.NewIOContext()
					obj := newTestIO(io)
					var initiating, bodyRan atomic.Bool
					h, p := tok.new(func() {
						if initiating.Load() {
							t.Error("handler invoked inside the initiating function")
						}
					})
					initiate := func() {
						initiating.Store(true)
						sh.start(io, obj, h, &bodyRan)
						initiating.Store(false)
						expectNotDelivered(t, p, "before the initiating function returned")
					}
					if fromHandler {
						inIOHandler(io, initiate)
					} else {
						initiate()
						io.Run()
					}
					if !sh.ctxDone {
						expectResult(t, p, sh.want)
						if !bodyRan.Load() {
							t.Fatal("the body never ran")
						}
					} else {
						got := p.wait()
						if !errors.Is(got.Err, completion.ErrOperationAborted) || !errors.Is(got.Err, context.Canceled) {
							t.Fatalf("with a context already done the handler received %+v, want a cancellation error", got)
						}
						if bodyRan.Load() {
							t.Fatal("the body ran although the context was already done")
						}
					}
					if n := obj.pending.Load(); n != 0 {
						t.Fatalf("%d inner operations still pending", n)
					}
				})
			}
		}
	}
}

// bindCase associates a handler with an executor (or not) and says how to tell it ran there.
type bindCase struct {
	name string
	// bind returns h bound as the case says, where reports whether the caller is running on the
	// handler's executor, and onIO whether that executor runs inside io's Run.
	bind func(h completion.Handler[opResult], io, ctx2 *executor.IOContext) (bound completion.Handler[opResult], where func() bool, onIO bool)
}

var bindCases = []bindCase{
	{"unbound", func(h completion.Handler[opResult], io, _ *executor.IOContext) (completion.Handler[opResult], func() bool, bool) {
		return h, io.RunningInThisThread, true
	}},
	{"bound to a strand over the I/O executor", func(h completion.Handler[opResult], io, _ *executor.IOContext) (completion.Handler[opResult], func() bool, bool) {
		s := executor.NewStrand(io)
		return completion.Bind(s, h), s.RunningInThisThread, true
	}},
	{"bound to a second IOContext", func(h completion.Handler[opResult], io, ctx2 *executor.IOContext) (completion.Handler[opResult], func() bool, bool) {
		return completion.Bind(ctx2, h), func() bool { return ctx2.RunningInThisThread() && !io.RunningInThisThread() }, false
	}},
	{"bound to a strand over a second IOContext", func(h completion.Handler[opResult], io, ctx2 *executor.IOContext) (completion.Handler[opResult], func() bool, bool) {
		s := executor.NewStrand(ctx2)
		return completion.Bind(s, h), func() bool { return s.RunningInThisThread() && !io.RunningInThisThread() }, false
	}},
}

// laterShape is a composed operation whose completion comes after its initiating function has
// returned: its body waits for an inner operation finished by another goroutine. In its last
// step, just before completing, it posts marker to the I/O executor; a handler that is dispatched
// (not posted) to an executor running inside io's Run has run before marker does.
type laterShape struct {
	name  string
	start func(io executor.Executor, pend *pendingOp, h completion.Handler[opResult], marker func(), afterComplete func())
}

var laterShapes = []laterShape{
	{"Start", func(io executor.Executor, pend *pendingOp, h completion.Handler[opResult], marker func(), afterComplete func()) {
		var slot composed.Slot[opResult]
		composed.Start(io, h, func(op *composed.Op[opResult]) {
			if !op.Resumed() {
				pend.Start(composed.Into(op, &slot))
				return
			}
			io.Post(marker)
			op.Complete(slot.Value)
			afterComplete()
		})
	}},
	{"Spawn", func(io executor.Executor, pend *pendingOp, h completion.Handler[opResult], marker func(), _ func()) {
		composed.Spawn(io, h, func(y *composed.Yield) opResult {
			r := composed.Await(y, pend.Start)
			io.Post(marker)
			return r
		})
	}},
}

func TestLaterCompletionIsDispatchedToTheHandlersExecutor(t *testing.T) {
	for _, tok := range tokens {
		for _, sh := range laterShapes {
			for _, bc := range bindCases {
				t.Run(tok.name+"/"+sh.name+"/"+bc.name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						io, ctx2 := executor.NewIOContext(), executor.NewIOContext()
						pend := newTestIO(io).newPending()
						var where func() bool
						var wrongPlace atomic.Int32
						h, p := tok.new(func() {
							if gidKnown() && !where() {
								wrongPlace.Add(1)
							}
						})
						bound, w, onIO := bc.bind(h, io, ctx2)
						where = w
						var deliveredBeforeMarker, deliveredInsideComplete atomic.Bool
						marker := func() {
							_, ok := p.result()
							deliveredBeforeMarker.Store(ok)
						}
						afterComplete := func() {
							_, ok := p.result()
							deliveredInsideComplete.Store(ok)
						}
						go func() {
							<-pend.Started()
							pend.Finish(9)
						}()
						sh.start(io, pend, bound, marker, afterComplete)
						// A handler bound to ctx2 has Start's steps run there too, so ctx2 runs
						// beside io; the work the operation counts on it keeps its Run from
						// returning before the handler has run.
						ctx2Done := make(chan struct{})
						go func() {
							if !onIO {
								ctx2.Run()
							}
							close(ctx2Done)
						}()
						io.Run()
						<-ctx2Done
						expectResult(t, p, opResult{V: 9})
						if n := wrongPlace.Load(); n != 0 {
							t.Fatal("handler ran outside its associated executor")
						}
						if onIO && gidKnown() {
							// Dispatched, not posted: it ran inside the step that completed, before
							// the marker that step posted first.
							if !deliveredBeforeMarker.Load() {
								t.Fatal("handler was posted, not dispatched, to its executor")
							}
							if sh.name == "Start" && deliveredInsideComplete.Load() {
								t.Fatal("handler ran inside Complete; it runs once the step has returned")
							}
						}
					})
				})
			}
		}
	}
}
