package composed_test

// Tests of what a spawned body posts to its executor's IOContext: it is posted as by the handler
// whose step runs the body (the Run goroutine's private queue), so it keeps a handler's order, a
// Poll from the body sees it, and nothing of it is lost when the context stops or the body
// panics or exits.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/internal/lend"
	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

// A handler posts, then completes the body's inner operation on the executor, which resumes the
// body inside that handler; the body posts in turn. Both posts are the handler's, in the order
// they were made: an IOContext runs a handler's posts in the order they were posted.
func TestSpawnBodyPostsInTheOrderOfTheHandlerThatResumedIt(t *testing.T) {
	io := executor.NewIOContext()
	obj := newTestIO(io)
	pend := obj.newPending()
	var order []string
	composed.Spawn(io, completion.Callback(func(opResult) {}),
		func(y *composed.Yield) opResult {
			r := composed.Await(y, pend.Start)
			io.Post(func() { order = append(order, "posted by the body") })
			return r
		})
	io.Post(func() {
		io.Post(func() { order = append(order, "posted by the handler") })
		pend.Finish(1) // on the executor: the body resumes inside this handler (posted without gid)
	})
	io.Run()
	want := []string{"posted by the handler", "posted by the body"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Fatalf("order (-want +got):\n%s", diff)
	}
}

// A body may Poll its executor, as a handler may: the Poll runs what the body posted before it.
func TestSpawnBodyPollRunsWhatTheBodyPosted(t *testing.T) {
	io := executor.NewIOContext()
	obj := newTestIO(io)
	var ran, polled int
	composed.Spawn(io, completion.Callback(func(opResult) {}), func(y *composed.Yield) opResult {
		composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(1, h) })
		io.Post(func() { ran++ })
		polled = io.Poll()
		return opResult{}
	})
	io.Run()
	if ran != 1 || polled < 1 {
		t.Fatalf("the body's Poll ran %d handlers, the body's post ran %d times; want at least 1 and 1", polled, ran)
	}
}

// What a body posted before its context stopped, or before it panicked, stays queued and runs on
// the next run call, as a handler's posts do; after runtime.Goexit, Run goes on and runs it.
func TestSpawnBodyPostsSurviveStopPanicAndGoexit(t *testing.T) {
	for _, end := range []string{"Stop", "panic", "Goexit"} {
		t.Run(end, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			io := executor.NewIOContext()
			obj := newTestIO(io)
			ran, delivered := 0, false
			composed.Spawn(io, completion.Callback(func(opResult) { delivered = true }), func(y *composed.Yield) opResult {
				composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(1, h) })
				io.Post(func() { ran++ })
				switch end {
				case "Stop":
					io.Stop()
				case "panic":
					panic(spawnPanic{"after a post", 1})
				case "Goexit":
					runtime.Goexit()
				}
				return opResult{}
			})
			v := runPanicValue(io)
			if (v != nil) != (end == "panic") {
				t.Fatalf("Run panicked with %v", v)
			}
			if want := b2i(end == "Goexit"); ran != want { // Run goes on after a Goexit
				t.Fatalf("the body's post ran %d times before the next run call, want %d", ran, want)
			}
			io.Restart()
			io.Run()
			if ran != 1 {
				t.Fatalf("the body's post ran %d times, want 1", ran)
			}
			if delivered != (end == "Stop") {
				t.Fatalf("the handler was called: %v, want %v", delivered, end == "Stop")
			}
			goleak.VerifyNone(t, before)
		})
	}
}

