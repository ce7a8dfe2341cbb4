package executor_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/executor"
)

// bbOrder checks the strand's promise "if Post(a) happens before Post(b), a runs first, whichever
// goroutines call them and whether or not they run on the strand". Every submission takes a ticket
// under one mutex and submits while holding it, so the tickets' order is a happens-before order of
// the calls; the strand must run them in increasing ticket order, one at a time.
type bbOrder struct {
	t      *testing.T
	s      *executor.Strand
	inner  executor.Executor // the strand's inner executor, for handlers that run beside the strand
	mu     sync.Mutex
	next   int
	wg     sync.WaitGroup // every submitted handler and every helper goroutine
	last   int            // touched only on the strand
	bad    []string       // touched only on the strand
	ran    int            // touched only on the strand
	inside atomic.Int32
}

func bbNewOrder(t *testing.T, s *executor.Strand, inner executor.Executor) *bbOrder {
	return &bbOrder{t: t, s: s, inner: inner, last: -1}
}

// submit takes a ticket and submits a handler running body through how (Post, Defer or Dispatch
// of the strand) while holding the ticket lock.
func (o *bbOrder) submit(how func(func()), body func(n int)) {
	o.wg.Add(1)
	o.mu.Lock()
	n := o.next
	o.next++
	how(func() {
		if k := o.inside.Add(1); k != 1 {
			o.bad = append(o.bad, fmt.Sprintf("handler %d ran with %d handlers of the strand running", n, k))
		}
		if n <= o.last {
			if len(o.bad) < 10 {
				o.bad = append(o.bad, fmt.Sprintf("handler %d ran after handler %d", n, o.last))
			}
		} else {
			o.last = n
		}
		o.ran++
		if body != nil {
			body(n)
		}
		o.inside.Add(-1)
		o.wg.Done()
	})
	o.mu.Unlock()
}

func (o *bbOrder) post(body func(int))   { o.submit(o.s.Post, body) }
func (o *bbOrder) deferr(body func(int)) { o.submit(o.s.Defer, body) }

// body returns what a handler of the strand does, chosen by its ticket and depth: nothing, post or
// defer a child, or hand over to another goroutine (channel, WaitGroup, atomic, a synchronous
// round trip) that posts, or have a handler of the inner executor post or dispatch.
func (o *bbOrder) body(depth int) func(int) {
	if depth >= 3 {
		return nil
	}
	return func(n int) {
		next := o.body(depth + 1)
		switch n % 9 {
		case 1:
			o.post(next)
		case 2:
			o.deferr(next)
			o.post(next)
		case 3: // post a, then another goroutine posts b, racing the end of the turn: a then b
			o.post(nil)
			ch := make(chan struct{}, 1)
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				<-ch
				o.post(next)
			}()
			ch <- struct{}{}
		case 4: // post a, hand over through a WaitGroup to a goroutine that posts b
			o.post(nil)
			var hand sync.WaitGroup
			hand.Add(1)
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				hand.Wait()
				o.post(next)
			}()
			hand.Done()
		case 5: // post a, another goroutine posts b while the turn still runs, then post c
			o.post(nil)
			done := make(chan struct{})
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				o.post(nil)
				close(done)
			}()
			<-done
			o.post(next)
		case 6: // post a, publish through an atomic that another goroutine spins on, which posts b
			o.post(nil)
			var flag atomic.Bool
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				for !flag.Load() {
					runtimeGosched()
				}
				o.post(next)
			}()
			flag.Store(true)
		case 7: // wait for another goroutine's b, then post a: b then a
			done := make(chan struct{})
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				o.deferr(nil)
				close(done)
			}()
			<-done
			o.post(next)
		case 8: // a handler of the inner executor, not of the strand, submits (Dispatch included)
			o.wg.Add(1)
			o.inner.Post(func() {
				defer o.wg.Done()
				// Dispatch to an idle strand may run the strand's turn inside the call, with the
				// ticket lock held: the dispatched handler must not submit (it would wait for the
				// lock it holds).
				o.submit(o.s.Dispatch, nil)
				o.post(next)
			})
		}
	}
}

// drive runs posters outside goroutines that keep submitting (Post, Defer, and Dispatch, which
// queues from there) while the strand's handlers submit their own, then waits for all of it.
func (o *bbOrder) drive(posters, each int) {
	var start sync.WaitGroup
	start.Add(1)
	for p := range posters {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			start.Wait()
			for i := range each {
				switch (i + p) % 3 {
				case 0:
					o.post(o.body(0))
				case 1:
					o.submit(o.s.Dispatch, nil) // may run inline over System: see case 8
					o.post(o.body(1))
				case 2:
					o.deferr(o.body(2))
				}
			}
		}()
	}
	start.Done()
}

// finish waits for every handler and every helper goroutine, then reports.
func (o *bbOrder) finish() {
	defer func() { o.t.Logf("%d handlers", o.next) }()
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ran != o.next {
		o.t.Errorf("%d handlers submitted, %d ran", o.next, o.ran)
	}
	for _, b := range o.bad {
		o.t.Error(b)
	}
}

