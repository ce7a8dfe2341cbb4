package composed_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// Guarantee 5: the handler's context (completion.WithContext) is the context of every inner
// operation, so ending it reaches the inner operation in flight; a context already done when the
// operation starts completes it at once, posted, without running the body.

// expectCanceled fails the test unless err is the cancellation error for cause.
func expectCanceled(t *testing.T, err, cause error) {
	t.Helper()
	if !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, cause) {
		t.Fatalf("got error %v, want one matching both ErrOperationAborted and %v", err, cause)
	}
	var ce *completion.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("got %T, want a *completion.CanceledError", err)
	}
}

// cancelCause is a way for the handler's context to end while the operation is in flight.
type cancelCause struct {
	name  string
	cause error
	// ctx returns the context and end, which makes it end (and returns once it has).
	ctx func(t *testing.T) (ctx context.Context, end func())
}

var cancelCauses = []cancelCause{
	{"canceled", context.Canceled, func(t *testing.T) (context.Context, func()) {
		ctx, cancel := context.WithCancel(t.Context())
		return ctx, cancel
	}},
	{"deadline exceeded", context.DeadlineExceeded, func(t *testing.T) (context.Context, func()) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		t.Cleanup(cancel)
		return ctx, func() { time.Sleep(2 * time.Second) }
	}},
}

func TestCancellationReachesTheInnerOperationInFlight(t *testing.T) {
	for _, tok := range tokens {
		for _, sh := range waitShapes {
			for _, cc := range cancelCauses {
				t.Run(tok.name+"/"+sh.name+"/"+cc.name, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						io := executor.NewIOContext()
						obj := newTestIO(io)
						pend := obj.newPending()
						ctx, end := cc.ctx(t)
						h, p := tok.new(nil)
						sh.start(io, pend, completion.WithContext(ctx, h))
						runDone := make(chan struct{})
						go func() {
							io.Run()
							close(runDone)
						}()
						<-pend.Started()
						end()
						synctest.Wait() // the cancellation has gone as far as it will
						if _, ok := p.result(); !ok {
							t.Error("the operation did not complete after its context ended")
							pend.Finish(-1000) // unblock it, so the bubble ends cleanly
						}
						<-runDone
						r := p.wait()
						// The body completes with the inner result plus 100: its second step ran,
						// with the error the inner operation completed with.
						if r.V != 100 {
							t.Fatalf("handler received %+v: the body did not complete with the inner operation's result", r)
						}
						expectCanceled(t, r.Err, cc.cause)
						if n := obj.pending.Load(); n != 0 {
							t.Fatalf("%d inner operations still pending", n)
						}
					})
				})
			}
		}
	}
}

func TestContextAlreadyDoneCompletesAtOnceWithoutRunningTheBody(t *testing.T) {
	dones := []struct {
		name  string
		cause error
		ctx   func() (context.Context, context.CancelFunc)
	}{
		{"canceled", context.Canceled, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
		{"deadline exceeded", context.DeadlineExceeded, func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Unix(0, 0))
		}},
	}
	kinds := []struct {
		name  string
		start func(io executor.Executor, obj *testIO, h completion.Handler[opResult], ran *bool)
	}{
		{"Start", func(io executor.Executor, obj *testIO, h completion.Handler[opResult], ran *bool) {
			var slot composed.Slot[opResult]
			composed.Start(io, h, func(op *composed.Op[opResult]) {
				*ran = true
				if op.Resumed() {
					op.Complete(slot.Value)
					return
				}
				obj.AsyncImmediate(1, composed.Into(op, &slot))
			})
		}},
		{"Spawn", func(io executor.Executor, obj *testIO, h completion.Handler[opResult], ran *bool) {
			composed.Spawn(io, h, func(y *composed.Yield) opResult {
				*ran = true
				return composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(1, h) })
			})
		}},
	}
	for _, tok := range tokens {
		for _, k := range kinds {
			for _, d := range dones {
				t.Run(tok.name+"/"+k.name+"/"+d.name, func(t *testing.T) {
					io := executor.NewIOContext()
					obj := newTestIO(io)
					ctx, cancel := d.ctx()
					defer cancel()
					h, p := tok.new(nil)
					var ran bool
					k.start(io, obj, completion.WithContext(ctx, h), &ran)
					expectNotDelivered(t, p, "inside the initiating function")
					// At once: one Poll, which never waits, delivers it.
					io.Poll()
					r, ok := p.result()
					if !ok {
						t.Fatal("a Poll after Start did not deliver the cancellation")
					}
					expectCanceled(t, r.Err, d.cause)
					if ran {
						t.Fatal("the body ran although the context was already done")
					}
					if obj.pending.Load() != 0 || obj.started() != 0 {
						t.Fatal("an inner operation was started")
					}
				})
			}
		}
	}
}

