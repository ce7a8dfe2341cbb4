package executor_test

// Black-box tests of an IOContext run by several goroutines with an idle hook attached: the
// hook's wait is shared (one goroutine inside it at a time), and posts, Stop and the hook's own
// events meet runners entering and leaving it without a handler lost, run twice or left behind.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/executor"
)

// sharedHook is an IdleHook standing in for a reactor shared by several Run goroutines. Each
// blocking Wait posts one batch of events sent on events (a reactor's completions found by one
// epoll_wait), or returns on Wake or its timeout; a Wait that only polls posts a batch if one is
// ready. It records whether two goroutines were ever inside Wait at once.
type sharedHook struct {
	ctx     *executor.IOContext
	events  chan []func()
	wake    chan struct{}
	waiting chan struct{} // receives, when it has room, as a blocking Wait starts
	inside  atomic.Int32
	overlap atomic.Bool
}

func newSharedHook(ctx *executor.IOContext) *sharedHook {
	h := &sharedHook{ctx: ctx, events: make(chan []func(), 64), wake: make(chan struct{}, 1), waiting: make(chan struct{}, 1)}
	ctx.AttachIdleHook(func() executor.IdleHook { return h })
	return h
}

func (h *sharedHook) Wait(timeout time.Duration) {
	if h.inside.Add(1) > 1 {
		h.overlap.Store(true)
	}
	defer h.inside.Add(-1)
	if timeout == 0 {
		select {
		case batch := <-h.events:
			h.post(batch)
		default:
		}
		return
	}
	var expire <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expire = tm.C
	}
	select {
	case h.waiting <- struct{}{}:
	default:
	}
	select {
	case batch := <-h.events:
		h.post(batch)
	case <-h.wake:
	case <-expire:
	}
}

func (h *sharedHook) post(batch []func()) {
	for _, f := range batch {
		h.ctx.Post(f)
	}
}

func (h *sharedHook) Wake() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// runAll starts n goroutines in ctx.Run and returns a function that waits for them all.
func runAll(ctx *executor.IOContext, n int) (wait func()) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { ctx.Run() })
	}
	return wg.Wait
}

// waitWithin calls wait, failing the test if it does not return within a minute: a watchdog for a
// run call that never returns, not a measure of speed.
func waitWithin(t *testing.T, wait func(), what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: Run did not return", what)
	}
}

// onceCounter counts calls per index and remembers whether any index was called twice.
type onceCounter struct {
	ran   []atomic.Int32
	twice atomic.Bool
	done  sync.WaitGroup
}

func newOnceCounter(n int) *onceCounter {
	c := &onceCounter{ran: make([]atomic.Int32, n)}
	c.done.Add(n)
	return c
}

func (c *onceCounter) hit(i int) {
	if c.ran[i].Add(1) != 1 {
		c.twice.Store(true)
		return
	}
	c.done.Done()
}

// missing returns the indexes never called.
func (c *onceCounter) missing() []int {
	var m []int
	for i := range c.ran {
		if c.ran[i].Load() == 0 {
			m = append(m, i)
		}
	}
	return m
}

// waitDone waits for every index to have been called: a watchdog for a lost handler, which would
// otherwise hang the test. It reports false, after a minute, if some never were.
func (c *onceCounter) waitDone() bool {
	ok := make(chan struct{})
	go func() { c.done.Wait(); close(ok) }()
	select {
	case <-ok:
		return true
	case <-time.After(time.Minute):
		return false
	}
}

// With four Run goroutines and a reactor's completions arriving in batches of every size, only
// one goroutine is ever inside the hook's Wait, and every completion, and every handler a
// completion posts, runs exactly once; Run returns once the work guard is reset.
func TestBBRunnersShareOneHookWait(t *testing.T) {
	for _, hint := range []int{1, 4} {
		ctx := executor.NewIOContextConcurrency(hint)
		h := newSharedHook(ctx)
		guard := executor.MakeWorkGuard(ctx) // the reactor's pending operations
		const batches, most = 300, 9
		total := 0
		var sizes []int
		for i := range batches {
			n := 1 + i%most
			sizes = append(sizes, n)
			total += n
		}
		events, follow := newOnceCounter(total), newOnceCounter(total)
		wait := runAll(ctx, 4)
		next := 0
		for _, n := range sizes {
			batch := make([]func(), n)
			for j := range batch {
				i := next
				next++
				batch[j] = func() {
					events.hit(i)
					ctx.Post(func() { follow.hit(i) }) // a completion's handler starting the next operation
				}
			}
			h.events <- batch
		}
		if !events.waitDone() || !follow.waitDone() {
			t.Fatalf("hint %d: completions never run: %v; their posts never run: %v", hint, events.missing(), follow.missing())
		}
		guard.Reset()
		waitWithin(t, wait, "after the guard's reset")
		if events.twice.Load() || follow.twice.Load() {
			t.Errorf("hint %d: a handler ran twice", hint)
		}
		if h.overlap.Load() {
			t.Errorf("hint %d: two Run goroutines were inside the hook's Wait at once", hint)
		}
	}
}

