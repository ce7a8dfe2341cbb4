package executor_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/executor"
)

func TestStrandExclusionAndOrderUnderThreadPool(t *testing.T) {
	pool := executor.NewThreadPool(4)
	defer pool.Join()
	const strands, producers, perProducer = 3, 6, 2000
	type state struct {
		s      *executor.Strand
		inside atomic.Int32
		last   []int // last sequence number seen per producer; touched only inside the strand
		ran    int
	}
	var all [strands]*state
	for i := range all {
		all[i] = &state{s: executor.NewStrand(pool.Executor()), last: make([]int, producers)}
		for p := range all[i].last {
			all[i].last[p] = -1
		}
	}
	var violations atomic.Int32
	var wg sync.WaitGroup
	var done sync.WaitGroup
	done.Add(producers * perProducer)
	for p := range producers {
		wg.Go(func() {
			for seq := range perProducer {
				st := all[(p+seq)%strands]
				post := st.s.Post
				if seq%3 == 1 {
					post = st.s.Dispatch
				} else if seq%3 == 2 {
					post = st.s.Defer
				}
				post(func() {
					defer done.Done()
					if st.inside.Add(1) != 1 {
						violations.Add(1)
					}
					if st.last[p] >= seq { // FIFO per producer
						violations.Add(1)
					}
					st.last[p] = seq
					st.ran++
					st.inside.Add(-1)
				})
			}
		})
	}
	wg.Wait()
	done.Wait()
	if v := violations.Load(); v != 0 {
		t.Fatalf("%d exclusion or order violations", v)
	}
	total := 0
	pool.Join() // orders the reads of st.ran after the strands' handlers
	for _, st := range all {
		total += st.ran
	}
	if total != producers*perProducer {
		t.Fatalf("strands ran %d handlers, want %d", total, producers*perProducer)
	}
}

func TestStrandDispatchInlineInsideQueuedOutside(t *testing.T) {
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	other := executor.NewStrand(ctx)
	l := &log{}
	s.Post(func() {
		if s.RunningInThisThread() != gidKnown() {
			t.Errorf("RunningInThisThread is %v inside the strand, want %v (goroutines known)", !gidKnown(), gidKnown())
		}
		if other.RunningInThisThread() {
			t.Error("another strand claims the caller")
		}
		l.add("before")
		s.Dispatch(l.handler("dispatched inside"))
		// other is idle and this goroutine runs its inner executor: Asio runs it inline too.
		other.Dispatch(l.handler("dispatched to another strand"))
		l.add("after")
	})
	ctx.Run()
	want := []string{"before", "dispatched inside", "dispatched to another strand", "after"}
	if !gidKnown() {
		want = []string{"before", "after", "dispatched to another strand", "dispatched inside"}
	}
	expectLog(t, l, want...)
	if s.RunningInThisThread() {
		t.Fatal("RunningInThisThread is true outside the strand")
	}
}

func TestStrandDispatchFromInnerExecutorRunsAtOnceWhenIdle(t *testing.T) {
	// Asio: dispatch to an idle strand from a handler of its inner executor runs inline.
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	l := &log{}
	ctx.Post(func() {
		l.add("before")
		s.Dispatch(l.handler("dispatched to idle strand"))
		l.add("after")
	})
	ctx.Run()
	want := []string{"before", "dispatched to idle strand", "after"}
	if !gidKnown() {
		want = []string{"before", "after", "dispatched to idle strand"}
	}
	expectLog(t, l, want...)
}

func TestStrandChainDoesNotStarveInnerExecutor(t *testing.T) {
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	l := &log{}
	links := 0
	var link func()
	link = func() {
		if links++; links < 5 {
			s.Post(link)
		}
		l.add("link")
	}
	s.Post(link)
	ctx.Post(l.handler("other"))
	ctx.Run()
	// The strand's second link runs in a later turn, after the handler queued on the context.
	got := l.entries()
	if len(got) != 6 || got[0] != "link" || got[1] != "other" {
		t.Fatalf("got %v, want the other handler right after the first link", got)
	}
}

func TestStrandOverStrandAndPanicKeepsStrandUsable(t *testing.T) {
	ctx := executor.NewIOContext()
	outer := executor.NewStrand(ctx)
	s := executor.NewStrand(outer)
	if s.Inner() != executor.Executor(outer) {
		t.Fatal("Inner does not return the inner executor")
	}
	l := &log{}
	s.Post(l.handler("a"))
	s.Post(func() {
		s.Post(l.handler("posted by the panicking handler"))
		panic("boom")
	})
	s.Post(l.handler("c"))
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Fatalf("recovered %v", r)
			}
		}()
		ctx.Run()
	}()
	if s.RunningInThisThread() || outer.RunningInThisThread() {
		t.Fatal("a strand still claims the goroutine after a panic")
	}
	ctx.Run()
	expectLog(t, l, "a", "c", "posted by the panicking handler")
	// The strand is idle and usable again.
	s.Post(l.handler("later"))
	ctx.Restart()
	ctx.Run()
	expectLog(t, l, "a", "c", "posted by the panicking handler", "later")
}

func TestStrandWorkCountsOnInner(t *testing.T) {
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	g := executor.MakeWorkGuard(s)
	ctx.Post(g.Reset) // the guard on the strand keeps ctx running until here
	if n := ctx.Run(); n != 1 || !ctx.Stopped() {
		t.Fatalf("ran %d, stopped %v", n, ctx.Stopped())
	}
}
