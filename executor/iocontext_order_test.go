package executor_test

import (
	"sync"
	"testing"

	"github.com/beastgo/beast/executor"
)

// runInBackground runs ctx on one goroutine, kept alive by a work guard, until the returned stop
// function is called; stop returns once Run has returned.
func runInBackground(ctx *executor.IOContext) (stop func()) {
	guard := executor.MakeWorkGuard(ctx)
	done := make(chan struct{})
	go func() {
		ctx.Run()
		close(done)
	}()
	return func() {
		guard.Reset()
		<-done
	}
}

// checkInOrder fails unless got is 0, 1, ..., n-1.
func checkInOrder(t *testing.T, got []int, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("ran %d handlers, want %d", len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("handler %d ran at position %d", v, i)
		}
	}
}

func TestIOContextOneRunGoroutineRunsOutsidePostsInTheirOrder(t *testing.T) {
	// Three goroutines take turns to post, each handing the turn to the next after its post, while
	// the context's one Run goroutine runs what they posted: every post happens before the next.
	ctx := executor.NewIOContext()
	stop := runInBackground(ctx)
	const n = 3000
	var got []int // appended to only by the Run goroutine
	var turns [3]chan int
	for i := range turns {
		turns[i] = make(chan int)
	}
	finished := make(chan struct{})
	var posters sync.WaitGroup
	for p := range turns {
		posters.Go(func() {
			for i := range turns[p] {
				ctx.Post(func() { got = append(got, i) })
				if i+1 == n {
					close(finished)
				} else {
					turns[(p+1)%len(turns)] <- i + 1
				}
			}
		})
	}
	turns[0] <- 0
	<-finished
	for _, c := range turns {
		close(c)
	}
	posters.Wait()
	stop() // Run drains the queue before it returns
	checkInOrder(t, got, n)
}

func TestIOContextOneRunGoroutineRunsHandlersPostsInTheirOrder(t *testing.T) {
	// Handlers post and defer from inside, in a tree; on one Run goroutine, every handler's
	// submissions run in the order they were made, and after those of the handlers that ran before.
	ctx := executor.NewIOContext()
	var got []int
	next := 0
	var spawn func(depth int) func()
	spawn = func(depth int) func() {
		id := next
		next++
		return func() {
			got = append(got, id)
			if depth == 0 {
				return
			}
			ctx.Post(spawn(depth - 1))
			ctx.Defer(spawn(depth - 1))
			ctx.Dispatch(func() {}) // runs inline where the goroutine is known, else is queued
		}
	}
	ctx.Post(spawn(8))
	ctx.Run()
	// Ids are given out in posting order, and that is the order of running.
	checkInOrder(t, got, next)
}

func TestIOContextHandlersPostRunsAfterEarlierOutsidePost(t *testing.T) {
	// b is posted from another goroutine while a handler runs, and the handler waits for that
	// post before it posts a: b happens before a, so b runs first.
	ctx := executor.NewIOContext()
	w := startWorker(t)
	l := &log{}
	ctx.Post(func() {
		w.call(func() { ctx.Post(l.handler("b (outside)")) })
		ctx.Post(l.handler("a (inside, after b)"))
	})
	ctx.Run()
	expectLog(t, l, "b (outside)", "a (inside, after b)")
}

func TestIOContextHandlersPostJoinsTheQueueWhenItsBatchEnds(t *testing.T) {
	// A handler posts a, then has another goroutine post b. a is on the Run goroutine's private
	// queue until the handler's batch ends, and then joins the shared queue behind b: an IOContext
	// does not order a handler's posts with the posts it causes elsewhere (a Strand does). Where
	// the goroutine cannot be identified, a handler's post is an ordinary post and keeps its place.
	ctx := executor.NewIOContext()
	w := startWorker(t)
	l := &log{}
	ctx.Post(func() {
		ctx.Post(l.handler("a (inside)"))
		w.call(func() { ctx.Post(l.handler("b (outside, after a)")) })
	})
	ctx.Run()
	if gidKnown() {
		expectLog(t, l, "b (outside, after a)", "a (inside)")
	} else {
		expectLog(t, l, "a (inside)", "b (outside, after a)")
	}
}
