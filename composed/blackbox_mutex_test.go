package composed_test

// Black-box tests of composed.Mutex (go doc composed Mutex, docs/composed.md "Waiting for a
// resource: Mutex"): at most one holder, FIFO hand-off, the grant never inside the call and on the
// waiter's own step executor, cancellation of a waiter, FailWaiters, misuse, allocations.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// bbLocker is an operation that waits for the mutex, holds it (across an inner operation when
// inner is set), and gives it back.
type bbLocker struct {
	op      composed.Op[error]
	m       *composed.Mutex
	d       *bbDomain
	io      executor.Executor
	id      int
	inner   bool
	holders *atomic.Int32
	shared  *int // guarded by the mutex alone: -race checks the hand-off's happens-before
	bad     *bbBad
	onLock  func(id int) // called right after AsyncLock returns
	onGrant func(id int)

	lock     composed.Slot[error]
	work     composed.Slot[bbRes]
	inLock   bool
	holding  bool
	finished bool
	granted  bool
}

func (l *bbLocker) start(h completion.Handler[error]) { l.op.Start(l.io, h, l) }

func (l *bbLocker) Step(op *composed.Op[error]) {
	l.d.enter()
	defer l.d.exit()
	if l.finished {
		l.bad.add("locker %d: entered after it completed", l.id)
		return
	}
	if l.inLock {
		l.bad.add("locker %d: resumed inside AsyncLock", l.id)
	}
	if !op.Resumed() {
		l.inLock = true
		l.m.AsyncLock(composed.Into(op, &l.lock))
		l.inLock = false
		if l.lock.Ready() {
			l.bad.add("locker %d: granted inside AsyncLock", l.id)
		}
		if !l.m.Locked() {
			l.bad.add("locker %d: the mutex is not locked after AsyncLock", l.id)
		}
		if l.onLock != nil {
			l.onLock(l.id)
		}
		return
	}
	if !l.holding {
		if l.lock.Value != nil {
			l.finished = true
			op.Complete(l.lock.Value)
			return
		}
		l.holding, l.granted = true, true
		if n := l.holders.Add(1); n != 1 {
			l.bad.add("locker %d: %d holders at once", l.id, n)
		}
		*l.shared++
		if l.onGrant != nil {
			l.onGrant(l.id)
		}
		if l.inner {
			h := composed.Into(op, &l.work)
			l.io.Post(func() { h.Complete(bbRes{}) })
			return
		}
	}
	l.holders.Add(-1)
	l.holding = false
	l.finished = true
	l.m.Unlock()
	op.Complete(nil)
}

// "At most one operation holds it": thousands of operations on strands over a pool and on a
// one-goroutine IOContext, started at once from several goroutines, some holding the mutex across
// an inner operation, some taking it with TryLock from a plain handler.
func TestBlackboxMutexOneHolderAcrossStrands(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	var runner sync.WaitGroup
	runner.Go(func() { ioc.Run() })
	defer func() { guard.Reset(); runner.Wait() }()

	ss, ds, exs := bbStrands(pool.Executor(), 4, "mutex strand")
	exs = append(exs, ioc)
	ds = append(ds, &bbDomain{name: "mutex one-goroutine IOContext", on: ioc.RunningInThisThread})
	var m composed.Mutex
	var holders atomic.Int32
	shared := 0
	bad := &bbBad{}
	const n = 2000
	var done sync.WaitGroup
	done.Add(n)
	var tried atomic.Int64
	var starters sync.WaitGroup
	for g := range 4 {
		starters.Go(func() {
			for i := g; i < n; i += 4 {
				l := &bbLocker{m: &m, d: ds[i%len(ds)], io: exs[i%len(exs)], id: i, inner: i%3 == 0,
					holders: &holders, shared: &shared, bad: bad}
				h := completion.Callback(func(err error) {
					if err != nil {
						bad.add("locker %d: %v", l.id, err)
					}
					done.Done()
				})
				if i%2 == 0 {
					l.start(h)
				} else {
					exs[i%len(exs)].Post(func() { l.start(h) })
				}
				if i%7 == 0 { // a plain handler of a strand takes it with TryLock
					s := ss[i%len(ss)]
					s.Post(func() {
						if m.TryLock() {
							tried.Add(1)
							if k := holders.Add(1); k != 1 {
								bad.add("TryLock: %d holders at once", k)
							}
							shared++
							holders.Add(-1)
							m.Unlock()
						}
					})
				}
			}
		})
	}
	starters.Wait()
	ch := make(chan struct{})
	go func() { done.Wait(); close(ch) }()
	bbWait(t, ch, "every locker")
	// Let the strands drain their TryLock handlers.
	for _, s := range ss {
		c := make(chan struct{})
		s.Post(func() { close(c) })
		<-c
	}
	bad.report(t)
	for _, d := range ds {
		d.check(t)
	}
	if m.Locked() {
		t.Errorf("the mutex is still locked after every holder gave it back")
	}
	lock := make(chan struct{})
	ioc.Post(func() { // read shared under the mutex's protection, as a holder would
		if !m.TryLock() {
			t.Errorf("TryLock failed on a free mutex")
		} else {
			if want := n + int(tried.Load()); shared != want {
				t.Errorf("shared = %d, want %d", shared, want)
			}
			m.Unlock()
		}
		close(lock)
	})
	<-lock
}

