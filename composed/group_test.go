package composed_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type groupResult = composed.GroupResult[opResult]

var groupTokens = tokensOf[groupResult]()

// group is AllOf or FirstOf.
type group struct {
	name string
	run  func(ex executor.Executor, h completion.Handler[groupResult], ops ...func(completion.Handler[opResult]))
}

var groups = []group{
	{"AllOf", composed.AllOf[opResult]},
	{"FirstOf", composed.FirstOf[opResult]},
}

// canceledResult matches, with cmpopts.EquateErrors, the result of an operation canceled by
// context.Canceled.
var canceledResult = opResult{Err: context.Canceled}

// isPermutation reports whether order holds each of 0..n-1 once.
func isPermutation(order []int, n int) bool {
	s := slices.Sorted(slices.Values(order))
	return slices.Equal(s, slices.Collect(func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}))
}

func TestAllOfDeliversEveryResultWithTheCompletionOrder(t *testing.T) {
	for _, tok := range groupTokens {
		t.Run(tok.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				io := executor.NewIOContext()
				obj := newTestIO(io)
				pends := []*pendingOp{obj.newPending(), obj.newPending(), obj.newPending()}
				h, p := tok.new(nil)
				composed.AllOf(io, h, pends[0].Start, pends[1].Start, pends[2].Start)
				runDone := make(chan struct{})
				go func() {
					io.Run()
					close(runDone)
				}()
				// Finished in the order 2, 0, 1 from this goroutine: their handlers are queued on
				// the group's strand in that order, which runs them in order.
				for _, i := range []int{2, 0, 1} {
					if !pends[i].Finish(10 + i) {
						t.Fatalf("operation %d was canceled; AllOf never cancels", i)
					}
					if i == 2 {
						synctest.Wait()
						expectNotDelivered(t, p, "before every operation completed")
					}
				}
				<-runDone
				want := groupResult{Order: []int{2, 0, 1}, Results: []opResult{{V: 10}, {V: 11}, {V: 12}}}
				if diff := cmp.Diff(want, p.wait()); diff != "" {
					t.Fatalf("AllOf delivered (-want +got):\n%s", diff)
				}
				if p.extra() != 0 {
					t.Fatal("AllOf delivered more than once")
				}
			})
		})
	}
}

func TestFirstOfCancelsTheRestAndDeliversEveryResult(t *testing.T) {
	cases := []struct {
		name  string
		first int // the position of the operation that completes first
		// ops builds the operations: the one at first completes (immediate or when finish is
		// called); the others only ever complete when canceled.
		immediate bool
	}{
		{"first finished later by another goroutine", 0, false},
		{"first completing at once", 1, true},
		{"last one first", 2, false},
	}
	for _, tok := range groupTokens {
		for _, c := range cases {
			t.Run(tok.name+"/"+c.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					io := executor.NewIOContext()
					obj := newTestIO(io)
					var ops []func(completion.Handler[opResult])
					pends := make([]*pendingOp, 3)
					for i := range 3 {
						if i == c.first && c.immediate {
							ops = append(ops, func(h completion.Handler[opResult]) { obj.AsyncImmediate(7, h) })
							continue
						}
						pends[i] = obj.newPending()
						ops = append(ops, pends[i].Start)
					}
					h, p := tok.new(nil)
					composed.FirstOf(io, h, ops...)
					runDone := make(chan struct{})
					go func() {
						io.Run()
						close(runDone)
					}()
					if !c.immediate {
						if !pends[c.first].Finish(7) {
							t.Fatal("the first operation was canceled before it finished")
						}
					}
					synctest.Wait()
					if _, ok := p.result(); !ok {
						t.Error("FirstOf did not complete: the other operations were not canceled")
						for i, pend := range pends {
							if pend != nil && i != c.first {
								pend.Finish(-1) // unblock them, so the bubble ends cleanly
							}
						}
					}
					<-runDone
					got := p.wait()
					want := groupResult{Results: []opResult{canceledResult, canceledResult, canceledResult}}
					want.Results[c.first] = opResult{V: 7}
					if diff := cmp.Diff(want, got, cmpopts.EquateErrors(), cmpopts.IgnoreFields(groupResult{}, "Order")); diff != "" {
						t.Fatalf("FirstOf delivered (-want +got):\n%s", diff)
					}
					if len(got.Order) == 0 || got.Order[0] != c.first || !isPermutation(got.Order, 3) {
						t.Fatalf("Order = %v, want %d first and every operation once", got.Order, c.first)
					}
					for i, r := range got.Results {
						if i != c.first && !errors.Is(r.Err, completion.ErrOperationAborted) {
							t.Fatalf("result %d: %v does not match ErrOperationAborted", i, r.Err)
						}
					}
					if n := obj.pending.Load(); n != 0 {
						t.Fatalf("%d operations still pending", n)
					}
				})
			})
		}
	}
}

