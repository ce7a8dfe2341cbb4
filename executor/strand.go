package executor

import (
	"sync"
	"sync/atomic"

	"github.com/beastgo/beast/internal/gid"
)

// Strand serialises handlers over any executor: Asio's strand. Handlers submitted through one
// strand never run concurrently, and run in the order they were submitted: if Post(a) happens
// before Post(b), a runs first, whichever goroutines call them and whether or not they are running
// on the strand (Defer, and Dispatch when it queues, count as posts). Distinct strands over one
// executor run concurrently with each other.
//
// A strand runs its handlers in turns, each turn a handler of the inner executor that runs what was
// queued when the turn before it ended (or, for an idle strand, when it began); what is submitted
// meanwhile runs in a later turn, deferred to the inner executor, so a strand that keeps posting to
// itself never starves the inner executor's other handlers. Over an [IOContext] (or a
// [ThreadPool]), a turn whose handlers posted only to the strand runs the next turn itself when the
// context would run that turn next on the same goroutine anyway: nothing else queued or posted, no
// runner asleep, a run call with no limit or deadline, the turn not run inline through Dispatch,
// the context not stopped, and the reactor not due for a look. Order
// and fairness are those of the deferred turn; the trip through the context's queue is saved.
// Submissions from outside the running turn are queued under the strand's lock. A handler of the
// turn queues its own on a private list without the lock, but only while nothing is queued from
// outside: such a submission may have happened before the handler's, so from then on the handler's
// submissions join the locked queue behind it. The order of the calls is the order of the queue
// either way.
type Strand struct {
	inner Executor
	turn  func() // s.runTurn, bound once so that scheduling a turn allocates nothing
	// here is inner when it can tell that a turn deferred at the end of this one would be the
	// next handler of the goroutine anyway (an IOContext; see runTurn); nil otherwise.
	here inPlaceRunner

	mu        sync.Mutex
	queue     fifo // submitted from outside the running turn, and from inside it once this is not empty
	scheduled bool // a turn is queued on inner or running
	// queued mirrors queue.len() (written under mu) so that a handler of the turn can see, without
	// locking, that nothing submitted from outside may have to go ahead of its own submissions.
	queued atomic.Int64
	owner  atomic.Uintptr // the goroutine running the current turn, from gid.Current; 0 if none

	// Owned by the goroutine running the turn, handed from turn to turn through inner.
	batch   *fifo   // what the turn runs
	private *fifo   // submitted from inside the turn while queue was empty; it goes ahead of queue
	fifos   [2]fifo // backs batch and private, swapped by pointer (see runner.fifos)
}

// NewStrand returns a strand over inner, which may be any executor, a strand included.
func NewStrand(inner Executor) *Strand {
	s := &Strand{inner: inner}
	s.batch, s.private = &s.fifos[0], &s.fifos[1]
	s.turn = s.runTurn
	s.here, _ = inner.(inPlaceRunner)
	return s
}

// inPlaceRunner is an executor that can answer, for a handler ending on its goroutine g, whether a
// handler deferred now would be the next one g runs, counting it as run if so
// (IOContext.continueInPlace).
type inPlaceRunner interface {
	continueInPlace(g uintptr) bool
}

// Inner returns the executor the strand runs its turns on (Asio's get_inner_executor).
func (s *Strand) Inner() Executor { return s.inner }

// RunningInThisThread reports whether the caller is running inside a handler of this strand. It
// is always false where the goroutine cannot be identified (see docs/executors.md).
func (s *Strand) RunningInThisThread() bool {
	g := gid.Current()
	return g != 0 && s.owner.Load() == g
}

// Post queues f on the strand. f never runs inside the call.
func (s *Strand) Post(f func()) {
	if s.RunningInThisThread() {
		s.enqueueInside(f)
		return
	}
	if s.enqueue(f) {
		s.inner.Post(s.turn)
	}
}

// Defer queues f on the strand as a continuation; the strand's next turn is deferred on the inner
// executor.
func (s *Strand) Defer(f func()) {
	if s.RunningInThisThread() {
		s.enqueueInside(f)
		return
	}
	if s.enqueue(f) {
		s.inner.Defer(s.turn)
	}
}