// "Unlock ... hands it straight to the first operation waiting, in the order they started
// waiting; a waiter on another strand is resumed on its own strand."
func TestBlackboxMutexFIFO(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	_, ds, exs := bbStrands(pool.Executor(), 5, "fifo strand")
	var m composed.Mutex
	if !m.TryLock() {
		t.Fatal("TryLock of the zero Mutex failed")
	}
	var holders atomic.Int32
	shared := 0
	bad := &bbBad{}
	const n = 300
	var mu sync.Mutex
	var locked, granted []int
	var done sync.WaitGroup
	done.Add(n)
	for i := range n {
		called := make(chan struct{})
		l := &bbLocker{m: &m, d: ds[i%len(ds)], io: exs[i%len(exs)], id: i, inner: i%2 == 0,
			holders: &holders, shared: &shared, bad: bad,
			onLock:  func(id int) { mu.Lock(); locked = append(locked, id); mu.Unlock(); close(called) },
			onGrant: func(id int) { mu.Lock(); granted = append(granted, id); mu.Unlock() },
		}
		l.start(completion.Callback(func(err error) {
			if err != nil {
				bad.add("locker %d: %v", l.id, err)
			}
			done.Done()
		}))
		<-called // the next starts waiting only after this one did
	}
	m.Unlock() // from a goroutine outside every executor: the first waiter's turn
	ch := make(chan struct{})
	go func() { done.Wait(); close(ch) }()
	bbWait(t, ch, "every locker")
	bad.report(t)
	for _, d := range ds {
		d.check(t)
	}
	for i := range locked {
		if i >= len(granted) || granted[i] != locked[i] {
			t.Fatalf("grant %d went to %v, want %d (waited in order %v...)", i, granted[i:min(i+5, len(granted))], locked[i], locked[i:min(i+5, len(locked))])
		}
	}
}