func TestGroupHandlerContextCancelsEveryOperation(t *testing.T) {
	for _, g := range groups {
		for _, tok := range groupTokens {
			t.Run(g.name+"/"+tok.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					io := executor.NewIOContext()
					obj := newTestIO(io)
					pends := []*pendingOp{obj.newPending(), obj.newPending()}
					ctx, cancel := context.WithCancel(t.Context())
					h, p := tok.new(nil)
					g.run(io, completion.WithContext(ctx, h), pends[0].Start, pends[1].Start)
					runDone := make(chan struct{})
					go func() {
						io.Run()
						close(runDone)
					}()
					<-pends[0].Started()
					<-pends[1].Started()
					cancel()
					<-runDone
					got := p.wait()
					want := groupResult{Results: []opResult{canceledResult, canceledResult}}
					if diff := cmp.Diff(want, got, cmpopts.EquateErrors(), cmpopts.IgnoreFields(groupResult{}, "Order")); diff != "" {
						t.Fatalf("%s delivered (-want +got):\n%s", g.name, diff)
					}
					if !isPermutation(got.Order, 2) {
						t.Fatalf("Order = %v", got.Order)
					}
				})
			})
		}
	}
}

func TestGroupWithAContextAlreadyDone(t *testing.T) {
	// The group's result cannot carry an error, so the group does not fail as a whole: it hands the
	// ended context to every operation, each completes at once with its cancellation error, and the
	// group delivers them all (never inside the initiating call).
	for _, g := range groups {
		for _, tok := range groupTokens {
			t.Run(g.name+"/"+tok.name, func(t *testing.T) {
				io := executor.NewIOContext()
				obj := newTestIO(io)
				h, p := tok.new(nil)
				inIOHandler(io, func() {
					g.run(io, completion.WithContext(doneContext(), h), obj.newPending().Start, obj.newPending().Start)
					expectNotDelivered(t, p, "inside the initiating function")
				})
				got, ok := p.result()
				if !ok {
					t.Fatal("the group did not complete")
				}
				want := groupResult{Results: []opResult{canceledResult, canceledResult}}
				if diff := cmp.Diff(want, got, cmpopts.EquateErrors(), cmpopts.IgnoreFields(groupResult{}, "Order")); diff != "" {
					t.Fatalf("%s delivered (-want +got):\n%s", g.name, diff)
				}
				if !isPermutation(got.Order, 2) {
					t.Fatalf("Order = %v", got.Order)
				}
			})
		}
	}
}

func TestGroupOfNoOperationsCompletesPosted(t *testing.T) {
	for _, g := range groups {
		for _, tok := range groupTokens {
			t.Run(g.name+"/"+tok.name, func(t *testing.T) {
				io := executor.NewIOContext()
				h, p := tok.new(nil)
				inIOHandler(io, func() {
					g.run(io, h)
					expectNotDelivered(t, p, "inside the initiating function")
				})
				got, ok := p.result()
				if !ok {
					t.Fatal("an empty group did not complete")
				}
				if diff := cmp.Diff(groupResult{}, got, cmpopts.EquateEmpty()); diff != "" {
					t.Fatalf("%s of nothing delivered (-want +got):\n%s", g.name, diff)
				}
			})
		}
	}
}

// overlapExecutor wraps a pool's executor and counts handlers that run while another of its
// handlers is running. Each handler sleeps a moment before it counts itself in, and again before
// it looks: in a synctest bubble the clock moves only when every goroutine waits, so every idle
// runner of the pool takes a handler meanwhile, and handlers that are not serialised do overlap,
// deterministically, and the race detector sees them unordered. Counting in only after the first
// pause keeps a strand's hand-off out of the count: the next handler a strand posts from inside
// its last one starts its pause while that one is still finishing, which is no overlap. Dispatch
// posts, so that no handler runs nested inside another.
type overlapExecutor struct {
	executor.Executor
	inside, overlaps atomic.Int32
}

