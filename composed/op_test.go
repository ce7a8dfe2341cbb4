package composed_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/invoke"
)

func TestCompleteTwicePanics(t *testing.T) {
	cases := []struct {
		name string
		// inner is the number of inner operations before the body completes twice.
		inner int
	}{
		{"in the first step", 0},
		{"in a later step", 2},
	}
	for _, tok := range tokens {
		for _, c := range cases {
			t.Run(tok.name+"/"+c.name, func(t *testing.T) {
				io := executor.NewIOContext()
				obj := newTestIO(io)
				h, p := tok.new(nil)
				var slot composed.Slot[opResult]
				n := 0
				composed.Start(io, h, func(op *composed.Op[opResult]) {
					if n < c.inner {
						n++
						obj.AsyncImmediate(n, composed.Into(op, &slot))
						return
					}
					op.Complete(opResult{V: 1})
					op.Complete(opResult{V: 2})
				})
				v := runRecovering(t, io)
				if s, _ := v.(string); !strings.Contains(s, "twice") {
					t.Fatalf("panic value %v does not say the operation completed twice", v)
				}
				// The first result still reaches the handler, once.
				io.Poll()
				expectResult(t, p, opResult{V: 1})
			})
		}
	}
}

func TestOpAccessors(t *testing.T) {
	io, ctx2 := executor.NewIOContext(), executor.NewIOContext()
	ctx := t.Context()
	obj := newTestIO(io)
	type seen struct {
		io, ex       executor.Executor
		ctx          context.Context
		err          error
		resumed      bool
		slotEx       executor.Executor
		slotCtx      context.Context
		slotExAssoc  executor.Executor
		slotCtxAssoc context.Context
	}
	var steps []seen
	var slot composed.Slot[opResult]
	f := completion.NewFuture[opResult]()
	composed.Start(io, completion.WithContext(ctx, completion.Bind(ctx2, completion.Handler[opResult](f))), func(op *composed.Op[opResult]) {
		h := &slot // what Into returned, in the first step; the slot keeps its run's executor and context
		if !op.Resumed() {
			h = composed.Into(op, &slot)
		}
		steps = append(steps, seen{op.IOExecutor(), op.Executor(), op.Context(), op.Err(), op.Resumed(),
			h.Executor(), h.Context(), completion.AssociatedExecutor[opResult](h, nil), completion.AssociatedContext[opResult](h)})
		if !op.Resumed() {
			obj.AsyncImmediate(1, h)
			return
		}
		op.Complete(slot.Value)
	})
	// The steps run on the handler's executor, ctx2, and count work on io: both run at once.
	ioDone := make(chan struct{})
	go func() {
		io.Run()
		close(ioDone)
	}()
	ctx2.Run()
	<-ioDone
	f.Wait()
	if len(steps) != 2 {
		t.Fatalf("the body ran %d times, want 2", len(steps))
	}
	for i, s := range steps {
		want := seen{io, ctx2, ctx, nil, i == 1, ctx2, ctx, ctx2, ctx}
		if s != want {
			t.Errorf("step %d saw %+v, want %+v", i, s, want)
		}
	}
}

func TestOpWithoutContextCannotBeCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		io := executor.NewIOContext()
		f := completion.NewFuture[opResult]()
		var ctxSeen context.Context = context.Background()
		var slotCtx context.Context = context.Background()
		var slot composed.Slot[opResult]
		obj := newTestIO(io)
		composed.Start(io, completion.Handler[opResult](f), func(op *composed.Op[opResult]) {
			if op.Resumed() {
				op.Complete(slot.Value)
				return
			}
			ctxSeen = op.Context()
			h := composed.Into(op, &slot)
			slotCtx = h.Context()
			obj.AsyncImmediate(1, h)
		})
		io.Run()
		if ctxSeen != nil || slotCtx != nil {
			t.Fatalf("an operation without a context reports %v (slot %v), want nil", ctxSeen, slotCtx)
		}
	})
}

