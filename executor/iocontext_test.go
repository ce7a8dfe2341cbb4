package executor_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beastgo/beast/executor"
	"github.com/google/go-cmp/cmp"
)

// log collects what handlers did, safely from any goroutine.
type log struct {
	mu  sync.Mutex
	got []string
}

func (l *log) add(s string) {
	l.mu.Lock()
	l.got = append(l.got, s)
	l.mu.Unlock()
}

func (l *log) entries() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

func (l *log) handler(s string) func() { return func() { l.add(s) } }

func expectLog(t *testing.T, l *log, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, l.entries()); diff != "" {
		t.Fatalf("handlers ran in the wrong order (-want +got):\n%s", diff)
	}
}

func TestIOContextRunsInFIFOOrder(t *testing.T) {
	ctx := executor.NewIOContext()
	var got []int
	const n = 10_000
	for i := range n {
		ctx.Post(func() { got = append(got, i) })
	}
	if ran := ctx.Run(); ran != n {
		t.Fatalf("Run returned %d, want %d", ran, n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("handler %d ran at position %d", v, i)
		}
	}
	if len(got) != n {
		t.Fatalf("ran %d handlers, want %d", len(got), n)
	}
}

func TestIOContextPostsFromHandlersKeepFIFOWithOutsidePosts(t *testing.T) {
	// A handler posted from inside a handler goes to the runner's private queue; it must still run
	// after a handler posted from outside that happened before it.
	ctx := executor.NewIOContext()
	l := &log{}
	outsidePosted := make(chan struct{})
	ctx.Post(func() {
		go func() {
			ctx.Post(l.handler("outside"))
			close(outsidePosted)
		}()
		<-outsidePosted
		ctx.Post(l.handler("inside"))
	})
	ctx.Run()
	expectLog(t, l, "outside", "inside")
}

func TestIOContextIdleRunReturnsAtOnceAndStops(t *testing.T) {
	ctx := executor.NewIOContext()
	if ran := ctx.Run(); ran != 0 {
		t.Fatalf("idle Run returned %d", ran)
	}
	if !ctx.Stopped() {
		t.Fatal("running out of work should stop the context")
	}
	ctx.Post(func() {})
	if ran := ctx.Run(); ran != 0 {
		t.Fatalf("Run on a stopped context ran %d handlers", ran)
	}
	ctx.Restart()
	if ran := ctx.Run(); ran != 1 {
		t.Fatalf("Run after Restart ran %d handlers, want 1", ran)
	}
}

func TestIOContextRunWaitsForWorkGuard(t *testing.T) {
	ctx := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ctx)
	returned := make(chan int)
	go func() { returned <- ctx.Run() }()

	// Run must not return while the guard is held, even with nothing queued...
	select {
	case n := <-returned:
		t.Fatalf("Run returned %d while a work guard was held", n)
	case <-time.After(50 * time.Millisecond):
	}
	// ...and must run what is posted meanwhile.
	ran := make(chan struct{})
	ctx.Post(func() { close(ran) })
	<-ran
	guard.Reset()
	if n := <-returned; n != 1 {
		t.Fatalf("Run returned %d, want 1", n)
	}
	if guard.OwnsWork() {
		t.Fatal("guard still owns work after Reset")
	}
}

func TestWorkGuardResetTwiceReleasesOnce(t *testing.T) {
	ctx := executor.NewIOContext()
	g1 := executor.MakeWorkGuard(ctx)
	g2 := executor.MakeWorkGuard(ctx)
	if g1.Executor() != executor.Executor(ctx) {
		t.Fatal("guard reports another executor")
	}
	g1.Reset()
	g1.Reset() // must not release g2's unit
	ctx.Post(func() {})
	if n := ctx.RunFor(20 * time.Millisecond); n != 1 {
		t.Fatalf("RunFor ran %d, want 1", n)
	}
	if ctx.Stopped() {
		t.Fatal("context stopped while g2 still holds work")
	}
	g2.Reset()
	if n := ctx.Run(); n != 0 || !ctx.Stopped() {
		t.Fatalf("Run after the last Reset: ran %d, stopped %v", n, ctx.Stopped())
	}
}

