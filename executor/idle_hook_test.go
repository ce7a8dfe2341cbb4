package executor_test

import (
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/executor"
)

// testPoller is an IdleHook standing in for a reactor: "events" sent on its channel are posted to
// the context from inside Wait, as a reactor posts completions.
type testPoller struct {
	ctx     *executor.IOContext
	events  chan func()
	wake    chan struct{}
	mu      sync.Mutex
	waits   int
	polls   int
	waiting chan struct{} // receives once each time a blocking Wait starts
}

func newTestPoller(ctx *executor.IOContext) *testPoller {
	return &testPoller{ctx: ctx, events: make(chan func(), 16), wake: make(chan struct{}, 1), waiting: make(chan struct{}, 16)}
}

func (p *testPoller) Wait(timeout time.Duration) {
	p.mu.Lock()
	if timeout == 0 {
		p.polls++
	} else {
		p.waits++
	}
	p.mu.Unlock()
	var expire <-chan time.Time
	switch {
	case timeout == 0:
		select {
		case f := <-p.events:
			p.ctx.Post(f)
		default:
		}
		return
	case timeout > 0:
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expire = tm.C
	}
	p.waiting <- struct{}{}
	select {
	case f := <-p.events:
		p.ctx.Post(f)
	case <-p.wake:
	case <-expire:
	}
}

func (p *testPoller) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func TestIdleHookServesRunAndPostWakesIt(t *testing.T) {
	ctx := executor.NewIOContext()
	p := newTestPoller(ctx)
	if got := ctx.AttachIdleHook(func() executor.IdleHook { return p }); got != p {
		t.Fatal("AttachIdleHook did not attach the hook")
	}
	if got := ctx.AttachIdleHook(func() executor.IdleHook { t.Fatal("second hook made"); return nil }); got != p {
		t.Fatal("AttachIdleHook replaced the hook")
	}
	guard := executor.MakeWorkGuard(ctx) // the reactor's pending operation
	runGoroutine := make(chan bool, 2)
	done := make(chan int)
	go func() { done <- ctx.Run() }()

	// An event found by the hook runs on the Run goroutine.
	<-p.waiting
	p.events <- func() { runGoroutine <- ctx.RunningInThisThread() }
	if inside := <-runGoroutine; gidKnown() && !inside {
		t.Fatal("the event's handler did not run on the Run goroutine")
	}
	// A post from another goroutine wakes the hook.
	<-p.waiting
	ran := make(chan struct{})
	ctx.Post(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("Post did not wake the goroutine waiting in the hook")
	}
	// Running out of work wakes it too, and Run returns.
	<-p.waiting
	guard.Reset()
	select {
	case n := <-done:
		if n != 2 {
			t.Fatalf("Run ran %d, want 2", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when out of work")
	}
}

func TestIdleHookPolledByPollAndBoundedByRunFor(t *testing.T) {
	ctx := executor.NewIOContext()
	p := newTestPoller(ctx)
	ctx.AttachIdleHook(func() executor.IdleHook { return p })
	guard := executor.MakeWorkGuard(ctx)
	defer guard.Reset()
	ran := false
	p.events <- func() { ran = true }
	if n := ctx.Poll(); n != 1 || !ran {
		t.Fatalf("Poll ran %d (event handler ran: %v), want the event found by a non-blocking poll", n, ran)
	}
	start := time.Now()
	if n := ctx.RunFor(30 * time.Millisecond); n != 0 {
		t.Fatalf("RunFor ran %d", n)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("RunFor returned before its deadline")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.polls == 0 || p.waits == 0 {
		t.Fatalf("hook polled %d and waited %d times; want both", p.polls, p.waits)
	}
}

// wakeCounter is a hook that posts one handler from inside Wait, as a reactor posts what it found,
// and counts the Wake calls it gets.
type wakeCounter struct {
	ctx   *executor.IOContext
	wakes int
	posts int
}

func (w *wakeCounter) Wait(time.Duration) {
	if w.posts < 3 {
		w.posts++
		w.ctx.Post(func() {})
	}
}

func (w *wakeCounter) Wake() { w.wakes++ }

func TestIdleHookOwnPostsDoNotWakeIt(t *testing.T) {
	ctx := executor.NewIOContext()
	w := &wakeCounter{ctx: ctx}
	ctx.AttachIdleHook(func() executor.IdleHook { return w })
	guard := executor.MakeWorkGuard(ctx)
	ctx.Post(func() {})
	for range 3 {
		ctx.RunOne() // the first runs the queued handler; the others wait in the hook, which posts
	}
	guard.Reset()
	// Where goroutines cannot be identified, the context cannot tell the hook's posts from
	// another goroutine's: each is an ordinary post and wakes the wait it was made in, once.
	wantWakes := w.posts
	if gidKnown() {
		wantWakes = 0
	}
	if w.posts != 2 || w.wakes != wantWakes {
		t.Fatalf("hook posted %d handlers and was woken %d times, want 2 and %d", w.posts, w.wakes, wantWakes)
	}
}

// panickyHook posts a handler from inside Wait and then panics, once.
type panickyHook struct {
	ctx      *executor.IOContext
	ran      bool
	panicked bool
}

func (p *panickyHook) Wait(time.Duration) {
	if !p.panicked {
		p.panicked = true
		p.ctx.Post(func() { p.ran = true })
		panic("hook failed")
	}
}

func (p *panickyHook) Wake() {}

// A panic in the hook's Wait leaves Run like a handler's panic: the context stays sound, what the
// hook posted before it panicked runs on the next Run, and that Run returns once out of work.
func TestIdleHookPanicLeavesTheContextSound(t *testing.T) {
	ctx := executor.NewIOContext()
	p := &panickyHook{ctx: ctx}
	ctx.AttachIdleHook(func() executor.IdleHook { return p })
	guard := executor.MakeWorkGuard(ctx)
	func() {
		defer func() {
			if r := recover(); r != "hook failed" {
				t.Fatalf("recovered %v, want the hook's panic", r)
			}
		}()
		ctx.Run()
	}()
	guard.Reset()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx.Restart()
		ctx.Run()
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run after the hook's panic did not return: work was left counted")
	}
	if !p.ran {
		t.Fatal("the handler the hook posted before panicking never ran")
	}
}

// TestIdleHookAttachedWhileRunSleeps: a hook attached while the Run goroutines sleep with nothing
// queued (kept in Run by a work guard) is waited in at once by one of them, as a reactor's first
// socket needs: nothing else would wake them until some handler is posted.
func TestIdleHookAttachedWhileRunSleeps(t *testing.T) {
	for _, runners := range []int{1, 2} {
		ctx := executor.NewIOContext()
		guard := executor.MakeWorkGuard(ctx)
		var wg sync.WaitGroup
		ran := make(chan struct{}, runners)
		for range runners {
			wg.Go(func() { ctx.Run() })
			ctx.Post(func() { ran <- struct{}{} })
		}
		for range runners {
			<-ran
		}
		// Give the runners time to go to sleep after their handlers; were one still awake, it
		// would find the hook anyway and the test would pass without testing the wake-up.
		time.Sleep(50 * time.Millisecond)
		p := newTestPoller(ctx)
		ctx.AttachIdleHook(func() executor.IdleHook { return p })
		select {
		case <-p.waiting:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d runners: no Run goroutine waits in a hook attached while they slept", runners)
		}
		got := make(chan struct{})
		p.events <- func() { close(got) }
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d runners: the hook's event was not run", runners)
		}
		guard.Reset()
		wg.Wait()
	}
}