// Bodies on strands over a pool of two goroutines, resumed by either goroutine (their inner
// operations complete on the strand, on the pool, and from goroutines outside it), post to the
// pool while other goroutines post to it from outside and new goroutines come and go. Every post
// runs once: a post that reached the private queue of a Run goroutine other than the one running
// the body would be lost while that goroutine sleeps, or reported by the race detector while it
// runs. One operation at a time, a body's coroutine is the last one a Run goroutine ran when the
// other one resumes it.
func TestSpawnBodyPostsOnAPoolFromEitherRunGoroutine(t *testing.T) {
	for _, c := range []struct {
		name    string
		atOnce  int
		ops     int
		strands int
	}{{"one at a time", 1, 60, 1}, {"several at once", 24, 120, 3}} {
		t.Run(c.name, func(t *testing.T) {
			pool := executor.NewThreadPool(2)
			defer pool.Join()
			px := pool.Executor()
			f := newBBForeign(2)
			defer f.close()
			var strands []*executor.Strand
			for range c.strands {
				strands = append(strands, executor.NewStrand(px))
			}
			outside := make(chan struct{})
			var outsiders sync.WaitGroup
			for range 2 {
				outsiders.Go(func() {
					for {
						select {
						case <-outside:
							return
						default:
						}
						done := make(chan struct{})
						go func() { px.Post(func() {}); close(done) }() // a new goroutine each time
						<-done
					}
				})
			}
			const awaits = 8
			var bodyPosts atomic.Int64
			slots := make(chan struct{}, c.atOnce)
			var wg sync.WaitGroup
			for i := range c.ops {
				slots <- struct{}{}
				wg.Add(1)
				s := strands[i%len(strands)]
				composed.Spawn(s, completion.Callback(func(r bbRes) {
					if r.V != awaits {
						t.Errorf("operation %d: result %+v, want %d", i, r, awaits)
					}
					<-slots
					wg.Done()
				}), func(y *composed.Yield) bbRes {
					v := 0
					for k := range awaits {
						px.Post(func() { bodyPosts.Add(1) })
						v += composed.Await(y, func(h completion.Handler[bbRes]) { bbInner(i+k, px, f, 1, h) }).V
					}
					return bbRes{V: v}
				})
			}
			ch := make(chan struct{})
			go func() { wg.Wait(); close(ch) }()
			bbWait(t, ch, "the spawned operations")
			close(outside)
			outsiders.Wait()
			pool.Join() // runs every handler queued, then returns
			if got, want := bodyPosts.Load(), int64(c.ops*awaits); got != want {
				t.Fatalf("the bodies' posts ran %d times, want %d", got, want)
			}
		})
	}
}

// A body names its coroutine in the seat of the Run goroutine that resumes it, and must let go of
// it before the coroutine ends: a goroutine made later may be given the ended one's identifier,
// and would then post into that Run goroutine's private queue while it runs. The body ends in the
// first step, which runs inside Spawn, called from a handler; the Run goroutine goes on after the
// body returns, after it calls runtime.Goexit, and after its panic, which that handler recovers.
// Its seat must be empty each time.
func TestSpawnBodyLetsGoOfItsSeatWhenItEnds(t *testing.T) {
	if !gid.Known {
		// No seat, and Spawn from a handler posts its first step: nothing here to let go of.
		io := executor.NewIOContext()
		var seat *lend.Seat
		io.Post(func() { seat = lend.Of(io) })
		io.Run()
		if seat != nil {
			t.Fatal("a seat where goroutines cannot be told apart")
		}
		return
	}
	for _, end := range []string{"return", "Goexit", "panic"} {
		t.Run(end, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			io := executor.NewIOContext()
			var after uintptr
			var seatInBody bool
			check := func() {
				if s := lend.Of(io); s != nil {
					after = s.Holder()
				}
			}
			io.Post(func() {
				defer func() {
					if v := recover(); v != nil && end != "panic" {
						panic(v)
					}
					io.Post(check)
				}()
				composed.Spawn(io, completion.Callback(func(opResult) {}), func(y *composed.Yield) opResult {
					s := lend.Of(io) // nil: the body is not a Run goroutine
					seatInBody = s != nil
					switch end {
					case "Goexit":
						io.Post(check) // runs after the step that ran the Goexit
						runtime.Goexit()
					case "panic":
						panic(spawnPanic{"seat", 3})
					}
					return opResult{}
				})
			})
			io.Run()
			if seatInBody {
				t.Error("the body found a seat of its own")
			}
			if after != 0 {
				t.Errorf("the Run goroutine's seat names goroutine %#x after the body ended, want none", after)
			}
			goleak.VerifyNone(t, before)
		})
	}
}

// While the body runs, the seat of the Run goroutine that resumed it names the body's goroutine.
func TestSpawnBodyHoldsTheSeatOfTheRunGoroutineThatResumedIt(t *testing.T) {
	io := executor.NewIOContext()
	obj := newTestIO(io)
	var seat *lend.Seat
	var holder, body uintptr
	composed.Spawn(io, completion.Callback(func(opResult) {}), func(y *composed.Yield) opResult {
		composed.Await(y, func(h completion.Handler[opResult]) { obj.AsyncImmediate(1, h) })
		if seat != nil {
			holder = seat.Holder()
		}
		body = gid.Current()
		return opResult{}
	})
	io.Post(func() { seat = lend.Of(io) }) // runs before the first step: the same Run goroutine
	io.Run()
	if !gid.Known {
		if seat != nil {
			t.Fatal("a seat where goroutines cannot be told apart")
		}
		return
	}
	if seat == nil || holder != body || body == 0 {
		t.Fatalf("the seat names %#x while the body (%#x) runs; want the body", holder, body)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