func TestIOContextStopReturnsEveryRunPromptly(t *testing.T) {
	ctx := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ctx)
	defer guard.Reset()
	const runners = 4
	var wg sync.WaitGroup
	for range runners {
		wg.Go(func() { ctx.Run() })
	}
	// Wait until every runner is inside Run.
	for !waitUntil(time.Second, func() bool { return allRunning(ctx, runners) }) {
		t.Fatal("runners did not start")
	}
	ctx.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run calls did not return after Stop")
	}
	if !ctx.Stopped() {
		t.Fatal("Stopped is false after Stop")
	}
}

// allRunning posts n handlers that each wait for the others, proving n runners are serving ctx.
func allRunning(ctx *executor.IOContext, n int) bool {
	var arrived atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		ctx.Post(func() {
			defer wg.Done()
			if arrived.Add(1) == int32(n) {
				close(release)
			}
			select {
			case <-release:
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
	wg.Wait()
	return arrived.Load() == int32(n) && isClosed(release)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
	}
	return false
}

func TestIOContextStopKeepsQueuedHandlers(t *testing.T) {
	ctx := executor.NewIOContext()
	l := &log{}
	ctx.Post(func() { l.add("a"); ctx.Stop() })
	ctx.Post(l.handler("b"))
	ctx.Post(l.handler("c"))
	if n := ctx.Run(); n != 1 {
		t.Fatalf("Run after Stop inside the first handler ran %d, want 1", n)
	}
	expectLog(t, l, "a")
	// Posted after Stop: queued behind b and c, run after Restart.
	ctx.Post(l.handler("d"))
	if n := ctx.Run(); n != 0 {
		t.Fatalf("Run on a stopped context ran %d", n)
	}
	ctx.Restart()
	if n := ctx.Run(); n != 3 {
		t.Fatalf("Run after Restart ran %d, want 3", n)
	}
	expectLog(t, l, "a", "b", "c", "d")
}

func TestIOContextStopKeepsPrivatelyPostedHandlers(t *testing.T) {
	ctx := executor.NewIOContext()
	l := &log{}
	ctx.Post(func() {
		ctx.Post(l.handler("posted inside"))
		ctx.Defer(l.handler("deferred inside"))
		ctx.Stop()
	})
	if n := ctx.Run(); n != 1 {
		t.Fatalf("ran %d, want 1", n)
	}
	ctx.Restart()
	if n := ctx.Run(); n != 2 {
		t.Fatalf("after Restart ran %d, want 2", n)
	}
	expectLog(t, l, "posted inside", "deferred inside")
}

func TestIOContextRunOnePollPollOneCounts(t *testing.T) {
	ctx := executor.NewIOContext()
	l := &log{}
	for _, s := range []string{"a", "b", "c", "d"} {
		ctx.Post(l.handler(s))
	}
	if n := ctx.RunOne(); n != 1 {
		t.Fatalf("RunOne = %d", n)
	}
	expectLog(t, l, "a")
	if n := ctx.PollOne(); n != 1 {
		t.Fatalf("PollOne = %d", n)
	}
	expectLog(t, l, "a", "b")
	ctx.Post(func() { ctx.Post(l.handler("posted by a polled handler")) })
	if n := ctx.Poll(); n != 4 {
		t.Fatalf("Poll = %d, want 4 (c, d, the poster and what it posted)", n)
	}
	expectLog(t, l, "a", "b", "c", "d", "posted by a polled handler")
	if !ctx.Stopped() {
		t.Fatal("a Poll that runs out of work should stop the context")
	}
	ctx.Restart()
	guard := executor.MakeWorkGuard(ctx)
	if n := ctx.Poll(); n != 0 {
		t.Fatalf("Poll with nothing ready = %d", n)
	}
	if n := ctx.PollOne(); n != 0 {
		t.Fatalf("PollOne with nothing ready = %d", n)
	}
	if ctx.Stopped() {
		t.Fatal("Poll stopped a context that still has work")
	}
	guard.Reset()
	if n := ctx.RunOne(); n != 0 || !ctx.Stopped() {
		t.Fatalf("RunOne out of work: %d, stopped %v", n, ctx.Stopped())
	}
}

func TestIOContextRunForAndRunUntilBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := executor.NewIOContext()
		guard := executor.MakeWorkGuard(ctx)
		start := time.Now()
		if n := ctx.RunFor(3 * time.Second); n != 0 {
			t.Fatalf("RunFor ran %d", n)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Fatalf("RunFor(3s) returned after %v", got)
		}
		// A handler posted by a timer during RunUntil runs, then RunUntil waits out its deadline.
		time.AfterFunc(time.Second, func() { ctx.Post(func() {}) })
		start = time.Now()
		if n := ctx.RunUntil(start.Add(2 * time.Second)); n != 1 {
			t.Fatalf("RunUntil ran %d, want 1", n)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Fatalf("RunUntil returned after %v", got)
		}
		// A deadline also bounds a context that never runs out of handlers.
		var f func()
		f = func() { time.Sleep(time.Millisecond); ctx.Post(f) }
		ctx.Post(f)
		start = time.Now()
		if n := ctx.RunFor(50 * time.Millisecond); n != 50 {
			t.Fatalf("RunFor over a busy chain ran %d, want 50", n)
		}
		guard.Reset()
		ctx.Stop()
	})
}

