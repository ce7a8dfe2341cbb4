package composed_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// Guarantee 3: intermediate steps run on the I/O executor; on a strand, never concurrently with the
// strand's other handlers, even when the strand's inner executor runs on several goroutines.

// exclusion checks that the code it brackets never runs on two goroutines at once: inside counts
// the goroutines between enter and exit, and shared is written by each of them without a lock, so
// that the race detector also reports a lapse.
type exclusion struct {
	inside     atomic.Int32
	violations atomic.Int32
	shared     int
}

func (e *exclusion) enter() {
	if e.inside.Add(1) != 1 {
		e.violations.Add(1)
	}
	e.shared++
}

func (e *exclusion) exit() { e.inside.Add(-1) }

func TestStepsOnAStrandNeverRunConcurrentlyWithItsOtherHandlers(t *testing.T) {
	const ops, steps, others = 8, 90, 2000
	for _, tok := range tokens {
		for _, kind := range []string{"Start", "Spawn"} {
			t.Run(tok.name+"/"+kind, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					pool := executor.NewThreadPool(4)
					strand := executor.NewStrand(pool.Executor())
					var ex exclusion
					var offStrand atomic.Int32
					onStrand := func() {
						if gidKnown() && !strand.RunningInThisThread() {
							offStrand.Add(1)
						}
					}
					// The inner operations belong to an object on the pool itself; their completions
					// go to their handler's executor, the strand (a Slot's executor is the
					// operation's I/O executor).
					obj := newTestIO(pool.Executor())
					finishes := make(chan func(), ops) // at most one pending inner operation per op
					var finisher sync.WaitGroup
					finisher.Go(func() {
						for f := range finishes {
							f()
						}
					})
					// startInner starts the n-th inner operation: in turn one posted at once, one
					// completing inline, and one finished later by another goroutine.
					startInner := func(n int, h completion.Handler[opResult]) {
						switch n % 3 {
						case 0:
							obj.AsyncImmediate(n, h)
						case 1:
							obj.AsyncInline(n, h)
						case 2:
							p := obj.newPending()
							p.Start(h)
							finishes <- func() { p.Finish(n) }
						}
					}
					var mismatches atomic.Int32

					probes := make([]probe[opResult], ops)
					for i := range ops {
						h, p := tok.new(func() { onStrand(); ex.enter(); ex.exit() })
						probes[i] = p
						if kind == "Start" {
							var slot composed.Slot[opResult]
							n := 0
							composed.Start(strand, h, func(op *composed.Op[opResult]) {
								ex.enter()
								onStrand()
								if op.Resumed() && slot.Value.V != n {
									mismatches.Add(1)
								}
								if n == steps {
									ex.exit() // the handler is dispatched, so it runs inside Complete
									op.Complete(opResult{V: n})
									return
								}
								n++
								startInner(n, composed.Into(op, &slot))
								ex.exit()
							})
						} else {
							composed.Spawn(strand, h, func(y *composed.Yield) opResult {
								ex.enter()
								for n := 1; n <= steps; n++ {
									ex.exit()
									r := composed.Await(y, func(h completion.Handler[opResult]) { startInner(n, h) })
									ex.enter()
									if r.V != n {
										mismatches.Add(1)
									}
								}
								ex.exit()
								return opResult{V: steps}
							})
						}
					}
					var flood sync.WaitGroup
					flood.Add(others)
					go func() {
						for i := range others {
							post := strand.Post
							if i%2 == 1 {
								post = strand.Dispatch
							}
							post(func() {
								defer flood.Done()
								onStrand()
								ex.enter()
								ex.exit()
							})
						}
					}()

					for i, p := range probes {
						if r := p.wait(); r != (opResult{V: steps}) || p.extra() != 0 {
							t.Errorf("op %d: handler received %+v and %d more, want %+v once", i, r, p.extra(), opResult{V: steps})
						}
					}
					flood.Wait()
					close(finishes)
					finisher.Wait()
					pool.Join()
					if n := ex.violations.Load(); n != 0 {
						t.Fatalf("%d times code of the strand ran while other code of it was running", n)
					}
					if n := offStrand.Load(); n != 0 {
						t.Fatalf("%d steps or handlers ran outside the strand", n)
					}
					if n := mismatches.Load(); n != 0 {
						t.Fatalf("%d steps saw the wrong inner result", n)
					}
					if n := obj.pending.Load(); n != 0 {
						t.Fatalf("%d inner operations still pending", n)
					}
				})
			})
		}
	}
}