func TestSpawnAwaitAfterCancellationReturnsTheErrorWithoutStarting(t *testing.T) {
	for _, tok := range tokens {
		t.Run(tok.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				io := executor.NewIOContext()
				obj := newTestIO(io)
				pend := obj.newPending()
				ctx, cancel := context.WithCancel(t.Context())
				h, p := tok.new(nil)
				var errBefore, errAfter error
				var r1, r2 opResult
				var startedSecond bool
				var intCtx context.Context
				composed.Spawn(io, completion.WithContext(ctx, h), func(y *composed.Yield) opResult {
					errBefore = y.Err()
					r1 = composed.Await(y, pend.Start) // canceled in flight
					errAfter = y.Err()
					r2 = composed.Await(y, func(h completion.Handler[opResult]) {
						startedSecond = true
						obj.AsyncImmediate(2, h)
					})
					// A result that cannot carry an error: the inner operation is started, with
					// the ended context, and is expected to honour it.
					composed.Await(y, func(h completion.Handler[int]) {
						intCtx = completion.AssociatedContext(h)
						completion.AssociatedExecutor(h, io).Post(func() { h.Complete(0) })
					})
					return opResult{V: 3, Err: r2.Err}
				})
				runDone := make(chan struct{})
				go func() {
					io.Run()
					close(runDone)
				}()
				<-pend.Started()
				cancel()
				synctest.Wait()
				if _, ok := p.result(); !ok {
					t.Error("the operation did not complete after its context ended")
					pend.Finish(-1000) // unblock it, so the bubble ends cleanly
				}
				<-runDone
				r := p.wait()
				if errBefore != nil {
					t.Fatalf("Yield.Err before cancellation = %v", errBefore)
				}
				expectCanceled(t, errAfter, context.Canceled)
				expectCanceled(t, r1.Err, context.Canceled)
				expectCanceled(t, r2.Err, context.Canceled)
				expectCanceled(t, r.Err, context.Canceled)
				if startedSecond {
					t.Fatal("Await started an inner operation after the context ended")
				}
				if intCtx == nil || intCtx.Err() == nil {
					t.Fatalf("the inner operation of a result that cannot fail got context %v, want the ended one", intCtx)
				}
			})
		})
	}
}

func TestStartErrIsStickyAfterCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		io := executor.NewIOContext()
		pend := newTestIO(io).newPending()
		ctx, cancel := context.WithCancel(t.Context())
		var errs []error
		var slot composed.Slot[opResult]
		f := completion.NewFuture[opResult]()
		composed.Start(io, completion.WithContext(ctx, completion.Handler[opResult](f)), func(op *composed.Op[opResult]) {
			errs = append(errs, op.Err())
			if !op.Resumed() {
				pend.Start(composed.Into(op, &slot))
				return
			}
			op.Complete(slot.Value)
		})
		go func() {
			<-pend.Started()
			cancel()
		}()
		io.Run()
		expectCanceled(t, f.Wait().Err, context.Canceled)
		if len(errs) != 2 || errs[0] != nil {
			t.Fatalf("op.Err in the two steps = %v, want nil then the cancellation", errs)
		}
		expectCanceled(t, errs[1], context.Canceled)
	})
}

// skippedState is a kept state that marks itself busy in its initiating function.
type skippedState struct {
	op      composed.Op[error]
	busy    bool
	skipped int
	steps   int
}

func (s *skippedState) Step(op *composed.Op[error]) { s.steps++; s.busy = false; op.Complete(nil) }
func (s *skippedState) Skipped()                    { s.skipped++; s.busy = false }

// TestSkippedBodyIsToldOnlyWhenNoStepRuns: a SkippedBody's Skipped runs inside Start when the
// handler's context is already done, before the handler, and never when the body runs.
func TestSkippedBodyIsToldOnlyWhenNoStepRuns(t *testing.T) {
	ioc := executor.NewIOContext()
	st := &skippedState{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var got error
	st.busy = true
	st.op.Start(ioc, completion.WithContext(ctx, completion.Callback(func(err error) { got = err })), st)
	if st.skipped != 1 || st.busy {
		t.Fatalf("inside Start: skipped %d, busy %v; want 1, false", st.skipped, st.busy)
	}
	ioc.Run()
	ioc.Restart()
	if !errors.Is(got, context.Canceled) || st.steps != 0 {
		t.Fatalf("handler got %v after %d steps", got, st.steps)
	}
	st.busy = true
	st.op.Start(ioc, completion.Callback(func(err error) { got = err }), st)
	ioc.Run()
	if st.skipped != 1 || st.steps != 1 || got != nil {
		t.Fatalf("a running body: skipped %d, steps %d, got %v", st.skipped, st.steps, got)
	}
}

// releasedState is a state that counts its releases and checks the handler comes after.
type releasedState struct {
	op       composed.Op[error]
	released int
}

func (s *releasedState) Step(op *composed.Op[error]) { op.Complete(nil) }
func (s *releasedState) Released()                   { s.released++ }

// TestReleasedBodyBeforeTheHandler: a ReleasedBody is told once per run, before its handler runs,
// and the handler may start the same Op again.
func TestReleasedBodyBeforeTheHandler(t *testing.T) {
	ioc := executor.NewIOContext()
	st := &releasedState{}
	var seen []int
	var h completion.Handler[error]
	h = completion.Callback(func(error) {
		seen = append(seen, st.released)
		if len(seen) < 3 {
			st.op.Start(ioc, h, st)
		}
	})
	st.op.Start(ioc, h, st)
	ioc.Run()
	if len(seen) != 3 || seen[0] != 1 || seen[1] != 2 || seen[2] != 3 {
		t.Fatalf("releases seen by the handlers %v, want [1 2 3]", seen)
	}
}