func TestIOContextDeferRunsAfterCurrentHandlerInOrder(t *testing.T) {
	ctx := executor.NewIOContext()
	l := &log{}
	ctx.Post(func() {
		ctx.Defer(l.handler("deferred 1"))
		ctx.Post(l.handler("posted"))
		ctx.Defer(l.handler("deferred 2"))
		l.add("handler returns")
	})
	ctx.Post(l.handler("queued before"))
	ctx.Run()
	expectLog(t, l, "handler returns", "queued before", "deferred 1", "posted", "deferred 2")
}

func TestIOContextDispatchInlineInsideQueuedOutside(t *testing.T) {
	ctx := executor.NewIOContext()
	l := &log{}
	ctx.Dispatch(l.handler("dispatched from outside"))
	if got := l.entries(); len(got) != 0 {
		t.Fatalf("Dispatch from outside Run ran at once: %v", got)
	}
	ctx.Post(func() {
		l.add("before")
		ctx.Dispatch(l.handler("dispatched inside"))
		l.add("after")
		if ctx.RunningInThisThread() != gidKnown() {
			t.Errorf("RunningInThisThread is %v inside a handler, want %v (goroutines known)", !gidKnown(), gidKnown())
		}
	})
	ctx.Run()
	want := []string{"dispatched from outside", "before", "dispatched inside", "after"}
	if !gidKnown() {
		want = []string{"dispatched from outside", "before", "after", "dispatched inside"}
	}
	expectLog(t, l, want...)
	if ctx.RunningInThisThread() {
		t.Fatal("RunningInThisThread is true outside Run")
	}
}

func TestIOContextDispatchFromAnotherGoroutineIsQueued(t *testing.T) {
	// The context is running a handler on another goroutine; Dispatch from this one must not run
	// inline, or it would run concurrently with that handler.
	ctx := executor.NewIOContext()
	inHandler, release := make(chan struct{}), make(chan struct{})
	ctx.Post(func() { close(inHandler); <-release })
	done := make(chan int)
	go func() { done <- ctx.Run() }()
	<-inHandler
	var ranHere atomic.Bool
	ctx.Dispatch(func() { ranHere.Store(true) })
	if ranHere.Load() {
		t.Fatal("Dispatch ran inline on a goroutine that is not running the context")
	}
	close(release)
	if n := <-done; n != 2 || !ranHere.Load() {
		t.Fatalf("Run ran %d, dispatched handler ran: %v", n, ranHere.Load())
	}
}

type boom struct{ n int }

