package composed_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

type spawnPanic struct {
	Msg  string
	Code int
}

// runRecovering runs io and returns what Run panicked with; it fails the test if Run returns.
func runRecovering(t *testing.T, io *executor.IOContext) (v any) {
	t.Helper()
	defer func() { v = recover() }()
	io.Run()
	t.Fatal("Run returned normally; want the body's panic")
	return nil
}

func TestSpawnPanicIsRaisedOutOfRun(t *testing.T) {
	cases := []struct {
		name   string
		awaits int
	}{
		{"in its first step", 0},
		{"after awaits", 3},
	}
	for _, tok := range tokens {
		for _, c := range cases {
			t.Run(tok.name+"/"+c.name, func(t *testing.T) {
				before := goleak.IgnoreCurrent()
				io := executor.NewIOContext()
				obj := newTestIO(io)
				h, p := tok.new(nil)
				composed.Spawn(io, h, func(y *composed.Yield) opResult {
					for i := range c.awaits {
						composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(i, h) })
					}
					panic(spawnPanic{"boom", c.awaits})
				})
				var otherRan bool
				io.Post(func() { otherRan = true })
				v := runRecovering(t, io)
				if diff := cmp.Diff(spawnPanic{"boom", c.awaits}, v); diff != "" {
					t.Fatalf("Run panicked with the wrong value (-want +got):\n%s", diff)
				}
				// The body's goroutine has ended.
				goleak.VerifyNone(t, before)
				expectNotDelivered(t, p, "after its body panicked")
				// As after any handler's panic, the context stays usable: what is left runs, and
				// once it is out of work it stops, so Run returns. An operation that kept its work
				// would make every later Run wait for ever.
				io.Poll()
				if !otherRan {
					t.Fatal("a handler queued before the panic did not run after it")
				}
				if !io.Stopped() {
					t.Fatal("after the body panicked its operation still holds work: Run would never return")
				}
				expectNotDelivered(t, p, "after its body panicked")
				if n := obj.pending.Load(); n != 0 {
					t.Fatalf("%d inner operations still pending", n)
				}
			})
		}
	}
}

func TestSpawnStartedInsideAHandlerRaisesItsFirstStepPanicOutOfRun(t *testing.T) {
	// Spawn from a handler of its executor runs the first step inside Spawn (Dispatch): the panic
	// then leaves through Spawn and the handler that called it, and so still out of Run.
	before := goleak.IgnoreCurrent()
	io := executor.NewIOContext()
	io.Post(func() {
		composed.Spawn(io, completion.Detached[opResult](), func(y *composed.Yield) opResult {
			panic(spawnPanic{"first", 1})
		})
	})
	v := runRecovering(t, io)
	if diff := cmp.Diff(spawnPanic{"first", 1}, v); diff != "" {
		t.Fatalf("Run panicked with the wrong value (-want +got):\n%s", diff)
	}
	goleak.VerifyNone(t, before)
	io.Poll()
	if !io.Stopped() {
		t.Fatal("after the body panicked its operation still holds work")
	}
}

func TestYieldAccessors(t *testing.T) {
	io := executor.NewIOContext()
	ctx := t.Context()
	f := completion.NewFuture[opResult]()
	var gotEx executor.Executor
	var gotCtx any
	var gotErr error
	composed.Spawn(io, completion.WithContext(ctx, completion.Handler[opResult](f)), func(y *composed.Yield) opResult {
		gotEx, gotCtx, gotErr = y.Executor(), y.Context(), y.Err()
		return opResult{}
	})
	io.Run()
	f.Wait()
	if gotEx != executor.Executor(io) || gotCtx != ctx || gotErr != nil {
		t.Fatalf("Yield: Executor %p, Context %v, Err %v; want %p, %v, nil", gotEx, gotCtx, gotErr, io, ctx)
	}
}

// runPanicValue runs io and returns what Run panicked with, nil if it returned.
func runPanicValue(io *executor.IOContext) (v any) {
	defer func() { v = recover() }()
	io.Run()
	return nil
}

// A body that calls runtime.Goexit ends the operation as a panic does, without one: Run returns
// once out of work, the handler is never called, the body's defers ran, and its coroutine has
// ended.
func TestSpawnBodyGoexitEndsTheOperationWithoutAPanic(t *testing.T) {
	for _, awaits := range []int{0, 3} {
		t.Run(fmt.Sprintf("after %d awaits", awaits), func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			io := executor.NewIOContext()
			obj := newTestIO(io)
			called, deferred := false, false
			io.Post(func() { // from a handler, so the first step runs inside Spawn
				composed.Spawn(io, completion.Callback(func(opResult) { called = true }), func(y *composed.Yield) opResult {
					defer func() { deferred = true }()
					for i := range awaits {
						composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(i, h) })
					}
					runtime.Goexit()
					return opResult{}
				})
			})
			if v := runPanicValue(io); v != nil {
				t.Fatalf("Run panicked with %v", v)
			}
			if called {
				t.Fatal("the handler was called")
			}
			if !deferred {
				t.Fatal("the body's defers did not run")
			}
			if !io.Stopped() {
				t.Fatal("Run returned without running out of work")
			}
			goleak.VerifyNone(t, before)
		})
	}
}