func (o *overlapExecutor) wrap(f func()) func() {
	return func() {
		time.Sleep(time.Millisecond)
		o.inside.Add(1)
		time.Sleep(time.Millisecond)
		if o.inside.Load() > 1 {
			o.overlaps.Add(1)
		}
		f()
		o.inside.Add(-1)
	}
}

func (o *overlapExecutor) Post(f func())     { o.Executor.Post(o.wrap(f)) }
func (o *overlapExecutor) Dispatch(f func()) { o.Executor.Post(o.wrap(f)) }
func (o *overlapExecutor) Defer(f func())    { o.Executor.Post(o.wrap(f)) }

func TestGroupOverAThreadPoolSerialisesItsHandlers(t *testing.T) {
	// The group's bookkeeping runs in handlers of its executor, here a pool of four goroutines:
	// they must be serialised (the group's strand), or they would overlap and race.
	const n = 16
	for _, g := range groups {
		for _, tok := range groupTokens {
			t.Run(g.name+"/"+tok.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					pool := executor.NewThreadPool(4)
					defer pool.Join()
					ex := &overlapExecutor{Executor: pool.Executor()}
					obj := newTestIO(pool.Executor())
					var ops []func(completion.Handler[opResult])
					var pends []*pendingOp
					for range n {
						pend := obj.newPending()
						pends = append(pends, pend)
						ops = append(ops, pend.Start)
					}
					h, p := tok.new(nil)
					g.run(ex, h, ops...)
					// Advance the bubble's clock past the wrapper's pauses, so the group's first step
					// has started every operation and returned before any completes (a completion
					// may run beside that step: it is not the group's bookkeeping).
					for _, pend := range pends {
						<-pend.Started()
					}
					time.Sleep(time.Second)
					var finishers sync.WaitGroup
					for i, pend := range pends {
						finishers.Go(func() { pend.Finish(i) })
					}
					finishers.Wait()
					// Again, past every pause: all the handlers that will ever run have run.
					time.Sleep(time.Second)
					got, ok := p.result()
					if !ok {
						t.Fatal("the group did not complete after every operation completed")
					}
					if n := ex.overlaps.Load(); n != 0 {
						t.Fatalf("%d of the group's handlers ran while another was running", n)
					}
					if !isPermutation(got.Order, n) {
						t.Fatalf("Order = %v, want every operation once", got.Order)
					}
					for i, r := range got.Results {
						// AllOf: every result. FirstOf: the others may have been canceled first.
						if r.V != i && !(g.name == "FirstOf" && errors.Is(r.Err, context.Canceled)) {
							t.Fatalf("result %d = %+v", i, r)
						}
					}
				})
			})
		}
	}
}

func TestGroupDeliversOnTheHandlersExecutor(t *testing.T) {
	// The group's handler keeps its associated executor, also with a context bound over it.
	for _, g := range groups {
		for _, tok := range groupTokens {
			t.Run(g.name+"/"+tok.name, func(t *testing.T) {
				io, ctx2 := executor.NewIOContext(), executor.NewIOContext()
				obj := newTestIO(io)
				var onCtx2 bool
				h, p := tok.new(func() { onCtx2 = ctx2.RunningInThisThread() })
				g.run(io, completion.WithContext(t.Context(), completion.Bind(ctx2, h)),
					func(h completion.Handler[opResult]) { obj.AsyncImmediate(1, h) })
				io.Run()
				expectNotDelivered(t, p, "before its executor ran")
				ctx2.Run()
				if _, ok := p.result(); !ok {
					t.Fatal("the group did not deliver on the handler's executor")
				}
				if tok.name == "callback" && gidKnown() && !onCtx2 {
					t.Fatal("the handler ran outside its executor")
				}
			})
		}
	}
}

// A group on an IOContext run by several goroutines, whose operations complete from goroutines of
// their own while the group is still starting the others: its state is touched on its strand
// only. Run under -race.
func TestGroupOnSeveralRunGoroutinesWhileStarting(t *testing.T) {
	for range 20 {
		io := executor.NewIOContext()
		f := completion.NewFuture[composed.GroupResult[int]]()
		var ops []func(completion.Handler[int])
		for k := range 4 {
			ops = append(ops, func(h completion.Handler[int]) {
				io.OnWorkStarted()
				go func() { // completes on its handler's executor, as operations must
					completion.AssociatedExecutor(h, io).Dispatch(func() {
						defer io.OnWorkFinished()
						h.Complete(k)
					})
				}()
				time.Sleep(100 * time.Microsecond) // the group is still starting operations
			})
		}
		io.Post(func() { composed.AllOf(io, f, ops...) })
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { io.Run() })
		}
		wg.Wait()
		r, ok := f.Result()
		if !ok || len(r.Order) != 4 || r.Results[3] != 3 {
			t.Fatalf("result %+v, %v; want all four", r, ok)
		}
	}
}