func TestIOContextPanicPropagatesAndContextStaysUsable(t *testing.T) {
	ctx := executor.NewIOContext()
	l := &log{}
	ctx.Post(l.handler("a"))
	ctx.Post(func() {
		ctx.Post(l.handler("posted by the panicking handler"))
		panic(boom{7})
	})
	ctx.Post(l.handler("c"))
	func() {
		defer func() {
			if r := recover(); r != (boom{7}) {
				t.Fatalf("recovered %v, want the handler's panic value", r)
			}
		}()
		ctx.Run()
		t.Fatal("Run returned normally")
	}()
	expectLog(t, l, "a")
	if ctx.Stopped() {
		t.Fatal("a panic stopped the context")
	}
	// No Restart needed: Run continues with what is left, in order.
	if n := ctx.Run(); n != 2 {
		t.Fatalf("Run after the panic ran %d, want 2", n)
	}
	expectLog(t, l, "a", "c", "posted by the panicking handler")
	if !ctx.Stopped() {
		t.Fatal("context should be out of work and stopped")
	}
}

func TestIOContextManyRunnersRunEverythingOnce(t *testing.T) {
	ctx := executor.NewIOContext()
	const producers, perProducer = 8, 5000
	var ran atomic.Int64
	guard := executor.MakeWorkGuard(ctx)
	var runners sync.WaitGroup
	total := atomic.Int64{}
	for range 3 {
		runners.Go(func() { total.Add(int64(ctx.Run())) })
	}
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for i := range perProducer {
				if i%2 == 0 {
					ctx.Post(func() { ran.Add(1) })
				} else {
					ctx.Post(func() { ctx.Post(func() { ran.Add(1) }) })
				}
			}
		})
	}
	wg.Wait()
	guard.Reset()
	runners.Wait()
	want := int64(producers * perProducer)
	if ran.Load() != want {
		t.Fatalf("ran %d leaf handlers, want %d", ran.Load(), want)
	}
	if total.Load() != want+want/2 {
		t.Fatalf("Run calls counted %d handlers, want %d", total.Load(), want+want/2)
	}
}

func TestIOContextNestedPollSeesWhatTheHandlerPosted(t *testing.T) {
	ctx := executor.NewIOContext()
	l := &log{}
	ctx.Post(func() {
		ctx.Post(l.handler("posted by outer"))
		l.add("outer")
		if n := ctx.Poll(); n != 1 {
			t.Errorf("nested Poll ran %d, want 1", n)
		}
		l.add("after nested poll")
	})
	if n := ctx.Run(); n != 1 {
		t.Fatalf("Run counted %d, want 1 (the nested Poll counts the other)", n)
	}
	expectLog(t, l, "outer", "posted by outer", "after nested poll")
}

// Work counted and released by handlers, which a runner settles once per batch, keeps Run going
// exactly as work counted from outside does, whichever side starts and finishes it, and with
// two runners too.
func TestIOContextWorkCountedInsideHandlers(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d runners", runners), func(t *testing.T) {
			ctx := executor.NewIOContext()
			finish := make(chan struct{})
			var order []string
			var mu sync.Mutex
			note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
			ctx.Post(func() {
				ctx.OnWorkStarted() // inside a handler: Run must wait for it after this returns
				note("started")
				go func() {
					<-finish
					ctx.Post(func() {
						note("finished")
						ctx.OnWorkFinished()
					})
				}()
			})
			ctx.OnWorkStarted() // outside, finished inside a handler below
			ctx.Post(func() { ctx.OnWorkFinished() })
			var wg sync.WaitGroup
			returned := make(chan struct{})
			for range runners {
				wg.Go(func() { ctx.Run() })
			}
			go func() { wg.Wait(); close(returned) }()
			select {
			case <-returned:
				t.Fatal("Run returned while a handler's work was outstanding")
			case <-time.After(50 * time.Millisecond):
			}
			close(finish)
			select {
			case <-returned:
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return once the work was finished")
			}
			if !ctx.Stopped() {
				t.Fatal("the context ran out of work but is not stopped")
			}
			mu.Lock()
			defer mu.Unlock()
			if len(order) != 2 || order[1] != "finished" {
				t.Fatalf("order %q", order)
			}
		})
	}
}
