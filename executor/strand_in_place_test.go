package executor_test

// A strand over an IOContext runs its next turn in place when the context would run that turn
// next on the same goroutine anyway. These tests hold each condition of "anyway": a change that
// dropped one would let the chain run ahead of what the context owes someone else.

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/executor"
)

// strandChain returns a handler that, run on s, posts itself again until stop returns true,
// counting its runs in links.
func strandChain(s *executor.Strand, links *atomic.Int64, stop func() bool) func() {
	var link func()
	link = func() {
		links.Add(1)
		if !stop() {
			s.Post(link)
		}
	}
	return link
}

// A strand chain that never ends on its own still lets the idle hook (the reactor) be polled
// within the documented count of handlers, as a plain chain of the context does.
func TestStrandChainPollsIdleHook(t *testing.T) {
	ioc := executor.NewIOContext()
	hook := newBBPollHook(ioc)
	ioc.AttachIdleHook(func() executor.IdleHook { return hook })
	s := executor.NewStrand(ioc)
	for round := range 10 {
		var links atomic.Int64
		var armedAt, seenAt int64 = -1, -1
		stop := false
		link := strandChain(s, &links, func() bool {
			if n := links.Load(); n == int64(3000+round*97) {
				armedAt = n
				hook.arm(func() { seenAt = links.Load(); stop = true })
			}
			return stop || links.Load() > 5_000_000 // the bound is a liveness guard only
		})
		ioc.Restart()
		s.Post(link)
		ioc.Run()
		if seenAt < 0 {
			t.Fatalf("round %d: the armed event never ran in %d links", round, links.Load())
		}
		if d := seenAt - armedAt; d > bbPollBound {
			t.Fatalf("round %d: event delivered %d links after it was armed, want at most %d", round, d, bbPollBound)
		}
	}
}

// A handler posted to the context from another goroutine while a strand chain runs gets its turn
// within a few links, not only at the reactor's next look.
func TestStrandChainYieldsToOutsidePost(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	var links atomic.Int64
	var stopped atomic.Bool
	var postedAt, ranAt atomic.Int64
	link := strandChain(s, &links, func() bool { return stopped.Load() || links.Load() > 5_000_000 })
	s.Post(link)
	go func() {
		for links.Load() < 100 {
			time.Sleep(time.Millisecond)
		}
		ioc.Post(func() { ranAt.Store(links.Load()); stopped.Store(true) })
		postedAt.Store(links.Load())
	}()
	ioc.Run()
	if !stopped.Load() {
		t.Fatalf("the outside handler never ran in %d links", links.Load())
	}
	// The poster reads the count after its Post returns, so the difference counts at most the
	// links run after the post was visible.
	if d := ranAt.Load() - postedAt.Load(); d > 16 {
		t.Fatalf("the outside handler ran %d links after it was posted, want a few", d)
	}
}

// What a strand handler posts to the context runs before the strand's next turn, as when the turn
// was deferred behind it.
func TestStrandChainLetsItsContextPostsGoFirst(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	l := &log{}
	s.Post(func() {
		l.add("a")
		ioc.Post(l.handler("posted to the context"))
		s.Post(l.handler("b"))
	})
	ioc.Run()
	expectLog(t, l, "a", "posted to the context", "b")
}

// A turn that a handler of the context runs inline, through Dispatch, ends before that handler's
// code after the Dispatch runs: what the turn posted runs in a later turn.
func TestStrandDispatchedTurnDoesNotContinueInsideItsCaller(t *testing.T) {
	if !gidKnown() {
		t.Skip("Dispatch runs inline only where the goroutine can be identified")
	}
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	l := &log{}
	ioc.Post(func() {
		s.Dispatch(func() {
			l.add("dispatched")
			s.Post(l.handler("posted by it"))
		})
		l.add("after the Dispatch")
	})
	ioc.Run()
	expectLog(t, l, "dispatched", "after the Dispatch", "posted by it")
}

// RunOne runs one turn: a strand chain does not continue past it.
func TestStrandChainUnderRunOneRunsOneLinkPerCall(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	var links atomic.Int64
	s.Post(strandChain(s, &links, func() bool { return links.Load() >= 5 }))
	for i := int64(1); i <= 5; i++ {
		if n := ioc.RunOne(); n != 1 {
			t.Fatalf("RunOne %d returned %d", i, n)
		}
		if got := links.Load(); got != i {
			t.Fatalf("after RunOne %d the chain has run %d links", i, got)
		}
	}
	if n := ioc.RunOne(); n != 0 {
		t.Fatalf("RunOne after the chain returned %d", n)
	}
}

// Stop from a link ends Run before the next link; Restart and Run go on with it.
func TestStrandChainStopsWithTheContext(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	var links atomic.Int64
	s.Post(strandChain(s, &links, func() bool {
		if links.Load() == 3 {
			ioc.Stop()
		}
		return links.Load() >= 10
	}))
	ioc.Run()
	if got := links.Load(); got != 3 {
		t.Fatalf("Run returned after %d links, want 3", got)
	}
	ioc.Restart()
	ioc.Run()
	if got := links.Load(); got != 10 {
		t.Fatalf("the chain ran %d links in all, want 10", got)
	}
}

// A link that panics in a continued turn leaves the strand consistent: what it posted runs after,
// in order, once Run is called again.
func TestStrandChainPanicInContinuedTurn(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	l := &log{}
	s.Post(func() {
		l.add("a")
		s.Post(func() {
			l.add("b")
			s.Post(l.handler("c"))
			s.Post(l.handler("d"))
			panic("boom")
		})
	})
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		ioc.Run()
	}()
	if s.RunningInThisThread() {
		t.Fatal("the strand still claims the goroutine after a panic")
	}
	ioc.Run()
	expectLog(t, l, "a", "b", "c", "d")
}