// AsyncLock of a free mutex takes it at the call: TryLock after it fails, and the grant lands
// later, on the step executor. Unlock from the waiter's own strand does not run its step inside.
func TestBlackboxMutexGrantNeverInsideTheCall(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	d := bbStrandDomain("grant strand", strand)
	var m composed.Mutex
	var holders atomic.Int32
	shared := 0
	bad := &bbBad{}
	for i := range 200 {
		got := make(chan error, 2)
		l := &bbLocker{m: &m, d: d, io: strand, id: i, holders: &holders, shared: &shared, bad: bad,
			onLock: func(int) {
				if m.TryLock() {
					bad.add("TryLock succeeded right after AsyncLock of a free mutex: two holders")
					m.Unlock()
				}
			}}
		l.start(completion.Callback(func(err error) { got <- err }))
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	// A holder on the strand unlocks with a waiter on the same strand queued.
	if !m.TryLock() {
		t.Fatal("TryLock failed")
	}
	got := make(chan error, 1)
	waiter := &bbLocker{m: &m, d: d, io: strand, id: -1, holders: &holders, shared: &shared, bad: bad}
	called := make(chan struct{})
	waiter.onLock = func(int) { close(called) }
	waiter.start(completion.Callback(func(err error) { got <- err }))
	<-called
	unlocked := make(chan struct{})
	strand.Post(func() {
		d.enter()
		m.Unlock() // the waiter's step must not run in here: enter would see an overlap
		d.exit()
		close(unlocked)
	})
	<-unlocked
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	bad.report(t)
	d.check(t)
}

// "A waiter whose context ends leaves the queue and lands with the cancellation error (it matches
// completion.ErrOperationAborted)"; the next waiter is next in line; the mutex ends free.
func TestBlackboxMutexCancelledWaiterLeavesTheQueue(t *testing.T) {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	var runner sync.WaitGroup
	runner.Go(func() { ioc.Run() })
	defer func() { guard.Reset(); runner.Wait() }()
	d := &bbDomain{name: "cancel IOContext", on: ioc.RunningInThisThread}
	var m composed.Mutex
	m.TryLock()
	var holders atomic.Int32
	shared := 0
	bad := &bbBad{}
	ctx, cancel := context.WithCancel(context.Background())
	res := [2]chan error{make(chan error, 1), make(chan error, 1)}
	ls := [2]*bbLocker{}
	for i := range 2 {
		called := make(chan struct{})
		ls[i] = &bbLocker{m: &m, d: d, io: ioc, id: i, holders: &holders, shared: &shared, bad: bad,
			onLock: func(int) { close(called) }}
		var h completion.Handler[error] = completion.Callback(func(err error) { res[i] <- err })
		if i == 0 {
			h = completion.WithContext(ctx, h)
		}
		ls[i].start(h)
		<-called
	}
	cancel()
	if err := <-res[0]; !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled waiter landed with %v", err)
	}
	m.Unlock()
	if err := <-res[1]; err != nil {
		t.Errorf("the second waiter landed with %v", err)
	}
	if ls[0].granted {
		t.Errorf("the cancelled waiter was granted the mutex")
	}
	locked := make(chan bool)
	ioc.Post(func() { locked <- m.Locked() })
	if <-locked {
		t.Errorf("the mutex is locked after every holder gave it back")
	}
	bad.report(t)
	d.check(t)
}

// "If the mutex is handed to it first, the grant stands": Unlock, then the waiter's context ends,
// both in one handler: the waiter holds the mutex.
func TestBlackboxMutexGrantStandsAfterCancel(t *testing.T) {
	ioc := executor.NewIOContext()
	var m composed.Mutex
	m.TryLock()
	var holders atomic.Int32
	shared := 0
	bad := &bbBad{}
	d := &bbDomain{name: "grant stands"}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	l := &bbLocker{m: &m, d: d, io: ioc, holders: &holders, shared: &shared, bad: bad}
	l.start(completion.WithContext(ctx, completion.Callback(func(err error) { got <- err })))
	ioc.Post(func() { m.Unlock(); cancel() })
	ioc.Run()
	if err := <-got; err != nil || !l.granted {
		t.Errorf("granted %v, then cancelled: the waiter landed with %v, want the grant (nil)", l.granted, err)
	}
	if m.Locked() {
		t.Errorf("the mutex is locked after its holder gave it back")
	}
	bad.report(t)
}

