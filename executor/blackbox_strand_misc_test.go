package executor_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/beastgo/beast/executor"
)

// "A panicking handler leaves the strand consistent: the rest of its turn runs in a new turn."
// Ten handlers in one turn, the fifth panics after the fourth posted one more from inside: Run,
// called again after the recover (no Restart), runs 6..10 and then the inside post, in order.
func TestBBStrandPanicMidTurnKeepsOrder(t *testing.T) {
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	var got []string
	for i := 1; i <= 10; i++ {
		s.Post(func() {
			got = append(got, fmt.Sprint(i))
			if i == 4 {
				s.Post(func() { got = append(got, "a") })
			}
			if i == 5 {
				panic("boom")
			}
		})
	}
	_, p, v := bbRunRecover(ctx.Run)
	if !p || v != "boom" {
		t.Fatalf("first Run: panicked %v with %v, want the handler's panic", p, v)
	}
	if want := []string{"1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
		t.Fatalf("before the panic left Run: %v, want %v", got, want)
	}
	// a post from outside after the panic goes behind everything posted before it
	s.Post(func() { got = append(got, "after") })
	_, p, v = bbRunRecover(ctx.Run)
	if p {
		t.Fatalf("second Run panicked: %v", v)
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "a", "after"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !ctx.Stopped() {
		t.Errorf("context not stopped after running out of work")
	}
}

// Panics on a strand over an IOContext run by several goroutines, each calling Run again after a
// recover: the strand's order and exclusion hold across them and every handler runs exactly once.
func TestBBStrandOrderWithPanicsSeveralRunners(t *testing.T) {
	for _, runners := range []int{1, 3} {
		t.Run(fmt.Sprint(runners), func(t *testing.T) {
			ctx := executor.NewIOContext()
			guard := executor.MakeWorkGuard(ctx)
			r := bbStartRunners(ctx, runners)
			s := executor.NewStrand(ctx)
			o := bbNewOrder(t, s, ctx)
			var panicking func(k int) func(int)
			panicking = func(k int) func(int) {
				return func(n int) {
					if k > 0 {
						o.post(panicking(k - 1))
						o.deferr(nil)
					}
					if n%7 == 3 {
						o.wg.Done() // submit's Done is skipped by the panic
						o.inside.Add(-1)
						panic(fmt.Sprint("handler ", n))
					}
				}
			}
			o.wg.Add(2)
			for range 2 {
				go func() {
					defer o.wg.Done()
					for range 200 {
						o.post(panicking(2))
					}
				}()
			}
			o.finish()
			guard.Reset()
			r.wait()
			if r.panics.Load() == 0 {
				t.Errorf("no handler panicked")
			}
		})
	}
}

// IOContext: "The handlers it had not run yet go back to the front of the queue, the work count
// stays right, and Run can be called again without Restart." Handler 3 posts p from inside; 5
// panics. The second Run runs 6..10 and then p, and returns how many it ran.
func TestBBIOContextPanicRequeuesRest(t *testing.T) {
	ctx := executor.NewIOContext()
	var got []string
	for i := 1; i <= 10; i++ {
		ctx.Post(func() {
			got = append(got, fmt.Sprint(i))
			if i == 3 {
				ctx.Post(func() { got = append(got, "p") })
			}
			if i == 5 {
				panic("boom")
			}
		})
	}
	if _, p, _ := bbRunRecover(ctx.Run); !p {
		t.Fatal("Run did not panic")
	}
	if ctx.Stopped() {
		t.Fatal("a panic stopped the context")
	}
	n, p, v := bbRunRecover(ctx.Run)
	if p {
		t.Fatalf("second Run panicked: %v", v)
	}
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "p"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if n != 6 {
		t.Errorf("second Run returned %d, want 6", n)
	}
	if !ctx.Stopped() {
		t.Errorf("not stopped after running out of work")
	}
	// the work count is right: an idle context returns 0 at once after Restart
	ctx.Restart()
	if n := ctx.Run(); n != 0 {
		t.Errorf("Run of an idle context returned %d", n)
	}
}

// Dispatch from inside a strand's handler runs inline on the calling goroutine (where goroutines
// are identified); under the fallback it posts, so it runs after the handler returns, still on the
// strand and in order behind what was queued before.
func TestBBStrandDispatchInsideInlineOrFallback(t *testing.T) {
	for _, runners := range []int{1, 3} {
		ctx := executor.NewIOContext()
		s := executor.NewStrand(ctx)
		var got []string
		s.Post(func() {
			me := bbGoid()
			got = append(got, fmt.Sprint("in-strand ", s.RunningInThisThread()))
			s.Post(func() { got = append(got, "posted") })
			s.Dispatch(func() {
				if bbGidKnown() {
					got = append(got, fmt.Sprint("dispatched same goroutine ", bbGoid() == me))
				} else {
					got = append(got, "dispatched")
				}
				s.Dispatch(func() { got = append(got, "nested") })
			})
			got = append(got, "returns")
		})
		r := bbStartRunners(ctx, runners)
		r.wait()
		var want []string
		if bbGidKnown() {
			want = []string{"in-strand true", "dispatched same goroutine true", "nested", "returns", "posted"}
		} else {
			want = []string{"in-strand false", "returns", "posted", "dispatched", "nested"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("runners %d: got %q, want %q", runners, got, want)
		}
	}
}

// Dispatch to an idle strand from a handler of its inner IOContext runs at once, as in Asio (where
// goroutines are identified); otherwise it posts. From a goroutine outside, Dispatch never runs f
// inside the call.
func TestBBStrandDispatchFromInnerHandler(t *testing.T) {
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	var got []string
	ctx.Post(func() {
		s.Dispatch(func() {
			got = append(got, fmt.Sprint("dispatched, in strand ", s.RunningInThisThread(), ", in ctx ", ctx.RunningInThisThread()))
		})
		got = append(got, "returns")
	})
	ctx.Run()
	var want []string
	if bbGidKnown() {
		want = []string{"dispatched, in strand true, in ctx true", "returns"}
	} else {
		want = []string{"returns", "dispatched, in strand false, in ctx false"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// While a strand's handler runs on one goroutine, Dispatch from another goroutine queues: it
// returns without running f, and f runs after the running handler, in order with other posts.
func TestBBStrandDispatchFromOutsideWhileBusyQueues(t *testing.T) {
	pool := executor.NewThreadPool(2)
	s := executor.NewStrand(pool.Executor())
	entered, release := make(chan struct{}), make(chan struct{})
	var got []string
	s.Post(func() {
		close(entered)
		<-release
		got = append(got, "first")
	})
	<-entered
	if s.RunningInThisThread() {
		t.Error("RunningInThisThread true outside the strand")
	}
	ran := make(chan struct{})
	for i := range 100 {
		s.Dispatch(func() { got = append(got, fmt.Sprint(i)) })
	}
	s.Dispatch(func() { close(ran) })
	select {
	case <-ran:
		t.Error("a Dispatch from outside ran while the strand was busy")
	default:
	}
	close(release)
	<-ran
	pool.Join()
	if len(got) != 101 || got[0] != "first" {
		t.Fatalf("got %v", got)
	}
	for i := range 100 {
		if got[i+1] != fmt.Sprint(i) {
			t.Fatalf("got %v", got)
		}
	}
}

// A strand of a strand: the outer strand's handlers run inside a turn of the inner one, so they
// run on the inner strand too: RunningInThisThread of both is true there (where goroutines are
// identified), and a Dispatch to the inner strand runs at once.
func TestBBStrandOfStrandRunningInThisThread(t *testing.T) {
	ctx := executor.NewIOContext()
	inner := executor.NewStrand(ctx)
	outer := executor.NewStrand(inner)
	var got []string
	outer.Post(func() {
		got = append(got, fmt.Sprint(outer.RunningInThisThread(), inner.RunningInThisThread(), ctx.RunningInThisThread()))
		inner.Dispatch(func() { got = append(got, "inner dispatch") })
		got = append(got, "returns")
	})
	ctx.Run()
	var want []string
	if bbGidKnown() {
		want = []string{"true true true", "inner dispatch", "returns"}
	} else {
		want = []string{"false false false", "returns", "inner dispatch"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Two strands over one pool run concurrently with each other: a handler of one, already running,
// waits for a handler of the other posted afterwards, which the pool's other goroutine must run.
func TestBBDistinctStrandsRunConcurrently(t *testing.T) {
	for range 50 {
		pool := executor.NewThreadPool(2)
		a, b := executor.NewStrand(pool.Executor()), executor.NewStrand(pool.Executor())
		var wg sync.WaitGroup
		wg.Add(2)
		met, started := make(chan struct{}), make(chan struct{})
		a.Post(func() { close(started); <-met; wg.Done() })
		<-started
		b.Post(func() { close(met); wg.Done() })
		wg.Wait()
		pool.Join()
	}
}

// Strand.Defer from inside a handler runs after the handler, in order with Post.
func TestBBStrandDeferIsAPost(t *testing.T) {
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	var got []int
	s.Post(func() {
		for i := range 6 {
			if i%2 == 0 {
				s.Defer(func() { got = append(got, i) })
			} else {
				s.Post(func() { got = append(got, i) })
			}
		}
		got = append(got, -1)
	})
	ctx.Run()
	if want := []int{-1, 0, 1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