func runtimeGosched() { runtime.Gosched() }

func bbStrandOrderOnContext(t *testing.T, runners int, strandOfStrand bool) {
	ctx := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ctx)
	r := bbStartRunners(ctx, runners)
	var inner executor.Executor = ctx
	if strandOfStrand {
		inner = executor.NewStrand(ctx)
	}
	o := bbNewOrder(t, executor.NewStrand(inner), inner)
	o.drive(4, 400)
	o.finish()
	guard.Reset()
	r.wait()
	if n := r.panics.Load(); n != 0 {
		t.Errorf("%d panics", n)
	}
}

func TestBBStrandOrderIOContextOneRunner(t *testing.T)  { bbStrandOrderOnContext(t, 1, false) }
func TestBBStrandOrderIOContextTwoRunners(t *testing.T) { bbStrandOrderOnContext(t, 2, false) }
func TestBBStrandOrderIOContextFourRunners(t *testing.T) {
	bbStrandOrderOnContext(t, 4, false)
}
func TestBBStrandOrderStrandOfStrandThreeRunners(t *testing.T) { bbStrandOrderOnContext(t, 3, true) }
func TestBBStrandOrderStrandOfStrandOneRunner(t *testing.T)    { bbStrandOrderOnContext(t, 1, true) }

func TestBBStrandOrderThreadPool2(t *testing.T) {
	pool := executor.NewThreadPool(2)
	o := bbNewOrder(t, executor.NewStrand(pool.Executor()), pool.Executor())
	o.drive(4, 400)
	o.finish()
	pool.Join()
}

func TestBBStrandOrderStrandOfStrandOverThreadPool2(t *testing.T) {
	pool := executor.NewThreadPool(2)
	mid := executor.NewStrand(pool.Executor())
	o := bbNewOrder(t, executor.NewStrand(mid), mid)
	o.drive(4, 400)
	o.finish()
	pool.Join()
}

func TestBBStrandOrderOverSystem(t *testing.T) {
	o := bbNewOrder(t, executor.NewStrand(executor.System{}), executor.System{})
	o.drive(4, 300)
	o.finish()
}

// The outside posts race the end of a turn that posts to its own strand: a chain of handlers, each
// posting the next, while two goroutines post from outside with no pause. Every source's order must
// survive, and the chain must stay in order relative to posts that happened before its links.
func TestBBStrandOrderChainRacesOutsidePosts(t *testing.T) {
	for _, runners := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(runners), func(t *testing.T) {
			ctx := executor.NewIOContext()
			guard := executor.MakeWorkGuard(ctx)
			r := bbStartRunners(ctx, runners)
			s := executor.NewStrand(ctx)
			o := bbNewOrder(t, s, ctx)
			var link func(k int) func(int)
			link = func(k int) func(int) {
				if k == 0 {
					return nil
				}
				return func(int) { o.post(link(k - 1)) }
			}
			o.post(link(600))
			o.wg.Add(2)
			for range 2 {
				go func() {
					defer o.wg.Done()
					for range 400 {
						o.post(nil)
					}
				}()
			}
			o.finish()
			guard.Reset()
			r.wait()
		})
	}
}

// A handler of a strand posts a and then hands over to another goroutine, which posts b, while the
// turn is still running and nothing else was queued from outside (a sits on the turn's private
// list): a must run first. Then the same handler posts c, after b: order a, b, c.
func TestBBStrandPrivateListThenOutsidePostWhileTurnRuns(t *testing.T) {
	for _, runners := range []int{1, 2} {
		ctx := executor.NewIOContext()
		s := executor.NewStrand(ctx)
		var got []string
		for i := range 500 {
			s.Post(func() {
				s.Post(func() { got = append(got, fmt.Sprint("a", i)) })
				done := make(chan struct{})
				go func() {
					s.Post(func() { got = append(got, fmt.Sprint("b", i)) })
					close(done)
				}()
				<-done
				s.Post(func() { got = append(got, fmt.Sprint("c", i)) })
			})
		}
		r := bbStartRunners(ctx, runners)
		r.wait()
		want := make([]string, 0, 1500)
		for i := range 500 {
			want = append(want, fmt.Sprint("a", i), fmt.Sprint("b", i), fmt.Sprint("c", i))
		}
		// the handlers of iteration i run after those of iteration i-1 were posted, so the order
		// is by iteration: every triple's a, b, c in order, and triples in order only per letter.
		pos := map[string]int{}
		for k, g := range got {
			pos[g] = k
		}
		if len(got) != len(want) {
			t.Fatalf("runners %d: ran %d handlers, want %d", runners, len(got), len(want))
		}
		for i := range 500 {
			a, b, c := pos[fmt.Sprint("a", i)], pos[fmt.Sprint("b", i)], pos[fmt.Sprint("c", i)]
			if !(a < b && b < c) {
				t.Fatalf("runners %d, iteration %d: positions a %d, b %d, c %d; want a < b < c", runners, i, a, b, c)
			}
		}
	}
}