// A group whose operation's initiating function panics, after another operation has started, is
// abandoned by the panic: its operations' late handlers must not call Complete on the abandoned Op
// (Run would panic a second time). The operation already started is cancelled, its handler does
// nothing, and the group never delivers nor holds Run up.
func TestGroupAbandonedByAPanickingStartCancelsWhatItStarted(t *testing.T) {
	ioc := executor.NewIOContext()
	obj := newTestIO(ioc)
	slow := obj.newPending() // ends only when cancelled
	var got []composed.GroupResult[opResult]
	runGroupWithAPanickingStart(t, ioc, &got, slow.Start, func(h completion.Handler[opResult]) { obj.AsyncImmediate(2, h) })
	second := make(chan any, 1)
	go func() {
		defer func() { second <- recover() }()
		ioc.Run() // returns only once the cancelled operation has completed
	}()
	select {
	case v := <-second:
		if v != nil {
			t.Fatalf("the abandoned group's operations completed, and Run panicked again: %v", v)
		}
	case <-time.After(10 * time.Second):
		slow.Finish(1) // lets Run return, so that the test ends
		<-second
		t.Fatal("Run held up for 10 s: the operation the group had started was not cancelled")
	}
	if len(got) > 0 {
		t.Fatal("an abandoned group delivered")
	}
	if slow.Finish(1) {
		t.Fatal("the operation the group had started was not cancelled")
	}
}

// Operations that ignore their handler's executor and complete on goroutines of their own: their
// results still land on the group's strand, so the group's result is never raced. Run under
// -race.
func TestGroupOperationsCompletedOffTheExecutor(t *testing.T) {
	for range 50 {
		io := executor.NewIOContext()
		f := completion.NewFuture[composed.GroupResult[opResult]]()
		composed.AllOf(io, f,
			func(h completion.Handler[opResult]) { completeFromGoroutine(io, h, opResult{V: 1}) },
			func(h completion.Handler[opResult]) { completeFromGoroutine(io, h, opResult{V: 2}) })
		io.Run()
		r := f.Wait()
		if diff := cmp.Diff([]opResult{{V: 1}, {V: 2}}, r.Results); diff != "" || len(r.Order) != 2 {
			t.Fatalf("results (-want +got):\n%s\norder %v", diff, r.Order)
		}
	}
}

// A group whose operations all completed inline before an initiating function panicked had
// completed: the panic leaves Run, and the group is delivered, as an Op whose body panics after
// Complete is.
func TestGroupCompletedBeforeAPanickingStartIsDelivered(t *testing.T) {
	ioc := executor.NewIOContext()
	obj := newTestIO(ioc)
	var got []composed.GroupResult[opResult]
	runGroupWithAPanickingStart(t, ioc, &got,
		func(h completion.Handler[opResult]) { obj.AsyncInline(1, h) },
		func(h completion.Handler[opResult]) { obj.AsyncInline(2, h) })
	ioc.Run()
	want := []composed.GroupResult[opResult]{{Order: []int{0, 1}, Results: []opResult{{V: 1}, {V: 2}}}}
	if !gidKnown() {
		// Where goroutines cannot be told apart, the group's strand cannot tell that the inline
		// completions run on it: they are posted, behind the step the panic abandons, and the
		// abandoned group delivers nothing.
		want = nil
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("deliveries (-want +got):\n%s", diff)
	}
}

// runGroupWithAPanickingStart starts AllOf of first and of an operation whose initiating function
// starts second and then panics, runs ioc until the panic leaves Run, and restarts it. The group's
// deliveries are appended to got.
func runGroupWithAPanickingStart(t *testing.T, ioc *executor.IOContext, got *[]composed.GroupResult[opResult], first, second func(completion.Handler[opResult])) {
	t.Helper()
	composed.AllOf(ioc, completion.Callback(func(r composed.GroupResult[opResult]) { *got = append(*got, r) }),
		first,
		func(h completion.Handler[opResult]) {
			second(h)
			panic("start failed")
		},
	)
	if v := runRecovering(t, ioc); v != "start failed" {
		t.Fatalf("Run panicked with %v, want the start's panic", v)
	}
	ioc.Restart()
}
