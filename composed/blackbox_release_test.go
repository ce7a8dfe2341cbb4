package composed_test

// Black-box tests of ReleasedBody and SkippedBody, written from go doc of composed only:
// Released comes once per run, before the handler, and the handler may start the same Op again;
// Skipped comes inside Start, and only when no step runs, when the handler's context is
// cancelled from another goroutine at random moments around Start.

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// bbReleased is a kept Op that is its own Body and is told when each run is over.
type bbReleased struct {
	op       composed.Op[bbRes]
	slot     composed.Slot[int]
	io       executor.Executor
	run      int  // the run in flight
	released int  // runs whose Released has been called
	inFlight bool // set by the initiating code, cleared by Released
	bad      []string
}

func (r *bbReleased) Step(op *composed.Op[bbRes]) {
	if !op.Resumed() {
		// The inner operation completes from another goroutine, so the resumption comes
		// through the executor's queue.
		s := composed.Into(op, &r.slot)
		n := r.run
		go s.Complete(n)
		return
	}
	op.Complete(bbRes{V: r.slot.Value})
}

func (r *bbReleased) Released() {
	if !r.inFlight {
		r.bad = append(r.bad, "Released called for a run not in flight")
	}
	r.inFlight = false
	r.released++
}

// "ReleasedBody is a Body told that its operation is over, just before its handler is called
// [...] so that the handler can start the next operation with the same memory." and Op.Start:
// "op must be new or done: its handler has been called (a handler may start op again itself)".
func TestBlackboxReleasedBeforeHandlerThatRestarts(t *testing.T) {
	ioc := executor.NewIOContext()
	r := &bbReleased{io: ioc.Executor()}
	const runs = 2000
	var handled int
	var h completion.Handler[bbRes]
	start := func() {
		r.run++
		r.inFlight = true
		r.op.Start(r.io, h, r)
	}
	h = completion.Callback(func(res bbRes) {
		handled++
		if res.Err != nil || res.V != r.run {
			r.bad = append(r.bad, "wrong result")
		}
		// Released has run for this run, and only once, before this handler.
		if r.released != r.run || r.inFlight {
			r.bad = append(r.bad, "handler before Released")
		}
		if r.run < runs {
			start()
		}
	})
	ioc.Post(start)
	ioc.Run()
	if len(r.bad) > 0 {
		t.Fatalf("%d problems, first: %s", len(r.bad), r.bad[0])
	}
	if handled != runs || r.released != runs {
		t.Fatalf("handled %d, released %d, want %d each", handled, r.released, runs)
	}
}

// The same chain on a pool of two goroutines with every handler bound to one strand: the handler
// runs on the strand, after Released, and restarts the Op from there.
func TestBlackboxReleasedRestartOnPoolStrand(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	st := executor.NewStrand(pool.Executor())
	r := &bbReleased{io: pool.Executor()}
	const runs = 1000
	var handled int
	done := make(chan struct{})
	var h completion.Handler[bbRes]
	start := func() {
		r.run++
		r.inFlight = true
		r.op.Start(r.io, h, r)
	}
	h = completion.Bind[bbRes](st, completion.Callback(func(res bbRes) {
		handled++
		if res.Err != nil || res.V != r.run {
			r.bad = append(r.bad, "wrong result")
		}
		if r.released != r.run || r.inFlight {
			r.bad = append(r.bad, "handler before Released")
		}
		if r.run < runs {
			start()
			return
		}
		close(done)
	}))
	st.Post(start)
	<-done
	if len(r.bad) > 0 {
		t.Fatalf("%d problems, first: %s", len(r.bad), r.bad[0])
	}
	if handled != runs || r.released != runs {
		t.Fatalf("handled %d, released %d, want %d each", handled, r.released, runs)
	}
}

// bbSkipped marks itself busy in its initiating code, as a stream's operation does; either its
// body runs (and clears the mark) or Skipped does.
type bbSkipped struct {
	op      composed.Op[bbRes]
	busy    atomic.Bool
	stepped atomic.Int32
	skipped atomic.Int32
	inStart atomic.Bool // true while the test goroutine is inside Start
	skipOut atomic.Int32
}

func (s *bbSkipped) Step(op *composed.Op[bbRes]) {
	s.stepped.Add(1)
	s.busy.Store(false)
	op.Complete(bbRes{V: 1, Err: op.Err()})
}

func (s *bbSkipped) Skipped() {
	if !s.inStart.Load() {
		s.skipOut.Add(1)
	}
	s.skipped.Add(1)
	s.busy.Store(false)
}

// "Skipped runs inside Start, before the handler is posted" when "the handler's context was
// already done when it started". A context cancelled from another goroutine while Start runs may
// be seen as done or not; either way exactly one of Skipped and the body runs, the busy mark is
// cleared before the handler, and the handler runs once, with the cancellation error when the
// body never ran.
func TestBlackboxSkippedRacingCancel(t *testing.T) {
	ioc := executor.NewIOContext()
	g := executor.MakeWorkGuard(ioc.Executor())
	var runWG sync.WaitGroup
	runWG.Add(1)
	go func() { defer runWG.Done(); ioc.Run() }()
	defer func() { g.Reset(); runWG.Wait() }()

	const iters = 3000
	var nSkipped, nStepped int
	for i := range iters {
		s := &bbSkipped{}
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan struct{})
		cancelled := make(chan struct{})
		go func() {
			<-ready
			for range i % 7 {
				runtime.Gosched()
			}
			cancel()
			close(cancelled)
		}()
		var calls atomic.Int32
		got := make(chan bbRes, 2)
		var busyAtHandler atomic.Bool
		h := completion.WithContext[bbRes](ctx, completion.Callback(func(res bbRes) {
			calls.Add(1)
			busyAtHandler.Store(s.busy.Load())
			got <- res
		}))
		s.busy.Store(true)
		close(ready)
		s.inStart.Store(true)
		s.op.Start(ioc.Executor(), h, s)
		s.inStart.Store(false)
		res := <-got
		<-cancelled
		// Let a second call, if any, arrive: a post behind the first handler has run when this
		// marker does.
		mark := make(chan struct{})
		ioc.Post(func() { close(mark) })
		<-mark
		if c := calls.Load(); c != 1 {
			t.Fatalf("iteration %d: handler called %d times", i, c)
		}
		sk, st := s.skipped.Load(), s.stepped.Load()
		if sk+st != 1 {
			t.Fatalf("iteration %d: Skipped %d times, body %d times; want one of them once", i, sk, st)
		}
		if s.skipOut.Load() != 0 {
			t.Fatalf("iteration %d: Skipped ran outside Start", i)
		}
		if busyAtHandler.Load() {
			t.Fatalf("iteration %d: the busy mark was still set when the handler ran", i)
		}
		if sk == 1 {
			nSkipped++
			if !errors.Is(res.Err, context.Canceled) {
				t.Fatalf("iteration %d: skipped, handler got %v, want context.Canceled", i, res.Err)
			}
		} else {
			nStepped++
			if res.V != 1 {
				t.Fatalf("iteration %d: body ran, handler got %+v", i, res)
			}
		}
	}
	t.Logf("skipped %d, stepped %d", nSkipped, nStepped)
}
