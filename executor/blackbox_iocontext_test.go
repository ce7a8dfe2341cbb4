package executor_test

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/executor"
)

// With one goroutine in the run calls, handlers posted from outside run in the order of the posts,
// whichever goroutines post: posts ticketed under one lock, from four goroutines, while Run runs.
func TestBBIOContextOneRunnerOutsidePostsInOrder(t *testing.T) {
	ctx := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ctx)
	r := bbStartRunners(ctx, 1)
	var mu sync.Mutex
	next, last, bad := 0, -1, 0
	var posters sync.WaitGroup
	for range 4 {
		posters.Go(func() {
			for range 500 {
				mu.Lock()
				n := next
				next++
				ctx.Post(func() {
					if n <= last {
						bad++
					}
					last = n
				})
				mu.Unlock()
			}
		})
	}
	posters.Wait()
	guard.Reset()
	r.wait()
	if bad != 0 || last != 1999 {
		t.Errorf("%d handlers out of order; last %d", bad, last)
	}
	if got := r.ran.Load(); got != 2000 {
		t.Errorf("Run returned %d, want 2000", got)
	}
}

// Handlers posted from its handlers run in the order they were posted, after everything posted
// from outside before them.
func TestBBIOContextOneRunnerInsidePostsAfterOutsideOnes(t *testing.T) {
	ctx := executor.NewIOContext()
	var got []string
	for i := range 5 {
		ctx.Post(func() {
			got = append(got, fmt.Sprint("o", i))
			for j := range 3 {
				if j%2 == 0 {
					ctx.Post(func() { got = append(got, fmt.Sprint("i", i, j)) })
				} else {
					ctx.Defer(func() { got = append(got, fmt.Sprint("i", i, j)) })
				}
			}
		})
	}
	if n := ctx.Run(); n != 20 {
		t.Errorf("Run returned %d, want 20", n)
	}
	want := []string{"o0", "o1", "o2", "o3", "o4"}
	for i := range 5 {
		for j := range 3 {
			want = append(want, fmt.Sprint("i", i, j))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// The documented weakness, deterministically: a handler posts a, then another goroutine posts b
// while the handler still runs. Where goroutines are identified, a stays on the Run goroutine's
// private queue and joins the shared queue behind b; under the fallback a handler's posts are
// ordinary posts, so a runs first. Either way both run, and a Strand keeps a before b.
func TestBBIOContextHandlerPostThenOtherGoroutinePost(t *testing.T) {
	ctx := executor.NewIOContext()
	var got []string
	ctx.Post(func() {
		ctx.Post(func() { got = append(got, "a") })
		done := make(chan struct{})
		go func() { ctx.Post(func() { got = append(got, "b") }); close(done) }()
		<-done
	})
	ctx.Run()
	want := []string{"b", "a"}
	if !bbGidKnown() {
		want = []string{"a", "b"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// An idle context's Run returns 0 at once and stops the context; later run calls return 0 at once
// until Restart, and a handler posted meanwhile runs after it.
func TestBBIOContextRunOutOfWorkThenRestart(t *testing.T) {
	ctx := executor.NewIOContext()
	if ctx.Stopped() {
		t.Fatal("a new context is stopped")
	}
	if n := ctx.Run(); n != 0 {
		t.Fatalf("idle Run returned %d", n)
	}
	if !ctx.Stopped() {
		t.Fatal("running out of work did not stop the context")
	}
	ran := 0
	ctx.Post(func() { ran++ })
	for _, run := range []func() int{ctx.Run, ctx.RunOne, ctx.Poll, ctx.PollOne} {
		if n := run(); n != 0 || ran != 0 {
			t.Fatalf("a run call of a stopped context ran %d (%d)", n, ran)
		}
	}
	ctx.Restart()
	if ctx.Stopped() {
		t.Fatal("stopped after Restart")
	}
	if n := ctx.Run(); n != 1 || ran != 1 {
		t.Fatalf("Run after Restart returned %d, ran %d", n, ran)
	}
}

// Restart after running out of work, with several goroutines in Run each round.
func TestBBIOContextRestartRoundsSeveralRunners(t *testing.T) {
	ctx := executor.NewIOContext()
	var ran atomic.Int64
	for round := range 50 {
		for range 20 {
			ctx.Post(func() { ran.Add(1) })
		}
		r := bbStartRunners(ctx, 3)
		r.wait()
		if got := r.ran.Load(); got != 20 {
			t.Fatalf("round %d: Run calls returned %d in all, want 20", round, got)
		}
		if !ctx.Stopped() {
			t.Fatalf("round %d: not stopped", round)
		}
		ctx.Restart()
	}
	if ran.Load() != 1000 {
		t.Fatalf("ran %d", ran.Load())
	}
}

// RunOne runs one handler at a time; Poll runs what is ready including what those post; PollOne at
// most one; none of them waits.
func TestBBIOContextRunOnePollPollOne(t *testing.T) {
	ctx := executor.NewIOContext()
	var got []int
	for i := range 3 {
		ctx.Post(func() { got = append(got, i) })
	}
	if n := ctx.RunOne(); n != 1 || !slices.Equal(got, []int{0}) {
		t.Fatalf("RunOne: %d, %v", n, got)
	}
	if n := ctx.PollOne(); n != 1 || !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("PollOne: %d, %v", n, got)
	}
	ctx.Post(func() {
		got = append(got, 3)
		ctx.Post(func() { got = append(got, 4) })
	})
	if n := ctx.Poll(); n != 3 || !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("Poll: %d, %v", n, got)
	}
	if n := ctx.Poll(); n != 0 {
		t.Fatalf("Poll of an empty context: %d", n)
	}
	ctx.Restart()
	g := executor.MakeWorkGuard(ctx)
	if n := ctx.PollOne(); n != 0 {
		t.Fatalf("PollOne with only a guard: %d", n)
	}
	if ctx.Stopped() {
		t.Fatal("a guarded context stopped in Poll")
	}
	g.Reset()
	if n := ctx.RunOne(); n != 0 || !ctx.Stopped() {
		t.Fatalf("RunOne of a context out of work: %d, stopped %v", n, ctx.Stopped())
	}
}

// Stop from a handler: Run returns once that handler returns; the rest stay queued, with what the
// handler posted, and run after Restart and a new Run.
func TestBBIOContextStopFromHandlerKeepsQueue(t *testing.T) {
	ctx := executor.NewIOContext()
	var got []string
	ctx.Post(func() {
		ctx.Post(func() { got = append(got, "posted by 1") })
		ctx.Stop()
		got = append(got, "1 after Stop")
	})
	ctx.Post(func() { got = append(got, "2") })
	if n := ctx.Run(); n != 1 {
		t.Fatalf("Run returned %d, want 1", n)
	}
	if !ctx.Stopped() {
		t.Fatal("not stopped")
	}
	if n := ctx.Run(); n != 0 {
		t.Fatalf("Run of a stopped context returned %d", n)
	}
	ctx.Restart()
	if n := ctx.Run(); n != 2 {
		t.Fatalf("Run after Restart returned %d, want 2", n)
	}
	if want := []string{"1 after Stop", "2", "posted by 1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Posts racing Stop, with three goroutines in Run: every handler runs exactly once over the two
// phases (before Stop, and after Restart), and Stop makes every Run return despite the work guard.
func TestBBIOContextPostsRacingStop(t *testing.T) {
	for round := range 30 {
		ctx := executor.NewIOContext()
		guard := executor.MakeWorkGuard(ctx)
		const total = 300
		var counts [total]atomic.Int32
		r := bbStartRunners(ctx, 3)
		var posters sync.WaitGroup
		for p := range 3 {
			posters.Go(func() {
				for i := p; i < total; i += 3 {
					ctx.Post(func() { counts[i].Add(1) })
				}
			})
		}
		if round%2 == 0 {
			runtime.Gosched()
		}
		ctx.Stop()
		r.wait() // every Run returns after Stop, guard or not
		posters.Wait()
		if !ctx.Stopped() {
			t.Fatal("not stopped")
		}
		ctx.Restart()
		guard.Reset()
		r2 := bbStartRunners(ctx, 2)
		r2.wait()
		if sum := r.ran.Load() + r2.ran.Load(); sum != total {
			t.Fatalf("round %d: Run calls returned %d in all, want %d", round, sum, total)
		}
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Fatalf("round %d: handler %d ran %d times", round, i, c)
			}
		}
	}
}

// A work guard keeps every Run goroutine waiting until Reset, from any goroutine; only the first
// Reset releases; OwnsWork and Executor say what the guard holds.
func TestBBWorkGuardSeveralRunners(t *testing.T) {
	ctx := executor.NewIOContext()
	g1 := executor.MakeWorkGuard(ctx)
	g2 := executor.MakeWorkGuard(ctx)
	if g1.Executor() != executor.Executor(ctx) || !g1.OwnsWork() {
		t.Fatal("guard does not own work on ctx")
	}
	r := bbStartRunners(ctx, 3)
	var ran atomic.Int64
	for i := range 300 {
		ctx.Post(func() {
			ran.Add(1)
			if i == 150 {
				g1.Reset() // from a handler; g2 still holds the context
			}
		})
	}
	// Run is alive after all that: a post from outside still runs.
	done := make(chan struct{})
	ctx.Post(func() { close(done) })
	<-done
	var resets sync.WaitGroup
	for range 4 {
		resets.Go(func() { g1.Reset() }) // already released: must not release g2's unit
	}
	resets.Wait()
	done2 := make(chan struct{})
	ctx.Post(func() { close(done2) })
	<-done2
	if ctx.Stopped() {
		t.Fatal("stopped while a guard holds work")
	}
	if g1.OwnsWork() || !g2.OwnsWork() {
		t.Fatalf("OwnsWork: g1 %v, g2 %v", g1.OwnsWork(), g2.OwnsWork())
	}
	for range 4 {
		resets.Go(func() { g2.Reset() })
	}
	resets.Wait()
	r.wait()
	if ran.Load() != 300 || r.ran.Load() != 302 {
		t.Fatalf("ran %d, Run calls returned %d", ran.Load(), r.ran.Load())
	}
}

// OnWorkStarted from outside keeps Run alive; OnWorkFinished, from a handler or from outside,
// lets it return when nothing else is left.
func TestBBIOContextCountedWork(t *testing.T) {
	for _, fromHandler := range []bool{false, true} {
		ctx := executor.NewIOContext()
		ctx.OnWorkStarted()
		r := bbStartRunners(ctx, 2)
		done := make(chan struct{})
		ctx.Post(func() { close(done) })
		<-done
		if fromHandler {
			ctx.Post(ctx.OnWorkFinished)
		} else {
			ctx.OnWorkFinished()
		}
		r.wait()
		if !ctx.Stopped() {
			t.Error("not stopped after the work was released")
		}
	}
}

// A handler may Poll its own context: what it posted is visible to the nested call.
func TestBBIOContextNestedPoll(t *testing.T) {
	ctx := executor.NewIOContext()
	var got []string
	ctx.Post(func() {
		ctx.Post(func() { got = append(got, "posted") })
		n := ctx.Poll()
		got = append(got, fmt.Sprint("poll ran ", n))
	})
	if n := ctx.Run(); n < 1 {
		t.Fatalf("Run returned %d", n)
	}
	if want := []string{"posted", "poll ran 1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// IOContext.Dispatch runs inline inside its handlers (where goroutines are identified), else
// posts; from a goroutine outside the run calls it posts even while another goroutine runs it.
func TestBBIOContextDispatchAndRunningInThisThread(t *testing.T) {
	ctx := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ctx)
	r := bbStartRunners(ctx, 2)
	if ctx.RunningInThisThread() {
		t.Error("RunningInThisThread true outside the run calls")
	}
	res := make(chan []string, 1)
	ctx.Post(func() {
		// Where goroutines are not identified, Dispatch posts, and the other Run goroutine may run
		// the dispatched handler while this one goes on: got is shared under a lock.
		var mu sync.Mutex
		var got []string
		add := func(s string) { mu.Lock(); got = append(got, s); mu.Unlock() }
		me := bbGoid()
		add(fmt.Sprint("in ", ctx.RunningInThisThread()))
		ctx.Dispatch(func() {
			add(fmt.Sprint("dispatched inline ", bbGoid() == me))
		})
		add("returns")
		snapshot := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(got) }
		if !bbGidKnown() {
			ctx.Post(func() { res <- snapshot() })
			return
		}
		res <- snapshot()
	})
	got := <-res
	var want []string
	if bbGidKnown() {
		want = []string{"in true", "dispatched inline true", "returns"}
	} else {
		want = []string{"in false", "returns"}
	}
	if !slices.Equal(got[:len(want)], want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// From outside: never inside the call, that is never on the calling goroutine, which is not a
	// Run goroutine. (The other Run goroutine is free and may run f before Dispatch returns.)
	hold, release := make(chan struct{}), make(chan struct{})
	ctx.Post(func() { close(hold); <-release })
	<-hold
	me := bbGoid()
	var ranOn atomic.Uint64
	fin := make(chan struct{})
	ctx.Dispatch(func() {
		ranOn.Store(bbGoid())
		close(fin)
	})
	close(release)
	<-fin
	guard.Reset()
	r.wait()
	if ranOn.Load() == me {
		t.Error("Dispatch from outside ran f inside the call")
	}
}

// Serial as Run goroutines come and go: true with none and with one, false while two are inside
// run calls, true again when one leaves.
func TestBBSerialAsRunnersComeAndGo(t *testing.T) {
	ctx := executor.NewIOContext()
	if !executor.Serial(ctx) {
		t.Fatal("a new context is not serial")
	}
	guard := executor.MakeWorkGuard(ctx)
	r := bbStartRunners(ctx, 1)
	inHandler := make(chan bool)
	ctx.Post(func() { inHandler <- executor.Serial(ctx) })
	if !<-inHandler {
		t.Fatal("not serial with one Run goroutine")
	}
	second := make(chan int)
	go func() { second <- ctx.RunOne() }()
	for executor.Serial(ctx) { // the second goroutine enters RunOne
		runtime.Gosched()
	}
	// feed handlers until the second goroutine has run one and left
	for left := false; !left; {
		ctx.Post(func() {})
		select {
		case n := <-second:
			if n != 1 {
				t.Errorf("RunOne returned %d", n)
			}
			left = true
		default:
			runtime.Gosched()
		}
	}
	ctx.Post(func() { inHandler <- executor.Serial(ctx) })
	if !<-inHandler {
		t.Error("not serial again once the second goroutine left")
	}
	guard.Reset()
	r.wait()
	if !executor.Serial(ctx) {
		t.Error("not serial with no Run goroutine")
	}
}

// NewIOContextConcurrency: a hint above one makes Serial false from the start and for good; one
// or less gives an ordinary context. The hint changes nothing else: many goroutines may run it.
func TestBBNewIOContextConcurrency(t *testing.T) {
	for _, hint := range []int{-1, 0, 1, 2, 8} {
		ctx := executor.NewIOContextConcurrency(hint)
		if ctx.Stopped() {
			t.Errorf("hint %d: stopped", hint)
		}
		if got, want := executor.Serial(ctx), hint <= 1; got != want {
			t.Errorf("hint %d: Serial %v before Run, want %v", hint, got, want)
		}
		var ran atomic.Int64
		for range 100 {
			ctx.Post(func() { ran.Add(1) })
		}
		serialIn := make(chan bool, 1)
		ctx.Post(func() { serialIn <- executor.Serial(ctx) })
		r := bbStartRunners(ctx, 3)
		r.wait()
		if ran.Load() != 100 || r.ran.Load() != 101 {
			t.Errorf("hint %d: ran %d", hint, ran.Load())
		}
		if got := <-serialIn; hint > 1 && got {
			t.Errorf("hint %d: Serial true in a handler", hint)
		}
		if got, want := executor.Serial(ctx), hint <= 1; got != want {
			t.Errorf("hint %d: Serial %v after Run, want %v", hint, got, want)
		}
	}
}