func TestPanicInTheFinalHandlerLeavesTheContextUsable(t *testing.T) {
	// A handler dispatched inline runs inside the operation's last step; if it panics, the panic
	// leaves Run as any handler's does, and must not leave the operation's work behind.
	cases := []struct {
		name  string
		inner int
		bind  bool
	}{
		{"completed in the first step", 0, false},
		{"completed in a later step", 1, false},
		{"completed in a later step, handler on a strand", 1, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			io := executor.NewIOContext()
			obj := newTestIO(io)
			var h completion.Handler[opResult] = completion.Callback(func(r opResult) { panic(spawnPanic{"handler", r.V}) })
			if c.bind {
				h = completion.Bind(executor.NewStrand(io), h)
			}
			var slot composed.Slot[opResult]
			n := 0
			composed.Start(io, h, func(op *composed.Op[opResult]) {
				if n < c.inner {
					n++
					obj.AsyncImmediate(n, composed.Into(op, &slot))
					return
				}
				op.Complete(opResult{V: 7})
			})
			if v := runRecovering(t, io); v != (spawnPanic{"handler", 7}) {
				t.Fatalf("Run panicked with %v, want the handler's panic", v)
			}
			io.Poll()
			if !io.Stopped() {
				t.Fatal("after the handler panicked the operation still holds work: Run would never return")
			}
		})
	}
}

func TestStartBodyPanicReleasesWork(t *testing.T) {
	ctx := executor.NewIOContext()
	completed := false
	composed.Start(ctx, completion.Callback(func(int) { completed = true }), func(op *composed.Op[int]) {
		panic("body failed")
	})
	func() {
		defer func() {
			if r := recover(); r != "body failed" {
				t.Fatalf("recovered %v", r)
			}
		}()
		ctx.Run()
	}()
	// The abandoned operation holds no work: Run returns instead of waiting for ever.
	done := make(chan int)
	go func() { done <- ctx.Run() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		ctx.Stop()
		<-done
		t.Fatal("Run waited for an operation whose body panicked")
	}
	if completed {
		t.Fatal("an abandoned operation completed")
	}
}

func TestSlotReadyTellsWhichInnerOperationResumed(t *testing.T) {
	ctx := executor.NewIOContext()
	io := newTestIO(ctx)
	type state struct{ fast, slow composed.Slot[opResult] }
	s := &state{}
	var order []string
	again := false
	composed.Start(ctx, completion.Callback(func(r opResult) { order = append(order, "done") }), func(op *composed.Op[opResult]) {
		if !op.Resumed() {
			io.AsyncImmediate(1, composed.Into(op, &s.fast))
			io.AsyncImmediate(2, composed.Into(op, &s.slow))
			return
		}
		switch {
		case again:
			order = append(order, "again")
			op.Complete(s.fast.Value)
		case s.fast.Ready() && s.slow.Ready():
			order = append(order, "both")
			v := s.fast.Value.V + s.slow.Value.V
			h := composed.Into(op, &s.fast)
			if s.fast.Ready() {
				t.Error("Into did not clear the slot for its next operation")
			}
			again = true
			io.AsyncImmediate(v, h)
		case s.fast.Ready():
			order = append(order, "fast")
		default:
			order = append(order, "slow only")
		}
	})
	ctx.Run()
	if diff := cmp.Diff([]string{"fast", "both", "again", "done"}, order); diff != "" {
		t.Fatalf("resumptions (-want +got):\n%s", diff)
	}
}

// invoke.Invoke (internal: beastgo's I/O objects call it), from a handler running on the step
// executor, resumes the body at once (a Slot skips its own check), and completes any other handler
// as Complete does.
func TestInvoke(t *testing.T) {
	ioc := executor.NewIOContext()
	var slot composed.Slot[int]
	var order []string
	composed.Start(ioc, completion.Callback(func(v int) { order = append(order, "handler") }), func(op *composed.Op[int]) {
		if op.Resumed() {
			order = append(order, "resumed")
			op.Complete(slot.Value)
			return
		}
		h := composed.Into(op, &slot)
		ioc.Post(func() {
			invoke.Invoke[int](h, 7)
			order = append(order, "Invoke returned")
		})
	})
	ioc.Run()
	if want := []string{"resumed", "handler", "Invoke returned"}; !cmp.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}

	got := 0
	invoke.Invoke(completion.Handler[int](completion.Callback(func(v int) { got = v })), 3)
	if got != 3 {
		t.Fatalf("a callback got %d from Invoke, want 3", got)
	}
}