// A release racing a waiter's cancellation (and FailWaiters) never loses the mutex nor grants it
// twice: the waiter either holds it (and gives it back) or lands with the error, and the waiter
// behind it always gets its turn. Strands over a pool; the release, the cancellation and
// FailWaiters from different goroutines at once.
func TestBlackboxMutexReleaseRacesCancellation(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	ss, ds, _ := bbStrands(pool.Executor(), 2, "race strand")
	failErr := errors.New("bb: stream closed")
	var holders atomic.Int32
	shared := 0
	bad := &bbBad{}
	outcomes := map[string]int{}
	const n = 400
	for i := range n {
		var m composed.Mutex
		m.TryLock() // the test holds it
		ctx, cancel := context.WithCancel(context.Background())
		res := [2]chan error{make(chan error, 1), make(chan error, 1)}
		ls := [2]*bbLocker{}
		for k := range 2 {
			called := make(chan struct{})
			ls[k] = &bbLocker{m: &m, d: ds[k], io: ss[k], id: k, inner: true, holders: &holders, shared: &shared, bad: bad,
				onLock: func(int) { close(called) }}
			var h completion.Handler[error] = completion.Callback(func(err error) { res[k] <- err })
			if k == 0 {
				h = completion.WithContext(ctx, h)
			}
			ls[k].start(h)
			<-called
		}
		var g sync.WaitGroup
		g.Go(func() { cancel() })
		g.Go(func() { m.Unlock() })
		withFail := i%4 == 3
		if withFail {
			g.Go(func() { m.FailWaiters(failErr) })
		}
		g.Wait()
		e0 := <-res[0]
		e1 := <-res[1]
		switch {
		case e0 == nil && !ls[0].granted, e0 != nil && ls[0].granted:
			bad.add("iteration %d: waiter 0 landed with %v but granted=%v", i, e0, ls[0].granted)
		case e0 != nil && !errors.Is(e0, completion.ErrOperationAborted) && !errors.Is(e0, failErr):
			bad.add("iteration %d: waiter 0 landed with %v", i, e0)
		case e1 != nil && !(withFail && errors.Is(e1, failErr)):
			bad.add("iteration %d: waiter 1 (no context) landed with %v", i, e1)
		}
		key := "w0 " + errName(e0, failErr) + ", w1 " + errName(e1, failErr)
		outcomes[key]++
		// Either way, the mutex is free now, and nobody holds it twice.
		c := make(chan bool)
		ss[0].Post(func() { c <- m.Locked() })
		if <-c {
			bad.add("iteration %d: the mutex is still locked (w0 %v, w1 %v): lost", i, e0, e1)
		}
		cancel()
	}
	t.Logf("outcomes: %v", outcomes)
	bad.report(t)
	for _, d := range ds {
		d.check(t)
	}
}

func errName(err, failErr error) string {
	switch {
	case err == nil:
		return "granted"
	case errors.Is(err, failErr):
		return "failed"
	case errors.Is(err, completion.ErrOperationAborted):
		return "aborted"
	}
	return err.Error()
}

// "m.FailWaiters(err) lands every waiter with err ... The operation that holds the mutex keeps it;
// later calls of AsyncLock wait as usual."
func TestBlackboxMutexFailWaiters(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	_, ds, exs := bbStrands(pool.Executor(), 3, "fail strand")
	var m composed.Mutex
	m.TryLock()
	var holders atomic.Int32
	shared := 0
	bad := &bbBad{}
	failErr := errors.New("bb: closed")
	const n = 50
	res := make(chan error, n)
	for i := range n {
		called := make(chan struct{})
		l := &bbLocker{m: &m, d: ds[i%3], io: exs[i%3], id: i, holders: &holders, shared: &shared, bad: bad,
			onLock: func(int) { close(called) }}
		l.start(completion.Callback(func(err error) { res <- err }))
		<-called
	}
	if k := m.FailWaiters(failErr); k != n {
		t.Errorf("FailWaiters returned %d, want %d", k, n)
	}
	for range n {
		if err := <-res; !errors.Is(err, failErr) {
			t.Errorf("a waiter landed with %v, want %v", err, failErr)
		}
	}
	if !m.Locked() {
		t.Errorf("the holder lost the mutex to FailWaiters")
	}
	// A later waiter waits as usual.
	got := make(chan error, 1)
	called := make(chan struct{})
	l := &bbLocker{m: &m, d: ds[0], io: exs[0], id: n, holders: &holders, shared: &shared, bad: bad,
		onLock: func(int) { close(called) }}
	l.start(completion.Callback(func(err error) { got <- err }))
	<-called
	probe := make(chan struct{})
	exs[0].Post(func() { close(probe) })
	<-probe
	select {
	case err := <-got:
		t.Fatalf("a waiter after FailWaiters landed (%v) while the mutex was still held", err)
	default:
	}
	if k := m.FailWaiters(failErr); k != 1 {
		t.Errorf("FailWaiters returned %d with one waiter", k)
	}
	if err := <-got; !errors.Is(err, failErr) {
		t.Errorf("landed with %v", err)
	}
	if k := m.FailWaiters(failErr); k != 0 {
		t.Errorf("FailWaiters returned %d with none", k)
	}
	m.Unlock()
	if m.Locked() {
		t.Errorf("locked after Unlock")
	}
	bad.report(t)
}

