package composed_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// Guarantee 2: while in flight the operation holds work on the I/O executor and on the handler's
// executor, so an IOContext's Run does not return under it.

// waitShape is a composed operation that waits for one inner operation and completes with its
// result plus 100.
type waitShape struct {
	name  string
	start func(io executor.Executor, pend *pendingOp, h completion.Handler[opResult])
}

var waitShapes = []waitShape{
	{"Start", func(io executor.Executor, pend *pendingOp, h completion.Handler[opResult]) {
		var slot composed.Slot[opResult]
		composed.Start(io, h, func(op *composed.Op[opResult]) {
			if !op.Resumed() {
				pend.Start(composed.Into(op, &slot))
				return
			}
			op.Complete(opResult{V: slot.Value.V + 100, Err: slot.Value.Err})
		})
	}},
	{"Spawn", func(io executor.Executor, pend *pendingOp, h completion.Handler[opResult]) {
		composed.Spawn(io, h, func(y *composed.Yield) opResult {
			r := composed.Await(y, pend.Start)
			return opResult{V: r.V + 100, Err: r.Err}
		})
	}},
}

func TestRunDoesNotReturnWhileTheOperationIsInFlight(t *testing.T) {
	for _, tok := range tokens {
		for _, sh := range waitShapes {
			t.Run(tok.name+"/"+sh.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					io := &countingExecutor{Executor: executor.NewIOContext()}
					// The inner operation belongs to an object on another executor, never run: the
					// only thing that can keep io's Run going while it is pending is the composed
					// operation's own work.
					pend := newTestIO(executor.NewIOContext()).newPending()
					h, p := tok.new(nil)
					sh.start(io, pend, h)
					finished := make(chan struct{})
					go func() {
						defer close(finished)
						<-pend.Started()
						time.Sleep(time.Second)
						if io.work.Load() == 0 {
							t.Error("no work counted on the I/O executor while the operation is in flight")
						}
						pend.Finish(1)
					}()
					ctx := io.Executor.(*executor.IOContext)
					ctx.Run()
					if _, ok := p.result(); !ok {
						t.Error("Run returned while the operation was in flight")
						<-finished // then let the operation finish, so the bubble ends cleanly
						ctx.Restart()
						ctx.Run()
					}
					<-finished
					expectResult(t, p, opResult{V: 101})
					if n := io.work.Load(); n != 0 {
						t.Fatalf("the operation left %d units of work on the I/O executor", n)
					}
				})
			})
		}
	}
}

func TestHandlerExecutorRunDoesNotReturnWhileTheOperationIsInFlight(t *testing.T) {
	hexes := []struct {
		name string
		make func(ctx2 *executor.IOContext) executor.Executor
	}{
		{"second IOContext", func(ctx2 *executor.IOContext) executor.Executor { return ctx2 }},
		{"strand over a second IOContext", func(ctx2 *executor.IOContext) executor.Executor { return executor.NewStrand(ctx2) }},
	}
	for _, tok := range tokens {
		for _, sh := range waitShapes {
			for _, hx := range hexes {
				t.Run(tok.name+"/"+sh.name+"/"+hx.name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						io, ctx2 := executor.NewIOContext(), executor.NewIOContext()
						hex := &countingExecutor{Executor: hx.make(ctx2)}
						pend := newTestIO(executor.NewIOContext()).newPending()
						h, p := tok.new(nil)
						sh.start(io, pend, completion.Bind(hex, h))
						// Started after the operation, as Asio requires: from here on only the
						// operation's work keeps ctx2's Run from returning at once.
						ctx2Done := make(chan struct{})
						go func() {
							ctx2.Run()
							close(ctx2Done)
						}()
						finished := make(chan struct{})
						go func() {
							defer close(finished)
							<-pend.Started()
							time.Sleep(time.Second)
							if hex.work.Load() == 0 {
								t.Error("no work counted on the handler's executor while the operation is in flight")
							}
							pend.Finish(2)
						}()
						io.Run()
						<-ctx2Done
						<-finished
						if _, ok := p.result(); !ok {
							t.Error("the handler executor's Run returned before the handler ran")
							ctx2.Restart() // let the handler run, so the bubble ends cleanly
							ctx2.Run()
						}
						expectResult(t, p, opResult{V: 102})
						if n := hex.work.Load(); n != 0 {
							t.Fatalf("the operation left %d units of work on the handler's executor", n)
						}
					})
				})
			}
		}
	}
}
