package composed_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// lockingOp is a composed operation that waits for a Mutex, runs its turn and gives the mutex
// back: a ping that waits for a message's frames to be written. It is kept and started again, as a
// stream keeps its operations. turn runs while the operation holds the mutex; its result is the
// mutex's error (nil when the turn ran).
type lockingOp struct {
	op     composed.Op[error]
	m      *composed.Mutex
	lock   composed.Slot[error]
	turn   func()
	inCall bool // the first step is inside AsyncLock: the slot must not land there
}

func (l *lockingOp) Step(op *composed.Op[error]) {
	if !op.Resumed() {
		l.inCall = true
		l.m.AsyncLock(composed.Into(op, &l.lock))
		l.inCall = false
		return
	}
	if l.inCall {
		panic("AsyncLock completed inside the call")
	}
	if l.lock.Value != nil {
		op.Complete(l.lock.Value)
		return
	}
	if l.turn != nil {
		l.turn()
	}
	l.m.Unlock()
	op.Complete(nil)
}

func (l *lockingOp) start(ex executor.Executor, h completion.Handler[error]) { l.op.Start(ex, h, l) }

func TestMutexUncontendedCompletesPostedOnTheStepExecutor(t *testing.T) {
	ioc := executor.NewIOContext()
	strand := executor.NewStrand(ioc)
	var m composed.Mutex
	onStrand := false
	l := &lockingOp{m: &m, turn: func() { onStrand = strand.RunningInThisThread() || !gidKnown() }}
	var got []error
	l.start(ioc, completion.Bind[error](strand, completion.Callback(func(err error) { got = append(got, err) })))
	ioc.Run()
	if !slices.Equal(got, []error{nil}) || !onStrand {
		t.Fatalf("handler received %v; turn on the strand: %v", got, onStrand)
	}
	if m.Locked() {
		t.Fatal("the mutex is still held")
	}
}

func TestMutexHandsOverInFIFOOrder(t *testing.T) {
	ioc := executor.NewIOContext()
	var m composed.Mutex
	if !m.TryLock() {
		t.Fatal("TryLock of a free mutex failed")
	}
	if m.TryLock() {
		t.Fatal("TryLock of a held mutex succeeded")
	}
	var order []int
	for i := range 4 {
		l := &lockingOp{m: &m, turn: func() { order = append(order, i) }}
		l.start(ioc, completion.Callback(func(err error) {
			if err != nil {
				t.Errorf("waiter %d: %v", i, err)
			}
		}))
	}
	ioc.Poll() // every operation is waiting now
	if len(order) != 0 {
		t.Fatalf("turns %v ran while the mutex was held", order)
	}
	m.Unlock()
	ioc.Run()
	if !slices.Equal(order, []int{0, 1, 2, 3}) {
		t.Fatalf("turns ran in the order %v, want the order they started waiting", order)
	}
	if m.Locked() {
		t.Fatal("the mutex is still held")
	}
}

func TestMutexCanceledWaiterLeavesTheQueue(t *testing.T) {
	ioc := executor.NewIOContext()
	var m composed.Mutex
	m.TryLock()
	ctx, cancel := context.WithCancel(context.Background())
	var results [3]error
	var turns []int
	for i := range 3 {
		l := &lockingOp{m: &m, turn: func() { turns = append(turns, i) }}
		var h completion.Handler[error] = completion.Callback(func(err error) { results[i] = err })
		if i == 1 {
			h = completion.WithContext(ctx, h)
		}
		l.start(ioc, h)
	}
	ioc.Poll()
	cancel()
	// The cancellation arrives on context.AfterFunc's goroutine and is posted to the context.
	for results[1] == nil {
		ioc.RunOne()
	}
	if !errors.Is(results[1], completion.ErrOperationAborted) || !errors.Is(results[1], context.Canceled) {
		t.Fatalf("the canceled waiter received %v, want the abort error", results[1])
	}
	m.Unlock()
	ioc.Run()
	if !slices.Equal(turns, []int{0, 2}) || results[0] != nil || results[2] != nil {
		t.Fatalf("turns %v, results %v; want turns [0 2] with nil results", turns, results)
	}
	if m.Locked() {
		t.Fatal("the mutex is still held")
	}
}

func TestMutexWaiterWithAContextAlreadyDone(t *testing.T) {
	ioc := executor.NewIOContext()
	var m composed.Mutex
	var got error
	m.AsyncLock(completion.Bind[error](ioc, completion.WithContext(doneContext(), completion.Callback(func(err error) { got = err }))))
	ioc.Run()
	if !errors.Is(got, completion.ErrOperationAborted) {
		t.Fatalf("got %v, want the abort error", got)
	}
	if m.Locked() {
		t.Fatal("a waiter whose context was done took the mutex")
	}
}