// "Unlock of a mutex that nothing holds panics."
func TestBlackboxMutexUnlockNotHeldPanics(t *testing.T) {
	var m composed.Mutex
	if bbPanic(m.Unlock) == nil {
		t.Errorf("Unlock of the zero Mutex did not panic")
	}
	if !m.TryLock() {
		t.Fatalf("TryLock failed after the misuse")
	}
	if m.TryLock() {
		t.Errorf("TryLock succeeded twice")
	}
	m.Unlock()
	if bbPanic(m.Unlock) == nil {
		t.Errorf("a second Unlock did not panic")
	}
	if m.Locked() {
		t.Errorf("Locked after the misuse")
	}
}

// bbLoopLocker takes and gives back the mutex rounds times, through AsyncLock, on a kept Op.
type bbLoopLocker struct {
	op     composed.Op[error]
	m      *composed.Mutex
	lock   composed.Slot[error]
	rounds int
	n      int
}

func (l *bbLoopLocker) Step(op *composed.Op[error]) {
	if op.Resumed() {
		if l.lock.Value != nil {
			op.Complete(l.lock.Value)
			return
		}
		l.n++
		l.m.Unlock()
		if l.n == l.rounds {
			op.Complete(nil)
			return
		}
	}
	l.m.AsyncLock(composed.Into(op, &l.lock))
}

// "Taking and giving it back allocates nothing once its queue has grown to the number of
// waiters": two operations taking turns, kept and started again; the allocations of a run of
// many rounds and of a run of few differ by less than one.
func TestBlackboxMutexNoAllocationPerLock(t *testing.T) {
	var m0 composed.Mutex
	if n := testing.AllocsPerRun(100, func() {
		m0.TryLock()
		m0.Unlock()
	}); n != 0 {
		t.Errorf("TryLock and Unlock allocate %v", n)
	}
	ioc := executor.NewIOContext()
	var m composed.Mutex
	a, b := &bbLoopLocker{m: &m}, &bbLoopLocker{m: &m}
	var errs int
	h := completion.Callback(func(err error) {
		if err != nil {
			errs++
		}
	})
	run := func(rounds int) func() {
		return func() {
			a.rounds, a.n, b.rounds, b.n = rounds, 0, rounds, 0
			ioc.Restart()
			ioc.Post(func() { a.op.Start(ioc, h, a); b.op.Start(ioc, h, b) })
			ioc.Run()
		}
	}
	run(10)() // grow the queue
	few := testing.AllocsPerRun(20, run(10))
	many := testing.AllocsPerRun(20, run(1010))
	if errs != 0 {
		t.Fatalf("%d lockers failed", errs)
	}
	if a.n != 1010 || b.n != 1010 {
		t.Fatalf("rounds %d %d", a.n, b.n)
	}
	if per := (many - few) / 2000; many-few >= 1 && !raceEnabled {
		t.Errorf("2000 more lock/unlock rounds cost %v more allocations (%v per round; %v for 20 rounds, %v for 2020)", many-few, per, few, many)
	}
}
