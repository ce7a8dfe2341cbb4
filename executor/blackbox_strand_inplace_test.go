package executor_test

// Black-box tests, written from docs/executors.md and go doc of executor only, of two promises
// that the latest changes to the run loop must keep:
//
//   - a Strand over an IOContext runs its next turn in place when the context would run that turn
//     next on the same goroutine anyway: order, exclusion, counting, limits (RunOne, PollOne,
//     nested Poll), Stop, RunningInThisThread and Dispatch must be those of the deferred turn;
//   - a run call that takes the whole queue into an empty batch swaps the context's queues:
//     nothing lost, nothing run twice, the order of one goroutine's posts kept with one runner,
//     across Stop, Restart, panics, RunOne/PollOne loops and several runners.

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/executor"
)

// ipWait spins until cond holds. The bound is a liveness guard only (a lost handler would
// otherwise hang the test); no assertion depends on how long the wait takes.
func ipWait(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for spins := 0; !cond(); spins++ {
		if time.Now().After(deadline) {
			t.Fatalf("liveness guard: gave up waiting for %s", what)
		}
		if spins < 1000 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// ipRunWithin calls Run on another goroutine and returns its result; if Run has not returned
// within the liveness guard (the work count is too high), it stops the context and fails.
func ipRunWithin(t *testing.T, ioc *executor.IOContext) int {
	t.Helper()
	var n atomic.Int64
	var done atomic.Bool
	go func() { n.Store(int64(ioc.Run())); done.Store(true) }()
	deadline := time.Now().Add(30 * time.Second)
	for !done.Load() {
		if time.Now().After(deadline) {
			ioc.Stop()
			ipWait(t, done.Load, "Run to return after Stop")
			t.Fatal("liveness guard: Run of a context out of work did not return")
		}
		time.Sleep(100 * time.Microsecond)
	}
	return int(n.Load())
}

// ipChain returns the first link of a chain of n handlers of s, each appending its index to seq
// (on the strand, so without a lock), calling extra, and posting the next link to s.
func ipChain(s *executor.Strand, n int, seq *[]int, extra func(i int)) func() {
	var link func(i int) func()
	link = func(i int) func() {
		return func() {
			*seq = append(*seq, i)
			if extra != nil {
				extra(i)
			}
			if i+1 < n {
				s.Post(link(i + 1))
			}
		}
	}
	return link(0)
}

// Run, Poll, RunFor and RunUntil run a whole strand chain, in order, and return when it runs out
// of work, with the handlers its links post to the context run too, and return n turns plus the
// context handlers, whether the turns ran in place (Run, Poll, no link posting to the context) or
// not (RunFor, RunUntil, or every link posting to the context).
func TestBBInPlaceRunCallsRunWholeChain(t *testing.T) {
	const n = 3000
	calls := map[string]func(*executor.IOContext) int{
		"Run":      (*executor.IOContext).Run,
		"Poll":     (*executor.IOContext).Poll,
		"RunFor":   func(c *executor.IOContext) int { return c.RunFor(time.Hour) },
		"RunUntil": func(c *executor.IOContext) int { return c.RunUntil(time.Now().Add(time.Hour)) },
	}
	for name, call := range calls {
		for _, every := range []int{0, 1, 7} {
			t.Run(fmt.Sprint(name, "/", every), func(t *testing.T) {
				ioc := executor.NewIOContext()
				s := executor.NewStrand(ioc)
				var seq []int
				extras, ranExtras := 0, 0
				var extra func(int)
				if every > 0 {
					extra = func(i int) {
						if i%every == 0 {
							extras++
							ioc.Post(func() { ranExtras++ })
						}
					}
				}
				s.Post(ipChain(s, n, &seq, extra))
				got := call(ioc)
				checkInOrder(t, seq, n)
				if ranExtras != extras {
					t.Fatalf("%d of the %d handlers the links posted to the context ran", ranExtras, extras)
				}
				if got != n+extras {
					t.Fatalf("%s returned %d, want %d turns + %d context handlers", name, got, n, extras)
				}
			})
		}
	}
}

// PollOne runs at most one handler: a strand chain runs one link (one turn) per call, as under
// RunOne, and PollOne returns 0 once the chain is done. Interleaving Poll shows the chain is
// still whole.
func TestBBInPlacePollOneRunsOneLinkPerCall(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	var seq []int
	const n = 40
	s.Post(ipChain(s, n, &seq, nil))
	for i := 1; i <= 20; i++ {
		if got := ioc.PollOne(); got != 1 {
			t.Fatalf("PollOne %d returned %d", i, got)
		}
		if len(seq) != i {
			t.Fatalf("after PollOne %d the chain has run %d links", i, len(seq))
		}
	}
	if got := ioc.Poll(); got < 1 {
		t.Fatalf("Poll returned %d with %d links left", got, n-20)
	}
	checkInOrder(t, seq, n)
	ioc.Restart()
	if got := ioc.PollOne(); got != 0 {
		t.Fatalf("PollOne after the chain returned %d", got)
	}
}

// A strand handler run by RunOne calls Poll of its own context (documented as allowed); the nested
// Poll runs another strand's chain (whose turns may run in place, since Poll has no limit). When
// the handler returns, the outer RunOne's limit still holds: the strand's next link does not run
// in place inside it.
func TestBBInPlaceNestedPollInsideRunOneKeepsTheLimit(t *testing.T) {
	for _, inner := range []int{0, 1, 50} {
		t.Run(fmt.Sprint(inner), func(t *testing.T) {
			ioc := executor.NewIOContext()
			s1 := executor.NewStrand(ioc)
			s2 := executor.NewStrand(ioc)
			var seq1, seq2 []int
			const n = 4
			s1.Post(ipChain(s1, n, &seq1, func(i int) {
				if inner > 0 {
					s2.Post(ipChain(s2, inner, &seq2, nil))
				}
				// s1's next link is posted after the nested Poll, as the link's last act
				ioc.Poll()
			}))
			for i := 1; i <= n; i++ {
				if got := ioc.RunOne(); got != 1 {
					t.Fatalf("RunOne %d returned %d", i, got)
				}
				if len(seq1) != i {
					t.Fatalf("after RunOne %d strand 1 has run %d links, want %d", i, len(seq1), i)
				}
				if len(seq2) != i*inner {
					t.Fatalf("after RunOne %d strand 2 has run %d links, want %d", i, len(seq2), i*inner)
				}
			}
			if got := ioc.RunOne(); got != 0 {
				t.Fatalf("RunOne after both chains returned %d", got)
			}
		})
	}
}

// A strand handler run by RunOne posts to its own strand (the turn's private list), lets another
// goroutine post to the strand, posts a context handler that posts to the strand too, and then
// calls Poll of its own context: the nested Poll runs the context handler but none of the strand's
// (a second handler of the strand while the first still runs), the outer RunOne does not run them
// in place after the handler returns, and a later Run runs them in the order of their posts.
func TestBBInPlaceNestedPollDoesNotRunTheStrandsNextTurn(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	var order []string
	var inside atomic.Int32
	enter := func(name string) {
		if inside.Add(1) != 1 {
			order = append(order, "OVERLAP:"+name)
		}
		order = append(order, name)
	}
	leave := func() { inside.Add(-1) }
	s.Post(func() {
		enter("h")
		s.Post(func() { enter("x"); leave() }) // the turn's own post: the private list
		done := make(chan struct{})
		go func() { // a post from outside while the turn runs
			s.Post(func() { enter("y"); leave() })
			close(done)
		}()
		<-done
		ioc.Post(func() { // a context handler, run by the nested Poll, posting to the strand
			order = append(order, "g")
			s.Post(func() { enter("z"); leave() })
		})
		k := ioc.Poll()
		order = append(order, fmt.Sprint("nested Poll ran ", k))
		if bbGidKnown() && !s.RunningInThisThread() {
			order = append(order, "NOT IN STRAND after nested Poll")
		}
		leave()
	})
	if got := ioc.RunOne(); got != 1 {
		t.Fatalf("RunOne returned %d", got)
	}
	ioc.Run()
	want := "[h g nested Poll ran 1 x y z]"
	if got := fmt.Sprint(order); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// Stop from another goroutine ends a strand chain running in place at the next turn's boundary
// ("Stop makes every run call return as soon as the handler it is running returns"); Restart and
// Run go on with the chain, nothing lost or repeated.
func TestBBInPlaceStopFromAnotherGoroutine(t *testing.T) {
	for round := range 20 {
		ioc := executor.NewIOContext()
		s := executor.NewStrand(ioc)
		var links atomic.Int64
		var seq []int
		const n = 1_000_000 // a liveness guard: the test stops the chain long before
		stopAt := int64(100 + round*37)
		var seenAtStop int64
		stopper := make(chan struct{})
		go func() {
			defer close(stopper)
			for links.Load() < stopAt {
				runtime.Gosched()
			}
			ioc.Stop()
			seenAtStop = links.Load()
		}()
		s.Post(ipChain(s, n, &seq, func(int) { links.Add(1) }))
		ioc.Run()
		<-stopper
		ranFirst := links.Load()
		if !ioc.Stopped() {
			t.Fatal("Run returned but the context is not stopped")
		}
		if ranFirst >= n {
			t.Fatalf("round %d: Stop did not end the chain (%d links)", round, ranFirst)
		}
		// the stopper read the count after Stop returned; at most the link that had already
		// checked for Stop may start after that read
		if at := seenAtStop; ranFirst > at+1 {
			t.Fatalf("round %d: %d links ran after Stop returned (count %d then, %d at Run's return)",
				round, ranFirst-at, at, ranFirst)
		}
		// the chain goes on after Restart, link by link, from where it stopped
		stopLen := len(seq) + 500
		ioc.Restart()
		for len(seq) < stopLen {
			if ioc.RunOne() != 1 {
				t.Fatalf("round %d: RunOne after Restart ran nothing", round)
			}
		}
		checkInOrder(t, seq, stopLen)
	}
}

// A handler of the strand posts y and then signals a goroutine that posts the strand's next
// handler from outside: y must run before it (the docs: "a handler that posts a and then hands
// work to another goroutine, which posts b, gets a then b"). The outside post races the end of
// the turn and y's turn, which may run in place. The outside poster holds a WorkGuard on the
// strand; Run must return exactly when it is reset and everything has run.
func TestBBInPlaceHandOffRacesTurnEnd(t *testing.T) {
	type setup struct {
		name    string
		runners int
	}
	for _, su := range []setup{{"1runner", 1}, {"2runners", 2}, {"3runners", 3}} {
		t.Run(su.name, func(t *testing.T) {
			ioc := executor.NewIOContextConcurrency(su.runners)
			s := executor.NewStrand(ioc)
			guard := executor.MakeWorkGuard(s)
			r := bbStartRunners(ioc, su.runners)
			const n = 4000
			var order []string // touched on the strand only
			var bad atomic.Int32
			var inside atomic.Int32
			var ranX atomic.Int64
			for i := range n {
				s.Post(func() {
					if inside.Add(1) != 1 {
						bad.Add(1)
					}
					order = append(order, fmt.Sprint("x", i))
					follow := func() {
						if inside.Add(1) != 1 {
							bad.Add(1)
						}
						order = append(order, fmt.Sprint("y", i))
						inside.Add(-1)
					}
					switch i % 3 {
					case 0:
						s.Post(follow)
					case 1:
						s.Defer(follow)
					case 2:
						// Dispatch from inside the strand runs at once where the goroutine is
						// known, and queues (as a post) otherwise: y follows x either way
						inside.Add(-1)
						s.Dispatch(follow)
						inside.Add(1)
					}
					inside.Add(-1)
					ranX.Store(int64(i + 1))
				})
				ipWait(t, func() bool { return ranX.Load() == int64(i+1) }, fmt.Sprint("x", i))
			}
			guard.Reset()
			r.wait()
			if bad.Load() != 0 {
				t.Fatalf("%d handlers of the strand ran while another one was running", bad.Load())
			}
			if len(order) != 2*n {
				t.Fatalf("ran %d handlers, want %d", len(order), 2*n)
			}
			for i := range n {
				if order[2*i] != fmt.Sprint("x", i) || order[2*i+1] != fmt.Sprint("y", i) {
					t.Fatalf("position %d: got %v, want x%d y%d", 2*i, order[2*i:2*i+2], i, i)
				}
			}
			if !ioc.Stopped() {
				t.Fatal("the runners returned but the context is not stopped")
			}
		})
	}
}

// A handler of the context that runs between two turns of a strand (a link posted it before
// posting the next link, so it runs first, as the deferred turn would let it) is not inside the
// strand: RunningInThisThread is false there, and its Dispatch to the strand, which is not idle
// (its next turn is queued), queues behind that turn instead of running at once.
func TestBBInPlaceContextHandlerBetweenTurnsIsOutsideTheStrand(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	var got []string
	const n = 200
	var link func(i int) func()
	link = func(i int) func() {
		return func() {
			got = append(got, fmt.Sprint("link", i))
			if !s.RunningInThisThread() && bbGidKnown() {
				got = append(got, "link NOT IN STRAND")
			}
			if ioc.RunningInThisThread() != bbGidKnown() {
				got = append(got, "link: context answers wrong")
			}
			if i+1 == n {
				return
			}
			if i%2 == 0 {
				ioc.Post(func() {
					got = append(got, fmt.Sprint("g", i))
					if s.RunningInThisThread() {
						got = append(got, "g IN STRAND")
					}
					s.Dispatch(func() { got = append(got, fmt.Sprint("d", i)) })
				})
			}
			s.Post(link(i + 1))
		}
	}
	s.Post(link(0))
	ioc.Run()
	var want []string
	for i := range n {
		want = append(want, fmt.Sprint("link", i))
		if i%2 == 0 && i+1 < n {
			want = append(want, fmt.Sprint("g", i))
		}
		if i%2 == 1 {
			want = append(want, fmt.Sprint("d", i-1))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("first difference at %d: got %q, want %q (got %v)", i, got[i], want[i], got[max(0, i-4):min(len(got), i+4)])
			}
		}
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	if s.RunningInThisThread() || ioc.RunningInThisThread() {
		t.Fatal("RunningInThisThread true after Run returned")
	}
}

// Dispatch to an idle strand from a handler of its IOContext runs at once (where the goroutine is
// known); what that turn posts, and what the caller posts after the Dispatch, keep the order of
// the posts, and nothing of the strand runs inside the caller after its Dispatch (the dispatched
// turn was run inline, so its successor is not run in place). The caller is a
// plain context handler or a handler of another strand whose turns run in place.
func TestBBInPlaceDispatchToIdleStrandThenPost(t *testing.T) {
	for _, viaStrand := range []bool{false, true} {
		t.Run(fmt.Sprint("viaStrand=", viaStrand), func(t *testing.T) {
			ioc := executor.NewIOContext()
			s1 := executor.NewStrand(ioc)
			s2 := executor.NewStrand(ioc)
			var got []string
			const n = 50
			var caller func(i int) func()
			caller = func(i int) func() {
				return func() {
					inline := false
					s2.Dispatch(func() {
						inline = true
						got = append(got, fmt.Sprint("f", i))
						s2.Post(func() { got = append(got, fmt.Sprint("a", i)) })
					})
					if inline != bbGidKnown() {
						got = append(got, fmt.Sprint("inline=", inline))
					}
					got = append(got, fmt.Sprint("after", i))
					s2.Post(func() {
						got = append(got, fmt.Sprint("b", i))
						// the next caller runs once s2 is idle again (this turn ends first)
						if i+1 < n {
							if viaStrand {
								s1.Post(caller(i + 1))
							} else {
								ioc.Post(caller(i + 1))
							}
						}
					})
				}
			}
			if viaStrand {
				s1.Post(caller(0))
			} else {
				ioc.Post(caller(0))
			}
			ioc.Run()
			// s2 runs its submissions in the order of the calls. Where Dispatch runs at once, f
			// runs inside the caller and posts a before the caller posts b: f, after, a, b, and a
			// does not run inside its caller. Where it falls back to a post, f is queued before
			// b, and b is posted before f runs and posts a: after, f, b, a.
			if len(got) != 4*n {
				t.Fatalf("got %d entries, want %d: %v", len(got), 4*n, got)
			}
			pos := map[string]int{}
			for k, e := range got {
				if _, dup := pos[e]; dup {
					t.Fatalf("%q ran twice: %v", e, got)
				}
				pos[e] = k
			}
			for i := range n {
				f, a, b, after := pos[fmt.Sprint("f", i)], pos[fmt.Sprint("a", i)], pos[fmt.Sprint("b", i)], pos[fmt.Sprint("after", i)]
				if bbGidKnown() && !(f < after && after < a && a < b) {
					t.Fatalf("i=%d: f at %d, after at %d, a at %d, b at %d; want f, after, a, b", i, f, after, a, b)
				}
				if !bbGidKnown() && !(after < f && f < b && b < a) {
					t.Fatalf("i=%d: after at %d, f at %d, b at %d, a at %d; want after, f, b, a", i, after, f, b, a)
				}
			}
		})
	}
}

// A strand over a strand over an IOContext or ThreadPool with several goroutines: the outer
// strand's handlers run inside turns of the inner strand, so no handler of either may overlap
// another, while chains of both run (in place where they can) and other goroutines post to both.
// Each source's order holds.
func TestBBInPlaceStrandOverStrandExclusionSeveralRunners(t *testing.T) {
	type inner struct {
		name string
		make func() (executor.Executor, func())
	}
	inners := []inner{
		{"IOContext3", func() (executor.Executor, func()) {
			ioc := executor.NewIOContextConcurrency(3)
			g := executor.MakeWorkGuard(ioc)
			r := bbStartRunners(ioc, 3)
			return ioc, func() { g.Reset(); r.wait() }
		}},
		{"ThreadPool3", func() (executor.Executor, func()) {
			p := executor.NewThreadPool(3)
			return p.Executor(), p.Join
		}},
	}
	for _, in := range inners {
		t.Run(in.name, func(t *testing.T) {
			ex, done := in.make()
			s1 := executor.NewStrand(ex)
			s2 := executor.NewStrand(s1)
			var inside atomic.Int32
			var overlaps atomic.Int32
			var wg sync.WaitGroup
			last := map[string]int{} // touched under s1's exclusion only
			var disorder []string
			run := func(src string, k int) func() {
				return func() {
					defer wg.Done()
					if inside.Add(1) != 1 {
						overlaps.Add(1)
					}
					if prev, ok := last[src]; ok && prev >= k {
						disorder = append(disorder, fmt.Sprintf("%s: %d after %d", src, k, prev))
					}
					last[src] = k
					inside.Add(-1)
				}
			}
			var chain func(st *executor.Strand, src string, k, n int) func()
			chain = func(st *executor.Strand, src string, k, n int) func() {
				body := run(src, k)
				return func() {
					if k+1 < n { // counted before body's Done, so that wg never passes zero early
						wg.Add(1)
						st.Post(chain(st, src, k+1, n))
					}
					body()
				}
			}
			const links, posts = 3000, 2000
			wg.Add(2)
			s1.Post(chain(s1, "chain1", 0, links))
			s2.Post(chain(s2, "chain2", 0, links))
			var posters sync.WaitGroup
			for p := range 4 {
				st := s1
				if p%2 == 1 {
					st = s2
				}
				posters.Go(func() {
					src := fmt.Sprint("poster", p)
					for k := range posts {
						wg.Add(1)
						switch k % 3 {
						case 0:
							st.Post(run(src, k))
						case 1:
							st.Defer(run(src, k))
						default:
							st.Dispatch(run(src, k))
						}
						// other handlers of the context beside the strands
						ex.Post(func() {})
					}
				})
			}
			posters.Wait()
			wg.Wait()
			done()
			if overlaps.Load() != 0 {
				t.Fatalf("%d handlers ran while another handler of the strands was running", overlaps.Load())
			}
			if len(disorder) > 0 {
				t.Fatalf("out of order: %v", disorder[:min(len(disorder), 5)])
			}
			if last["chain1"] != links-1 || last["chain2"] != links-1 {
				t.Fatalf("chains ended at %d and %d, want %d", last["chain1"], last["chain2"], links-1)
			}
		})
	}
}

// With two Run goroutines, a strand chain whose links each post a context handler: the two Run
// calls together return the number of turns plus the context handlers, every handler runs once,
// and neither Run returns before the work is done.
func TestBBInPlaceTwoRunnersCountTurnsAndHandlers(t *testing.T) {
	for round := range 5 {
		ioc := executor.NewIOContext()
		s := executor.NewStrand(ioc)
		const n = 5000
		var ctxRan atomic.Int64
		var seq []int
		var ret [2]int
		s.Post(ipChain(s, n, &seq, func(int) { ioc.Post(func() { ctxRan.Add(1) }) }))
		var wg sync.WaitGroup
		for k := range 2 {
			wg.Go(func() { ret[k] = ioc.Run() })
		}
		wg.Wait()
		checkInOrder(t, seq, n)
		if ctxRan.Load() != n {
			t.Fatalf("round %d: %d of the %d context handlers ran", round, ctxRan.Load(), n)
		}
		if ret[0]+ret[1] != 2*n {
			t.Fatalf("round %d: the Run calls returned %d + %d, want %d in all", round, ret[0], ret[1], 2*n)
		}
	}
}

// Poll runs the handlers that are ready, including those they post, and a run goroutine polls
// the idle hook once it has run 1024 handlers since it last did: a strand chain running in place
// under Poll still lets an event armed in the hook be delivered within the documented count.
func TestBBInPlaceStrandChainUnderPollPollsHook(t *testing.T) {
	ioc := executor.NewIOContext()
	hook := newBBPollHook(ioc)
	ioc.AttachIdleHook(func() executor.IdleHook { return hook })
	s := executor.NewStrand(ioc)
	for round := range 5 {
		var links int64
		armedAt, seenAt := int64(-1), int64(-1)
		stop := false
		var link func()
		link = func() {
			links++
			if links == int64(2000+round*131) {
				armedAt = links
				hook.arm(func() { seenAt = links; stop = true })
			}
			if !stop && links < 2_000_000 { // the bound is a liveness guard only
				s.Post(link)
			}
		}
		ioc.Restart()
		s.Post(link)
		ioc.Poll()
		if seenAt < 0 {
			t.Fatalf("round %d: the armed event never ran in %d links", round, links)
		}
		if d := seenAt - armedAt; d > bbPollBound {
			t.Fatalf("round %d: event delivered %d links after it was armed, want at most %d", round, d, bbPollBound)
		}
	}
}

// A link that panics in a turn that runs in place, while other goroutines post to the strand:
// after each panic Run is called again (no Restart needed), every handler runs exactly once, each
// source in order, and Run returns when the work (a WorkGuard on the strand) is released.
func TestBBInPlacePanicsWithOutsidePosts(t *testing.T) {
	ioc := executor.NewIOContext()
	s := executor.NewStrand(ioc)
	guard := executor.MakeWorkGuard(s)
	r := bbStartRunners(ioc, 1)
	const chainLen, posts = 3000, 3000
	var seq []int
	var panics int
	chainDone := make(chan struct{})
	var link func(i int) func()
	link = func(i int) func() {
		return func() {
			seq = append(seq, i)
			if i+1 < chainLen {
				s.Post(link(i + 1))
			} else {
				close(chainDone)
			}
			if i%97 == 5 {
				panics++
				panic(fmt.Sprint("link ", i))
			}
		}
	}
	s.Post(link(0))
	var outside []int
	var posters sync.WaitGroup
	posters.Go(func() {
		for k := range posts {
			s.Post(func() { outside = append(outside, k) })
		}
	})
	posters.Wait()
	<-chainDone
	s.Post(guard.Reset)
	r.wait()
	checkInOrder(t, seq, chainLen)
	if len(outside) != posts {
		t.Fatalf("%d of %d outside posts ran", len(outside), posts)
	}
	for k, v := range outside {
		if v != k {
			t.Fatalf("outside post %d ran at position %d", v, k)
		}
	}
	if got := r.panics.Load(); got != int64(panics) {
		t.Fatalf("Run panicked %d times, the links %d times", got, panics)
	}
}

// ---- the IOContext's queue swap ----

// ipSeqChecker records which (source, index) handlers ran, on one runner (no lock needed when the
// context has one Run goroutine; the lock is for several).
type ipSeqChecker struct {
	mu      sync.Mutex
	last    map[int]int
	seen    map[[2]int]int
	errs    []string
	ordered bool
}

func newIPSeqChecker(ordered bool) *ipSeqChecker {
	return &ipSeqChecker{last: map[int]int{}, seen: map[[2]int]int{}, ordered: ordered}
}

func (c *ipSeqChecker) ran(src, k int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[[2]int{src, k}]++
	if c.seen[[2]int{src, k}] > 1 && len(c.errs) < 5 {
		c.errs = append(c.errs, fmt.Sprintf("source %d handler %d ran twice", src, k))
	}
	if prev, ok := c.last[src]; c.ordered && ok && k <= prev && len(c.errs) < 5 {
		c.errs = append(c.errs, fmt.Sprintf("source %d: handler %d ran after %d", src, k, prev))
	}
	c.last[src] = max(c.last[src], k)
}

func (c *ipSeqChecker) check(t *testing.T, sources, each int) {
	t.Helper()
	for src := range sources {
		c.checkSource(t, src, each)
	}
}

// checkSource fails unless handlers 0..each-1 of src each ran once (and nothing else went wrong).
func (c *ipSeqChecker) checkSource(t *testing.T, src, each int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) > 0 {
		t.Fatal(c.errs)
	}
	for k := range each {
		if c.seen[[2]int{src, k}] != 1 {
			t.Fatalf("source %d handler %d ran %d times", src, k, c.seen[[2]int{src, k}])
		}
	}
	n := 0
	for key, v := range c.seen {
		if key[0] == src {
			n += v
		}
	}
	if n != each {
		t.Fatalf("source %d: %d handlers ran, want %d", src, n, each)
	}
}

// Producers post from outside while one goroutine runs the context (kept alive by a WorkGuard),
// in bursts that cross the queue's chunk size, some of their handlers posting one more from
// inside: each producer's handlers run in the order of its posts, every handler exactly once, and
// Run returns the number of handlers run.
func TestBBSwapProducersRaceOneRunner(t *testing.T) {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	c := newIPSeqChecker(true)
	const producers, each = 3, 20000
	var ret int
	runDone := make(chan struct{})
	go func() { ret = ioc.Run(); close(runDone) }()
	var posters sync.WaitGroup
	var insidePosts atomic.Int64
	for p := range producers {
		posters.Go(func() {
			for k := range each {
				ioc.Post(func() {
					c.ran(p, k)
					if k%10 == 0 {
						insidePosts.Add(1)
						ioc.Post(func() { c.ran(producers+p, k/10) })
					}
				})
				if k%(255+p) == 0 {
					runtime.Gosched() // vary the bursts around the chunk size
				}
			}
		})
	}
	posters.Wait()
	guard.Reset()
	<-runDone
	c.check(t, producers, each)
	for p := range producers {
		for k := range each / 10 {
			if c.seen[[2]int{producers + p, k}] != 1 {
				t.Fatalf("inside post %d/%d ran %d times", p, k, c.seen[[2]int{producers + p, k}])
			}
		}
	}
	if want := producers*each + int(insidePosts.Load()); ret != want {
		t.Fatalf("Run returned %d, want %d", ret, want)
	}
}

// RunOne and PollOne run at most one handler each, also when the call would otherwise take the
// whole queue into its batch; a consumer alternating RunOne, PollOne and Poll against racing
// producers runs every handler exactly once, in each producer's order.
func TestBBSwapRunOnePollOneLoopsRaceProducers(t *testing.T) {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	c := newIPSeqChecker(true)
	const producers, each = 2, 10000
	var ran atomic.Int64
	var posters sync.WaitGroup
	for p := range producers {
		posters.Go(func() {
			for k := range each {
				ioc.Post(func() { c.ran(p, k); ran.Add(1) })
			}
		})
	}
	total := int64(producers * each)
	for i := 0; ran.Load() < total; i++ {
		before := ran.Load()
		var got int
		switch i % 5 {
		case 0, 1:
			got = ioc.RunOne() // waits: the guard keeps the context in work
		case 2, 3:
			got = ioc.PollOne()
		default:
			got = ioc.Poll()
		}
		if i%5 < 4 && got > 1 {
			t.Fatalf("call %d (kind %d) ran %d handlers", i, i%5, got)
		}
		if d := ran.Load() - before; d != int64(got) {
			t.Fatalf("call %d returned %d but %d handlers ran", i, got, d)
		}
	}
	posters.Wait()
	guard.Reset()
	if got := ioc.RunOne(); got != 0 {
		t.Fatalf("RunOne with nothing queued and no work returned %d", got)
	}
	c.check(t, producers, each)
}

// Stop from a handler in the middle of a batch taken whole (burst sizes around the chunk size),
// while a producer keeps posting: Run returns, nothing is discarded, and after Restart a new Run
// runs the rest, everything exactly once and in the order of the posts.
func TestBBSwapStopMidBatchRestart(t *testing.T) {
	for _, burst := range []int{3, 255, 256, 257, 600, 5000} {
		for _, stopAt := range []int{0, burst / 2, burst - 1} {
			t.Run(fmt.Sprint(burst, "/", stopAt), func(t *testing.T) {
				ioc := executor.NewIOContext()
				var got []int
				var posted []int // what handlers posted from inside, in the order of their posts
				for k := range burst {
					ioc.Post(func() {
						got = append(got, k)
						if k%50 == 0 {
							posted = append(posted, k)
							ioc.Post(func() { got = append(got, -1-k) })
						}
						if k == stopAt {
							ioc.Stop()
						}
					})
				}
				const late = 300
				producing := make(chan struct{})
				go func() {
					defer close(producing)
					for k := burst; k < burst+late; k++ {
						ioc.Post(func() { got = append(got, k) })
					}
				}()
				n1 := ioc.Run()
				first := len(got)
				if n1 != first {
					t.Fatalf("Run returned %d, %d ran", n1, first)
				}
				if first != stopAt+1 {
					t.Fatalf("Run returned after %d handlers, want %d: as soon as the one that stopped it returned", first, stopAt+1)
				}
				<-producing
				ioc.Restart()
				n2 := ioc.Run()
				if n1+n2 != len(got) {
					t.Fatalf("Run returned %d + %d, %d ran", n1, n2, len(got))
				}
				// outside posts (k >= 0) in order; inside posts (-1-k) once each, after their
				// poster and after the outside posts made before their poster ran
				seen := map[int]int{}
				next := 0
				for pos, v := range got {
					seen[v]++
					if v >= 0 {
						if v != next {
							t.Fatalf("outside post %d ran at position %d, want %d", v, pos, next)
						}
						next++
					} else if k := -1 - v; seen[k] == 0 {
						t.Fatalf("inside post of %d ran before it", k)
					}
				}
				if next != burst+late {
					t.Fatalf("%d outside posts ran, want %d", next, burst+late)
				}
				for _, k := range posted {
					if seen[-1-k] != 1 {
						t.Fatalf("the post of handler %d ran %d times", k, seen[-1-k])
					}
				}
				for v, c := range seen {
					if c != 1 {
						t.Fatalf("%d ran %d times", v, c)
					}
				}
				// inside posts run after every outside post made before them in the burst
				// (posted before Run): with one runner, after the whole burst.
				for pos, v := range got {
					if v < 0 {
						for _, w := range got[pos:] {
							if w >= 0 && w < burst {
								t.Fatalf("inside post of %d ran before outside post %d of the burst", -1-v, w)
							}
						}
					}
				}
			})
		}
	}
}

// Handlers panic in batches taken whole while a producer posts: each time Run is called again
// (without Restart) the handlers not yet run come first, then the later posts: every handler once,
// in the order of the posts, and the work count right (the last Run returns when all have run).
func TestBBSwapPanicsRacingProducer(t *testing.T) {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	r := bbStartRunners(ioc, 1)
	c := newIPSeqChecker(true)
	const each = 30000
	var panicsWanted int64
	for k := range each {
		p := k%211 == 7
		if p {
			panicsWanted++
		}
		ioc.Post(func() {
			c.ran(0, k)
			if p {
				panic("boom")
			}
		})
		if k%1000 == 0 {
			runtime.Gosched()
		}
	}
	guard.Reset()
	r.wait()
	c.check(t, 1, each)
	if r.panics.Load() != panicsWanted {
		t.Fatalf("%d panics came out of Run, want %d", r.panics.Load(), panicsWanted)
	}
	if !ioc.Stopped() {
		t.Fatal("not stopped after running out of work")
	}
	ioc.Restart()
	if n := ipRunWithin(t, ioc); n != 0 {
		t.Fatalf("Run after everything ran returned %d: the work count is off", n)
	}
}

// Several Run goroutines and bursts of sizes around the chunk size posted from outside while they
// run, each burst waited for: every handler runs exactly once, and the Run calls together return
// the number of handlers run.
func TestBBSwapBurstsSeveralRunners(t *testing.T) {
	for _, runners := range []int{2, 3} {
		t.Run(fmt.Sprint(runners), func(t *testing.T) {
			ioc := executor.NewIOContext()
			guard := executor.MakeWorkGuard(ioc)
			r := bbStartRunners(ioc, runners)
			c := newIPSeqChecker(false)
			total := 0
			for b, size := range []int{1, 255, 256, 257, 511, 512, 513, 4000, 1, 2, 20000, 300} {
				var wg sync.WaitGroup
				wg.Add(size)
				for k := range size {
					ioc.Post(func() {
						c.ran(b, k)
						if k%64 == 0 { // one more from inside
							wg.Add(1)
							ioc.Post(func() { c.ran(1000+b, k/64); wg.Done() })
						}
						wg.Done()
					})
					total++
					if k%64 == 0 {
						total++
					}
				}
				wg.Wait()
				c.checkSource(t, b, size)
				c.checkSource(t, 1000+b, (size+63)/64)
			}
			guard.Reset()
			r.wait()
			if got := r.ran.Load(); got != int64(total) {
				t.Fatalf("the Run calls returned %d in all, want %d", got, total)
			}
		})
	}
}

// Rounds of post, Run, Restart with sizes around the chunk size and handlers that post from inside:
// each round runs exactly what was posted, outside posts in order and inside posts after them.
func TestBBSwapRestartRounds(t *testing.T) {
	ioc := executor.NewIOContext()
	for round, size := range []int{1, 256, 257, 0, 512, 1000, 255, 3, 70000, 513} {
		var got []int
		for k := range size {
			ioc.Post(func() {
				got = append(got, k)
				if k%100 == 99 {
					ioc.Post(func() { got = append(got, -k) })
				}
			})
		}
		n := ioc.Run()
		inside := size / 100
		if n != size+inside || len(got) != size+inside {
			t.Fatalf("round %d: Run returned %d, %d ran, want %d", round, n, len(got), size+inside)
		}
		for k := range size {
			if got[k] != k {
				t.Fatalf("round %d: position %d ran %d", round, k, got[k])
			}
		}
		for j := range inside {
			if got[size+j] != -(100*j + 99) {
				t.Fatalf("round %d: inside post %d is %d", round, j, got[size+j])
			}
		}
		if !ioc.Stopped() {
			t.Fatalf("round %d: not stopped after running out of work", round)
		}
		ioc.Restart()
	}
}

// A handler in the middle of a batch calls Poll of its own context: what it posted is visible to
// the nested call, and with one goroutine in the run calls handlers posted from outside still run
// in the order of the posts: an outside post made while the handler runs goes behind the outside
// posts made before it, which the nested Poll runs first, and the handler's own post behind both.
func TestBBNestedPollKeepsOutsideOrder(t *testing.T) {
	ioc := executor.NewIOContext()
	var got []string
	for k := range 10 {
		ioc.Post(func() {
			got = append(got, fmt.Sprint("x", k))
			if k == 3 {
				ioc.Post(func() { got = append(got, "y") })
				done := make(chan struct{})
				go func() { ioc.Post(func() { got = append(got, "z") }); close(done) }()
				<-done
				got = append(got, fmt.Sprint("nested ", ioc.Poll()))
			}
		})
	}
	n := ioc.Run()
	if !gidKnown() {
		// The nested Poll is just another run call: everything runs once, in no promised order,
		// and the two calls' counts add up to the twelve handlers.
		var nested int
		seen := map[string]int{}
		for _, e := range got {
			if _, err := fmt.Sscanf(e, "nested %d", &nested); err != nil {
				seen[e]++
			}
		}
		if len(got) != 13 || len(seen) != 12 || n+nested != 12 {
			t.Fatalf("Run returned %d, nested Poll %d, ran %v", n, nested, got)
		}
		return
	}
	if n != 4 {
		t.Errorf("Run returned %d, want 4 (the nested Poll ran and counted the rest)", n)
	}
	want := []string{"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "z", "y", "nested 8"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
