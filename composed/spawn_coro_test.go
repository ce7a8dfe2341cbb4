package composed_test

// Tests of what running a spawned body on a coroutine must keep: no goroutine left behind, awaits
// that allocate nothing, a body's defers that await while it unwinds, Await refused outside the
// body, and a Run goroutine locked to its thread. (The body's panic and Goexit: spawn_test.go.)

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/benchcases"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestSpawnLeavesNoGoroutineOnceItsHandlerRan(t *testing.T) {
	before := goleak.IgnoreCurrent()
	io := executor.NewIOContext()
	obj := newTestIO(io)
	got := 0
	composed.Spawn(io, completion.Callback(func(r opResult) { got = r.V }), func(y *composed.Yield) opResult {
		v := 0
		for i := range 5 {
			v += composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(i, h) }).V
		}
		return opResult{V: v}
	})
	io.Run()
	if got != 0+1+2+3+4 {
		t.Fatalf("handler got %d, want 10", got)
	}
	goleak.VerifyNone(t, before)
}

// A handler whose context is already done gets the error without the body running; nothing is
// made for the body either, so nothing is left to end.
func TestSpawnWithAContextAlreadyDoneMakesNoCoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	io := executor.NewIOContext()
	var got opResult
	inIOHandler(io, func() {
		composed.Spawn(io, completion.WithContext(doneContext(), completion.Callback(func(r opResult) { got = r })),
			func(y *composed.Yield) opResult {
				t.Error("the body ran")
				return opResult{}
			})
		goleak.VerifyNone(t, before) // the delivery is posted; no coroutine waits for a step
	})
	if !errors.Is(got.Err, completion.ErrOperationAborted) {
		t.Fatalf("handler got %+v, want the cancellation error", got)
	}
}

// A body's defers run in its steps, so one may await while the body unwinds (closing what it
// opened, say): the panic, or the Goexit, goes on once the deferred await is done.
func TestSpawnDeferredAwaitWhileTheBodyUnwinds(t *testing.T) {
	for _, end := range []string{"panic", "Goexit"} {
		t.Run(end, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			io := executor.NewIOContext()
			obj := newTestIO(io)
			var cleanup []int
			composed.Spawn(io, completion.Callback(func(opResult) { t.Error("the handler was called") }),
				func(y *composed.Yield) opResult {
					defer func() {
						for i := range 2 {
							r := composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(40+i, h) })
							cleanup = append(cleanup, r.V)
						}
					}()
					composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(1, h) })
					if end == "panic" {
						panic(spawnPanic{"unwinding", 2})
					}
					runtime.Goexit()
					return opResult{}
				})
			v := runPanicValue(io)
			var want any
			if end == "panic" {
				want = spawnPanic{"unwinding", 2}
			}
			if diff := cmp.Diff(want, v); diff != "" {
				t.Errorf("Run's panic (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int{40, 41}, cleanup); diff != "" {
				t.Errorf("the deferred awaits' results (-want +got):\n%s", diff)
			}
			io.Poll()
			if !io.Stopped() {
				t.Fatal("the operation still holds work")
			}
			if n := obj.pending.Load(); n != 0 {
				t.Fatalf("%d inner operations still pending", n)
			}
			goleak.VerifyNone(t, before)
		})
	}
}

func TestAwaitOutsideItsBodyPanics(t *testing.T) {
	io := executor.NewIOContext()
	obj := newTestIO(io)
	var escaped *composed.Yield
	await := func(when string) {
		t.Helper()
		v := bbPanic(func() {
			composed.Await(escaped, func(h completion.Handler[opResult]) {
				t.Errorf("%s: the inner operation started", when)
				obj.AsyncImmediate(0, h)
			})
		})
		if s, _ := v.(string); !strings.Contains(s, "outside its spawned body") {
			t.Errorf("%s: Await panicked with %v, want a panic naming the misuse", when, v)
		}
	}
	pend := obj.newPending()
	var got opResult
	composed.Spawn(io, completion.Callback(func(r opResult) {
		got = r
		await("from the handler, after the body returned")
	}), func(y *composed.Yield) opResult {
		escaped = y
		return composed.Await(y, pend.Start)
	})
	io.Post(func() {
		// A handler of the executor, serialised with the steps: the body is suspended.
		await("from another handler while the body awaits")
		pend.Finish(7)
	})
	io.Run()
	if got.V != 7 {
		t.Fatalf("handler got %+v, want 7", got)
	}
}

// Spawn's doc: a Run goroutine that stays locked to its thread may run a spawned body, the
// coroutine being made by its first step there.
func TestSpawnOnARunGoroutineLockedToItsThread(t *testing.T) {
	done := make(chan [2]int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		io := executor.NewIOContext()
		obj := newTestIO(io)
		var got [2]int
		spawn := func(i int) {
			composed.Spawn(io, completion.Callback(func(r opResult) { got[i] = r.V }), func(y *composed.Yield) opResult {
				v := 0
				for k := range 4 {
					v += composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(k, h) }).V
				}
				return opResult{V: v}
			})
		}
		spawn(0)                     // from outside Run: the first step is posted
		io.Post(func() { spawn(1) }) // from a handler: the first step runs inside Spawn
		io.Run()
		done <- got
	}()
	if got := <-done; got != [2]int{6, 6} {
		t.Fatalf("results %v, want [6 6]", got)
	}
}

// spawnAllocs returns the allocations of a spawned operation of n awaits on t, started from
// outside Run and run to completion, Run's own included.
func spawnAllocs(ioc *executor.IOContext, t *benchcases.Ticker, n int) float64 {
	h := completion.Callback(func(int) {})
	return testing.AllocsPerRun(50, func() {
		benchcases.AsyncSpawnChain(t, n, h)
		ioc.Run()
		ioc.Restart()
	})
}

// Await's doc: an await allocates nothing when the body's last await had the same type.
func TestSpawnAwaitsAllocateNothing(t *testing.T) {
	ioc := executor.NewIOContext()
	ticker := benchcases.NewTicker(ioc)
	few, many := spawnAllocs(ioc, ticker, 1), spawnAllocs(ioc, ticker, 1001)
	if many != few && !raceEnabled {
		t.Fatalf("a spawned operation allocates %v times with 1 await and %v with 1001: awaits allocate", few, many)
	}
}