// Dispatch runs f at once when the caller is running inside this strand. Otherwise it queues f
// and, if the strand is idle, dispatches a turn to the inner executor, which may run it at once
// when the caller is running on the inner executor.
func (s *Strand) Dispatch(f func()) {
	if s.RunningInThisThread() {
		f()
		return
	}
	if s.enqueue(f) {
		s.inner.Dispatch(s.turn)
	}
}

// OnWorkStarted counts work on the inner executor.
func (s *Strand) OnWorkStarted() { s.inner.OnWorkStarted() }

// OnWorkFinished releases work on the inner executor.
func (s *Strand) OnWorkFinished() { s.inner.OnWorkFinished() }

// enqueue queues f from outside the running turn and reports whether the caller must schedule a
// turn.
func (s *Strand) enqueue(f func()) bool {
	s.mu.Lock()
	s.queue.push(f)
	s.queued.Store(int64(s.queue.len()))
	schedule := !s.scheduled
	s.scheduled = true
	s.mu.Unlock()
	return schedule
}

// enqueueInside queues f from a handler of the running turn.
func (s *Strand) enqueueInside(f func()) {
	if s.queued.Load() == 0 {
		// Whatever was submitted from outside before this call has been seen here (the queue's
		// length is published under the lock before the submitter returns), so nothing must go
		// ahead of f: the private list keeps the order.
		s.private.push(f)
		return
	}
	// Something submitted from outside is queued and may have happened before this call: f goes
	// behind it, and what the turn queued privately before it goes ahead of it all.
	s.mu.Lock()
	s.queue.pushFront(s.private)
	s.queue.push(f)
	s.queued.Store(int64(s.queue.len()))
	s.mu.Unlock()
}

// runTurn runs one turn of handlers on the inner executor.
func (s *Strand) runTurn() {
	if s.batch.len() == 0 {
		s.mu.Lock()
		s.batch.append(&s.queue)
		s.queued.Store(0)
		s.mu.Unlock()
	}
	g := gid.Current()
	s.owner.Store(g)
	done := false
	defer func() {
		if !done { // a handler panicked: keep the strand consistent and let the panic go on
			s.owner.Store(0)
			if s.prepareNextTurn() {
				s.inner.Post(s.turn)
			}
		}
	}()
	for {
		for s.batch.len() > 0 {
			s.batch.pop()()
		}
		// The next turn would be the private list alone (nothing queued from outside, as in
		// prepareNextTurn's first case). If the inner executor would run that turn next on this
		// goroutine anyway, with nothing of its own in between, run it here: the order and the
		// fairness are those of deferring it, without the trip through the inner executor's
		// queue and the turn's start and end. The inner executor counts it as a handler run, so
		// its other handlers and its reactor get their turn as they would.
		if s.private.len() == 0 || s.queued.Load() != 0 || s.here == nil || !s.here.continueInPlace(g) {
			break
		}
		s.batch, s.private = s.private, s.batch
	}
	s.owner.Store(0)
	done = true
	if s.prepareNextTurn() {
		s.inner.Defer(s.turn)
	}
}

// prepareNextTurn fills batch with what the next turn runs, in order: what this turn left (a
// handler panicked), then what its handlers queued privately, then the queue. It reports whether
// a next turn is needed; if not, the strand is idle again.
func (s *Strand) prepareNextTurn() bool {
	if s.batch.len() == 0 && s.private.len() > 0 && s.queued.Load() == 0 {
		// Nothing queued from outside: the private list is the next turn, with no lock. A
		// submission from outside racing with this check happened before none of the list (it
		// would have been seen), so it may follow it.
		s.batch, s.private = s.private, s.batch
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batch.append(s.private)
	s.batch.append(&s.queue)
	s.queued.Store(0)
	if s.batch.len() == 0 {
		s.scheduled = false
		// An idle strand holds no chunks: a server may keep one strand per idle connection.
		s.batch.release()
		s.private.release()
		return false
	}
	return true
}