// A body that completes in its first step and then panics: its result is delivered once, on the
// handler's executor, and the Op, completed, may be started again without a stale delivery
// entering the new run.
func TestBodyPanicAfterCompleteDeliversOnce(t *testing.T) {
	t.Run("restarted", func(t *testing.T) {
		ctx := executor.NewIOContext()
		io := newTestIO(ctx)
		slow := io.newPending()
		var op composed.Op[opResult]
		var slot composed.Slot[opResult]
		entered, delivered := 0, 0
		second := composed.BodyFunc[opResult](func(op *composed.Op[opResult]) {
			entered++
			if op.Resumed() {
				if !slot.Ready() {
					t.Errorf("the second run's body was resumed (entry %d) with its slot not ready", entered)
				}
				op.Complete(slot.Value)
				return
			}
			slow.Start(composed.Into(op, &slot))
		})
		first := composed.BodyFunc[opResult](func(op *composed.Op[opResult]) {
			op.Complete(opResult{V: 1})
			panic("after complete")
		})
		h2 := completion.Callback(func(opResult) { delivered++ })
		op.Start(ctx, completion.Callback(func(opResult) {
			delivered++
			op.Start(ctx, h2, second)
		}), first)
		if v := runRecovering(t, ctx); v != "after complete" {
			t.Fatalf("recovered %v", v)
		}
		ctx.Restart()
		go slow.Finish(5)
		ctx.Run()
		if entered != 2 || delivered != 2 {
			t.Fatalf("second body entered %d times, handlers called %d times; want 2 and 2", entered, delivered)
		}
	})
	t.Run("handler on another executor", func(t *testing.T) {
		ctx, hctx := executor.NewIOContext(), executor.NewIOContext()
		calls := 0
		onIO := false
		h := completion.Bind[opResult](hctx, completion.Callback(func(opResult) {
			calls++
			onIO = ctx.RunningInThisThread()
		}))
		composed.Start(ctx, h, func(op *composed.Op[opResult]) {
			op.Complete(opResult{V: 1})
			panic("after complete")
		})
		// The steps run on the handler's executor: the panic leaves its Run. The delivery is
		// posted through the I/O executor, which dispatches it to hctx.
		if v := runRecovering(t, hctx); v != "after complete" {
			t.Fatalf("recovered %v", v)
		}
		ctx.Run() // a second delivery would call the handler here, on the I/O executor
		hctx.Restart()
		hctx.Run()
		if calls != 1 || onIO {
			t.Fatalf("handler called %d times, on the I/O executor %v; want once, off it", calls, onIO)
		}
	})
}

// A body is a handler, and a handler may Poll its own context: an inner operation that lands
// meanwhile must not spin, re-posted for ever behind a body that is still running, and a result
// completed before the Poll must not be delivered inside it.
func TestBodyThatPollsItsExecutor(t *testing.T) {
	ctx := executor.NewIOContext()
	io := newTestIO(ctx)
	var slot composed.Slot[opResult]
	polled, delivered := 0, false
	f := completion.NewFuture[opResult]()
	var order []string
	composed.Start(ctx, completion.Callback(func(r opResult) {
		order = append(order, "handler")
		f.Complete(r)
	}), func(op *composed.Op[opResult]) {
		if op.Resumed() {
			op.Complete(slot.Value)
			polled += ctx.Poll() // the delivery must wait for the step's end
			order = append(order, "body returns")
			return
		}
		io.AsyncImmediate(4, composed.Into(op, &slot))
		watchdog := time.AfterFunc(5*time.Second, ctx.Stop)
		polled += ctx.Poll()
		watchdog.Stop()
	})
	ctx.Run()
	r, ok := f.Result()
	delivered = ok
	if !delivered || r.V != 4 {
		t.Fatalf("result %+v, delivered %v; want V 4", r, delivered)
	}
	if polled > 10 {
		t.Fatalf("the body's Polls ran %d handlers; a few were ready", polled)
	}
	if want := []string{"body returns", "handler"}; !cmp.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
}

// A handler whose context is already done needs a result that can carry the error. When it cannot,
// Start (and Spawn) panic before counting any work: the context's Run still returns, and the Op
// may be started again.
func TestCanceledStartWithAResultThatCannotFail(t *testing.T) {
	ctx := executor.NewIOContext()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	h := completion.WithContext(done, completion.Handler[int](completion.Detached[int]()))
	var op composed.Op[int]
	body := composed.BodyFunc[int](func(op *composed.Op[int]) { op.Complete(1) })
	mustPanic(t, "cannot carry the error", func() { op.Start(ctx, h, body) })
	mustPanic(t, "cannot carry the error", func() {
		composed.Spawn(ctx, h, func(*composed.Yield) int { return 1 })
	})
	returned := make(chan int, 1)
	go func() { returned <- ctx.Run() }()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		ctx.Stop()
		t.Fatal("Run waited for work that the refused operations counted")
	}
	ctx.Restart()
	got := 0
	op.Start(ctx, completion.Callback(func(v int) { got = v }), body)
	ctx.Run()
	if got != 1 {
		t.Fatalf("the Op started again delivered %d, want 1", got)
	}
}