// A release racing a waiter's cancellation: whichever comes first decides, the waiter completes
// exactly once, and the mutex ends up free once the waiter that got it gives it back.
func TestMutexReleaseRacingCancellation(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	granted, aborted := 0, 0
	for range 500 {
		var m composed.Mutex
		m.TryLock()
		ctx, cancel := context.WithCancel(context.Background())
		results := make(chan error, 2)
		l := &lockingOp{m: &m}
		l.start(strand, completion.WithContext(ctx, completion.Callback(func(err error) { results <- err })))
		// Wait until the operation is queued, then release and cancel from two goroutines.
		queued := make(chan struct{})
		strand.Post(func() { close(queued) }) // behind the operation's first step
		<-queued
		var wg sync.WaitGroup
		wg.Go(m.Unlock)
		wg.Go(cancel)
		wg.Wait()
		switch err := <-results; {
		case err == nil:
			granted++
		case errors.Is(err, completion.ErrOperationAborted):
			aborted++
		default:
			t.Fatalf("the waiter received %v", err)
		}
		// The waiter's handler has run: if it was granted the mutex, it gave it back first.
		if m.Locked() {
			t.Fatal("the mutex is still held")
		}
		select {
		case err := <-results:
			t.Fatalf("the waiter completed twice; again with %v", err)
		default:
		}
	}
	t.Logf("granted %d, aborted %d", granted, aborted)
}

// Operations on two strands over a pool of two goroutines take turns: each turn touches the same
// state without a lock, so the race detector reports any overlap, and the count shows none lost.
func TestMutexWaitersOnOtherStrands(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	const perStrand, rounds = 3, 200
	var m composed.Mutex
	var ex exclusion
	turns := 0
	var done sync.WaitGroup
	for s := range 2 {
		strand := executor.NewStrand(pool.Executor())
		for range perStrand {
			l := &lockingOp{m: &m, turn: func() {
				ex.enter()
				turns++
				ex.exit()
			}}
			left := rounds
			done.Add(1)
			var again completion.Func[error]
			again = func(err error) {
				if err != nil {
					t.Errorf("strand %d: %v", s, err)
				}
				if left--; left == 0 {
					done.Done()
					return
				}
				l.start(strand, again)
			}
			strand.Post(func() { l.start(strand, again) })
		}
	}
	done.Wait()
	if n := ex.violations.Load(); n != 0 {
		t.Fatalf("%d turns overlapped", n)
	}
	if turns != 2*perStrand*rounds {
		t.Fatalf("%d turns, want %d", turns, 2*perStrand*rounds)
	}
	if m.Locked() {
		t.Fatal("the mutex is still held")
	}
}

func TestMutexFailWaiters(t *testing.T) {
	ioc := executor.NewIOContext()
	var m composed.Mutex
	m.TryLock()
	closed := errors.New("stream closed")
	var results []error
	for range 3 {
		l := &lockingOp{m: &m, turn: func() { t.Error("a turn ran") }}
		l.start(ioc, completion.Callback(func(err error) { results = append(results, err) }))
	}
	ioc.Poll()
	if n := m.FailWaiters(closed); n != 3 {
		t.Fatalf("FailWaiters failed %d waiters, want 3", n)
	}
	ioc.Run()
	if !slices.Equal(results, []error{closed, closed, closed}) {
		t.Fatalf("waiters received %v", results)
	}
	if !m.Locked() {
		t.Fatal("FailWaiters took the mutex from its holder")
	}
	m.Unlock()
	if m.Locked() || m.FailWaiters(closed) != 0 {
		t.Fatal("the mutex is not free and empty")
	}
}

func TestMutexUnlockWhenNotHeldPanics(t *testing.T) {
	var m composed.Mutex
	mustPanic(t, "no operation holds", m.Unlock)
	m.TryLock()
	m.Unlock()
	mustPanic(t, "no operation holds", m.Unlock)
}

// A waiter that is canceled after it was granted the mutex keeps it: its handler gets nil and
// gives it back.
func TestMutexGrantBeforeCancellationKeepsTheGrant(t *testing.T) {
	ioc := executor.NewIOContext()
	var m composed.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	var got atomic.Value
	m.AsyncLock(completion.Bind[error](ioc, completion.WithContext(ctx, completion.Callback(func(err error) {
		got.Store(errOrNil{err})
		m.Unlock()
	}))))
	cancel()
	ioc.Run()
	if e := got.Load(); e == nil || e.(errOrNil).err != nil {
		t.Fatalf("the grant was lost to a later cancellation: %v", e)
	}
}

type errOrNil struct{ err error }

// Lock and unlock cycles, uncontended and contended, chained inside one Run as a stream's
// operations follow each other: once the queue has grown, they allocate nothing. (Run's own
// allocations are spread over the cycles, which is why the bound is not zero.)
func TestMutexSteadyStateAllocatesNothing(t *testing.T) {
	ioc := executor.NewIOContext()
	var m composed.Mutex
	waiter := &lockingOp{m: &m}
	free := &lockingOp{m: &m}
	left := 0
	var onFree, onWaiter completion.Func[error]
	onFree = func(err error) {
		if err != nil {
			t.Error(err)
		}
		// Contended: one holds, the other waits, and the holder hands it over.
		m.TryLock()
		waiter.start(ioc, onWaiter)
		m.Unlock()
	}
	onWaiter = func(err error) {
		if err != nil {
			t.Error(err)
		}
		if left--; left > 0 {
			free.start(ioc, onFree) // uncontended: the grant is posted at once
		}
	}
	run := func(cycles int) uint64 {
		var before, after runtime.MemStats
		left = cycles
		runtime.ReadMemStats(&before)
		ioc.Post(func() { free.start(ioc, onFree) })
		ioc.Run()
		ioc.Restart()
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	run(10) // the queue, the bound funcs and the context's own buffers, once
	const cycles = 10000
	if n := run(cycles); float64(n)/cycles > 0.01 {
		t.Fatalf("%d allocations in %d lock and unlock cycles, want none per cycle", n, cycles)
	}
}