// Posts from outside, each made only once the one before it has run, meet two Run goroutines
// entering and leaving the hook: before every other post the hook is given an event, so the post
// races a runner leaving the hook with it, and otherwise one runner waits in the hook and the other
// sleeps, and the post must wake one of them. Every post runs: none is lost between a runner's look
// at the queue and its wait, in the hook or asleep.
func TestBBPostRacingRunnersEnteringAndLeavingHook(t *testing.T) {
	ctx := executor.NewIOContext()
	h := newSharedHook(ctx)
	guard := executor.MakeWorkGuard(ctx)
	wait := runAll(ctx, 2)
	const posts = 2000
	c := newOnceCounter(posts)
	var events atomic.Int64
	for i := range posts {
		if i%2 == 0 {
			h.events <- []func(){func() { events.Add(1) }}
		}
		ran := make(chan struct{})
		ctx.Post(func() { c.hit(i); close(ran) })
		select {
		case <-ran:
		case <-time.After(time.Minute): // a watchdog for a lost wake-up, which would hang
			ctx.Stop()
			wait()
			t.Fatalf("post %d never ran", i)
		}
	}
	for events.Load() != posts/2 { // the last events may still be on their way
		ctx.Post(func() {})
		runtime.Gosched()
	}
	guard.Reset()
	waitWithin(t, wait, "after the guard's reset")
	if c.twice.Load() {
		t.Error("a posted handler ran twice")
	}
	if h.overlap.Load() {
		t.Error("two Run goroutines were inside the hook's Wait at once")
	}
}

// Stop while one Run goroutine waits in the hook and the other sleeps returns both run calls. A
// handler posted, and a batch the hook finds, around the Stop are neither run twice nor lost:
// whatever did not run before the Stop runs after Restart, in a new Run.
func TestBBStopWhileOneRunnerInHook(t *testing.T) {
	for round := range 20 {
		ctx := executor.NewIOContext()
		h := newSharedHook(ctx)
		guard := executor.MakeWorkGuard(ctx)
		wait := runAll(ctx, 2)
		<-h.waiting // one runner waits in the hook; the other sleeps, or is on its way to
		c := newOnceCounter(3)
		var stopped sync.WaitGroup
		stopped.Go(func() {
			if round%2 == 0 {
				ctx.Post(func() { c.hit(0) })
			}
			ctx.Stop()
		})
		h.events <- []func(){func() { c.hit(1) }, func() { c.hit(2) }}
		stopped.Wait()
		waitWithin(t, wait, "Stop") // both run calls return, the one in the hook included
		if !ctx.Stopped() {
			t.Fatalf("round %d: Stopped is false after Stop", round)
		}
		if round%2 != 0 {
			ctx.Post(func() { c.hit(0) }) // posted while stopped: queued, not run
		}
		// The batch may still be in the hook's channel if Stop came first: a new Run's wait
		// finds it. Then only the guard keeps Run alive, so reset it once all three have run.
		ctx.Restart()
		wait = runAll(ctx, 2)
		if !c.waitDone() {
			guard.Reset()
			ctx.Stop()
			wait()
			t.Fatalf("round %d: handlers never run after Restart: %v", round, c.missing())
		}
		guard.Reset()
		waitWithin(t, wait, "after the guard's reset")
		if c.twice.Load() {
			t.Fatalf("round %d: a handler ran twice", round)
		}
		if h.overlap.Load() {
			t.Fatalf("round %d: two Run goroutines were inside the hook's Wait at once", round)
		}
	}
}
