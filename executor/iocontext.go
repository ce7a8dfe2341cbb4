package executor

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beastgo/beast/internal/gid"
)

// IOContext is a queue of handlers and the run loop that runs them: Asio's io_context. Handlers
// run only on goroutines inside Run, RunOne, RunFor, RunUntil, Poll or PollOne, and any number of
// goroutines may be inside those at once, forming a pool. One goroutine calling Run is an implicit
// strand: its handlers never run concurrently.
//
// Order, as in Asio: with one goroutine in the run calls, handlers posted from outside the
// context's handlers run in the order of the posts, and handlers posted from its handlers run in
// the order they were posted, after everything posted from outside before them. A handler's posts
// join the shared queue when its batch of handlers ends, so they may run after a handler another
// goroutine posted later; a [Strand] keeps that order too. With several goroutines in the run
// calls, no order holds.
//
// Run returns when the context runs out of work, that is when no handler is queued or running and
// no work is counted (OnWorkStarted, a [WorkGuard], a pending operation), or after Stop. Running out
// of work stops the context, so later run calls return at once until Restart.
//
// A handler may call Poll or PollOne of its own context. It must not call Run, RunOne, RunFor or
// RunUntil of its own context and wait for the context to run out of work: the handler that is
// running counts as work until it returns, so that call waits for itself (as in Asio).
//
// IOContext satisfies [Executor] itself; Executor returns it as one.
type IOContext struct {
	// The fields are grouped by who writes them, a cache line apart, so that the runners of a
	// context with several do not stall on each other's writes: the read-mostly fields that every
	// handler and Post reads, the fields under mu, and the work count that every batch updates.

	// runners lists the goroutines inside a run call, newest first, so Post and Dispatch can tell
	// whether their caller is one. Replaced, never mutated, under mu. Each entry carries its
	// goroutine so that the lookup reads only the list, not the runners' own records, which their
	// goroutines write all the time.
	runners atomic.Pointer[[]runnerRef]
	// solo and soloG are the only runner and its goroutine while there is exactly one, so that
	// current, called on every Post, compares one word instead of chasing three pointers to find
	// it. Both are set under mu.
	solo    atomic.Pointer[runner]
	soloG   atomic.Uintptr
	stopped atomic.Bool
	// concurrent is set by a concurrency hint above one, at construction: the context is then
	// never serial, whoever is inside its run calls.
	concurrent bool
	// hint is the concurrency hint (at least 1): a burst of queued handlers is shared out among
	// at least this many runners, even before they have all entered a run call.
	hint int
	_    [cacheLine]byte

	mu        sync.Mutex
	queue     fifo      // handlers posted and not yet taken by a runner
	idle      []*runner // runners waiting for a handler, most recent last
	hook      IdleHook  // the reactor, if one is attached
	hookBusy  bool      // a runner is inside hook.Wait
	hookWoken bool      // Wake was called during the current hook.Wait
	// takenSincePoll counts the handlers runners took from the queue since the hook was last
	// entered (under mu), so that run calls of one handler each (RunOne) poll it too.
	takenSincePoll int
	// queued mirrors queue.len() (written under mu) so runners can see, without locking, that
	// nothing is waiting ahead of the handlers they posted themselves.
	queued atomic.Int64
	// idleCount mirrors len(idle) for the same reason.
	idleCount atomic.Int32
	_         [cacheLine]byte

	// work counts outstanding work other than the queue: OnWorkStarted units and handlers taken by
	// runners and not yet finished. Outstanding work is work plus queue.len(); it is judged to be
	// zero only with mu held.
	work atomic.Int64
	_    [cacheLine]byte
}

// cacheLine is a size at least as large as a CPU's cache line, to keep fields that different
// goroutines write apart.
const cacheLine = 64

// runnerRef is an entry of the runner list: a runner and its goroutine.
type runnerRef struct {
	g uintptr
	r *runner
}

// runner is the state of one run call, owned by the goroutine that made it.
type runner struct {
	g       uintptr // the goroutine, from gid.Current
	running bool    // inside a handler: Post may use private, Dispatch may run inline
	// open is set for a run call with no limit on handlers and no deadline (Run, Poll): only
	// there is a handler deferred now sure to run in this call (see continueInPlace).
	open   bool
	inHook bool // inside the idle hook's Wait: its posts must not wake the hook itself
	// hookUnit is set while the hook's posts hold their one unit of work (see Post).
	hookUnit bool
	// nested counts the handlers Dispatch is running inline, inside another handler of r's
	// batch. A handler that panics through one and is recovered leaves it raised, which only
	// turns continueInPlace off for the rest of the run call.
	nested int32
	// inPlace counts the handlers run in place (continueInPlace) during the current handler of
	// batch; runBatch adds them to what the run call returns.
	inPlace int
	batch   *fifo // handlers taken from the queue, run in order without the lock
	ran     int   // handlers of batch run and not yet subtracted from work
	// sincePoll counts the handlers run since this runner last waited in the idle hook: past
	// hookPollEvery, it polls the hook before its next batch (see next).
	sincePoll int
	// work is the units of work this runner's handlers have released (OnWorkFinished while
	// running) and not yet subtracted from c.work, less those they have counted again since
	// (OnWorkStarted): zero or negative. finish settles it with the batch's own accounts, in one
	// atomic operation or none. A locked instruction costs tens of nanoseconds here, and a socket
	// operation's completion releases a unit that the handler's next operation counts again.
	// Putting a release off only keeps c.work high for a while; an addition must never wait,
	// since another goroutine may release that unit meanwhile and bring c.work to zero.
	work    int64
	private *fifo // handlers this goroutine posted while running; they follow batch
	// fifos backs batch and private, which finish swaps by pointer: copying the structs would
	// make the CPU stall on store forwarding once per batch.
	fifos [2]fifo
	wake  chan struct{}
	timer *time.Timer
}

// NewIOContext returns an empty context, not stopped.
func NewIOContext() *IOContext { return new(IOContext) }

// NewIOContextConcurrency returns an empty context, not stopped, that the caller means to run
// from up to hint goroutines at once: Asio's io_context(concurrency_hint). A hint above one makes
// [Serial] report false for the context from the start, before any goroutine has entered a run
// call, so that code needing one handler at a time (a composed operation without a strand) fails
// at once and every time, not when a second goroutine happens to arrive. A hint of one or less
// gives the context of NewIOContext, which is serial while at most one goroutine runs it. The hint
// also sets how many goroutines a burst of queued handlers is shared out among from the start (a
// Run goroutine takes its share of the queue at once; see Run), so that one goroutine entering Run
// first does not take every handler while the others are still on their way. Any number of
// goroutines may run either context.
func NewIOContextConcurrency(hint int) *IOContext {
	return &IOContext{concurrent: hint > 1, hint: max(hint, 1)}
}

// Executor returns the context as an [Executor]: Asio's get_executor.
func (c *IOContext) Executor() Executor { return c }

// Run runs handlers until the context runs out of work or is stopped, and returns how many it ran:
// the context's handlers, among which a strand's turn counts as one however many of the strand's
// handlers it runs, as in Asio. A panic in a handler propagates out of Run unchanged, as out of
// any function; the context stays consistent, the handlers not yet run stay queued, and Run may be
// called again.
//
// A Run goroutine takes its share of the queued handlers at once, the queue divided by the number
// of goroutines in run calls (or by the concurrency hint, when larger), and runs them in turn:
// one lock for many handlers. A handler that blocks holds back the rest of its goroutine's share,
// so handlers that wait for each other on a context run by several goroutines are a mistake here
// as in Asio; a context that several goroutines will run says so with [NewIOContextConcurrency]
// ([ThreadPool] does), so that the first goroutine to arrive does not take every handler.
func (c *IOContext) Run() int { return c.run(math.MaxInt, true, time.Time{}) }

// RunOne runs at most one handler, waiting for one if none is ready, and returns how many it ran:
// 0 means the context is stopped or out of work.
func (c *IOContext) RunOne() int { return c.run(1, true, time.Time{}) }

// RunFor runs handlers as Run does for at most d.
func (c *IOContext) RunFor(d time.Duration) int { return c.RunUntil(time.Now().Add(d)) }

// RunUntil runs handlers as Run does until the deadline.
func (c *IOContext) RunUntil(deadline time.Time) int { return c.run(math.MaxInt, true, deadline) }

// Poll runs the handlers that are ready, including those they post, without waiting, and returns
// how many it ran.
func (c *IOContext) Poll() int { return c.run(math.MaxInt, false, time.Time{}) }

// PollOne runs at most one ready handler without waiting, and returns how many it ran.
func (c *IOContext) PollOne() int { return c.run(1, false, time.Time{}) }

// Stop makes every run call return as soon as the handler it is running returns. Queued handlers
// stay queued; they run after Restart and a new run call. Stop does not wait.
func (c *IOContext) Stop() {
	c.mu.Lock()
	c.stopLocked()
	c.mu.Unlock()
}

// Stopped reports whether the context is stopped, by Stop or by running out of work.
func (c *IOContext) Stopped() bool { return c.stopped.Load() }

// Restart clears the stopped state so that run calls run handlers again. It must not be called
// while any run call is in progress.
func (c *IOContext) Restart() { c.stopped.Store(false) }

// RunningInThisThread reports whether the calling goroutine is inside a run call of this context.
// It is always false where the goroutine cannot be identified (see docs/executors.md).
func (c *IOContext) RunningInThisThread() bool { return c.current() != nil }

// Post queues f. From a goroutine that is running one of the context's handlers, f goes to that
// goroutine's private queue, with no lock, behind everything queued before it.
func (c *IOContext) Post(f func()) {
	r := c.current()
	if r != nil && r.running {
		r.private.push(f)
		return
	}
	if r != nil && r.inHook {
		// The reactor posting what it found. The goroutine in the hook collects it all and queues
		// it with one lock when Wait returns, then wakes another runner only if there is more than
		// its share (Asio's scheduler does the same with its reactor task's operations). Until
		// then the first of them holds one unit of work for them all, so that no one judges the
		// context out of work.
		if !r.hookUnit {
			r.hookUnit = true
			c.work.Add(1)
		}
		r.private.push(f)
		return
	}
	c.mu.Lock()
	c.queue.push(f)
	c.queued.Store(int64(c.queue.len()))
	c.wakeOneLocked()
	c.mu.Unlock()
}

// Defer queues f as a continuation. It is Post: inside a handler of this context, f goes to the
// current goroutine's private queue, which may still be handed to another Run goroutine when the
// handler's batch ends.
func (c *IOContext) Defer(f func()) { c.Post(f) }

// Dispatch runs f at once when called from a handler running on this context, and posts it
// otherwise.
func (c *IOContext) Dispatch(f func()) {
	if r := c.current(); r != nil && r.running {
		r.nested++
		f()
		r.nested--
		return
	}
	c.Post(f)
}

// OnWorkStarted counts one unit of outstanding work. Called from a handler of c that has released a
// unit itself (OnWorkFinished) earlier in its batch, it takes that release back instead of making
// an atomic operation (runner.work).
func (c *IOContext) OnWorkStarted() {
	if r := c.current(); r != nil && r.running && r.work < 0 {
		r.work++
		return
	}
	c.work.Add(1)
}

// OnWorkFinished releases one unit of outstanding work; the last one stops the context. Called
// from a handler of c, the release is settled when the handler's batch ends, which is as soon as
// the context could find itself out of work anyway (the running handler counts as work).
func (c *IOContext) OnWorkFinished() {
	if r := c.current(); r != nil && r.running {
		r.work--
		return
	}
	if c.work.Add(-1) == 0 {
		c.stopIfOutOfWork()
	}
}

// current returns the caller's runner if the caller is inside a run call of c.
func (c *IOContext) current() *runner {
	if c.runners.Load() == nil {
		return nil
	}
	return c.runnerOf(gid.Current())
}

// runnerOf returns goroutine g's runner if g is inside a run call of c.
func (c *IOContext) runnerOf(g uintptr) *runner {
	rs := c.runners.Load()
	if rs == nil || g == 0 {
		return nil
	}
	if c.soloG.Load() == g {
		// The two fields are stored apart, so check that this is still the goroutine's runner.
		if r := c.solo.Load(); r != nil && r.g == g {
			return r
		}
	}
	for _, e := range *rs {
		if e.g == g {
			return e.r
		}
	}
	return nil
}

// continueInPlace reports whether a handler that goroutine g would defer now, at the very end of
// the handler it is running, is the next handler g would run anyway: g runs the handler straight
// from its batch (not inline through Dispatch) in a run call with no limit or deadline, nothing
// follows the handler in its batch or was posted by it, nothing is queued and no runner sleeps (so
// finish would keep the deferred handler on g), the context is not stopped, and the reactor is not
// due for a look. Then the caller may run that handler itself instead of deferring it, and this
// counts it as run: in what the run call returns and towards the reactor's next look. A [Strand]
// asks at the end of each turn: its next turn runs with no trip through the queue, in exactly the
// order and with exactly the fairness that deferring it would give.
func (c *IOContext) continueInPlace(g uintptr) bool {
	r := c.runnerOf(g)
	if r == nil || !r.running || !r.open || r.nested != 0 ||
		r.batch.len() != 0 || r.private.len() != 0 || r.sincePoll+r.ran >= hookPollEvery ||
		c.queued.Load() != 0 || c.idleCount.Load() != 0 || c.stopped.Load() {
		return false
	}
	r.sincePoll++
	r.inPlace++
	return true
}

func (c *IOContext) stopIfOutOfWork() {
	c.mu.Lock()
	if c.work.Load() == 0 && c.queue.len() == 0 {
		c.stopLocked()
	}
	c.mu.Unlock()
}

func (c *IOContext) stopLocked() {
	c.stopped.Store(true)
	for _, r := range c.idle {
		wake(r)
	}
	c.idle = c.idle[:0]
	c.idleCount.Store(0)
	if c.hook != nil {
		c.wakeHookLocked()
	}
}

// wakeOneLocked hands a newly queued handler to an idle runner, or interrupts the hook.
func (c *IOContext) wakeOneLocked() {
	if !c.wakeIdleLocked() && c.hook != nil {
		c.wakeHookLocked()
	}
}

// wakeIdleLocked wakes one idle runner, if there is one, and reports whether it did.
func (c *IOContext) wakeIdleLocked() bool {
	n := len(c.idle)
	if n == 0 {
		return false
	}
	r := c.idle[n-1]
	c.idle = c.idle[:n-1]
	c.idleCount.Store(int32(n - 1))
	wake(r)
	return true
}

func wake(r *runner) {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// run is the loop behind every run call: it runs up to limit handlers, waiting for them while
// block is true, until the deadline if it is not zero.
func (c *IOContext) run(limit int, block bool, deadline time.Time) (n int) {
	r := c.enter()
	defer c.leave(r)
	r.open = limit == math.MaxInt && deadline.IsZero()
	polled := false
	for n < limit && !c.stopped.Load() {
		if r.batch.len() == 0 && !c.next(r, limit-n, block, deadline, &polled) {
			break
		}
		n += c.runBatch(r, limit-n, deadline)
		c.finish(r)
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
	}
	return n
}

// runBatch runs handlers from r.batch until it is empty, limit is reached, the context is stopped
// or the deadline passes.
func (c *IOContext) runBatch(r *runner, limit int, deadline time.Time) int {
	n := 0
	r.running = true
	for n < limit && r.batch.len() > 0 && !c.stopped.Load() {
		f := r.batch.pop()
		n++
		r.ran++ // counted before the call: a handler that panics has been consumed
		f()
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			break
		}
	}
	r.running = false
	n += r.inPlace // only a run call with no limit has any (r.open)
	r.inPlace = 0
	return n
}

// finish settles the accounts of the handlers r has run and moves what they posted privately:
// straight into the next batch when nothing else is queued and no runner is idle (no lock, no
// hand-off), else to the back of the shared queue.
func (c *IOContext) finish(r *runner) {
	ran := int64(r.ran)
	r.sincePoll += r.ran
	r.ran = 0
	local := r.work
	r.work = 0
	if p := int64(r.private.len()); p > 0 {
		if r.batch.len() == 0 && c.queued.Load() == 0 && c.idleCount.Load() == 0 && !c.stopped.Load() &&
			r.sincePoll < hookPollEvery {
			r.batch, r.private = r.private, r.batch
			if d := p - ran + local; d != 0 {
				c.work.Add(d) // at least p stays counted: the new batch
			}
			return
		}
		c.mu.Lock()
		c.queue.append(r.private)
		c.queued.Store(int64(c.queue.len()))
		c.wakeOneLocked()
		c.mu.Unlock()
	}
	if d := local - ran; d != 0 && c.work.Add(d) == 0 {
		c.stopIfOutOfWork()
	}
}

// next fills r.batch from the shared queue, waiting for handlers if block is set. It reports false
// when the run call should return instead.
func (c *IOContext) next(r *runner, limit int, block bool, deadline time.Time, polled *bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.stopped.Load() {
			return false
		}
		if n := c.queue.len(); n > 0 {
			if r.sincePoll >= hookPollEvery || c.takenSincePoll >= hookPollEvery {
				if c.hook != nil && !c.hookBusy {
					// Handlers have kept the queue busy: look at the reactor's timers and
					// sockets now, without waiting, as Asio's scheduler runs its reactor task
					// once per pass over the queue. What it finds queues behind what is queued.
					c.waitInHook(r, 0)
					continue
				}
				// No reactor, or another runner is in it: nothing to look at.
				r.sincePoll, c.takenSincePoll = 0, 0
			}
			k := n
			if runners := max(len(*c.runners.Load()), c.hint); runners > 1 {
				k = max(1, n/runners) // share a burst with the other runners
			}
			k = min(k, limit)
			c.takenSincePoll += k
			c.queue.take(r.batch, k)
			c.queued.Store(int64(c.queue.len()))
			c.work.Add(int64(k))
			if c.queue.len() > 0 {
				c.wakeOneLocked()
			}
			return true
		}
		if c.work.Load() == 0 {
			c.stopLocked()
			return false
		}
		timeout := time.Duration(-1)
		if !deadline.IsZero() {
			if timeout = time.Until(deadline); timeout <= 0 {
				return false
			}
		}
		if !block {
			if c.hook == nil || c.hookBusy || *polled {
				return false
			}
			*polled = true
			c.waitInHook(r, 0)
			continue
		}
		if c.hook != nil && !c.hookBusy {
			c.waitInHook(r, timeout)
			continue
		}
		c.waitIdle(r, timeout)
	}
}

// waitIdle sleeps until a Post, Stop or the timeout (negative: none). Called and returns with c.mu
// held.
func (c *IOContext) waitIdle(r *runner, timeout time.Duration) {
	c.idle = append(c.idle, r)
	c.idleCount.Store(int32(len(c.idle)))
	c.mu.Unlock()
	if timeout < 0 {
		<-r.wake
		c.mu.Lock()
		return
	}
	if r.timer == nil {
		r.timer = time.NewTimer(timeout)
	} else {
		r.timer.Reset(timeout)
	}
	select {
	case <-r.wake:
		r.timer.Stop()
		c.mu.Lock()
	case <-r.timer.C:
		c.mu.Lock()
		if i := indexOf(c.idle, r); i >= 0 {
			c.idle = append(c.idle[:i], c.idle[i+1:]...)
			c.idleCount.Store(int32(len(c.idle)))
		} else {
			<-r.wake // a waker took r off the list and sent its token under the lock
		}
	}
}

func indexOf(rs []*runner, r *runner) int {
	for i, x := range rs {
		if x == r {
			return i
		}
	}
	return -1
}

// enter registers the calling goroutine as a runner of c.
func (c *IOContext) enter() *runner {
	// A runner is made per run call, not pooled: its channel and timer must belong to the caller
	// (a testing/synctest bubble only sees its own), and one allocation per call is nothing.
	r := &runner{g: gid.Current(), wake: make(chan struct{}, 1)}
	r.batch, r.private = &r.fifos[0], &r.fifos[1]
	outer := c.current()
	c.mu.Lock()
	if outer != nil && (outer.private.len() > 0 || outer.batch.len() > 0) {
		// A nested run call (Poll from inside a handler) must see what the handler posted, and in
		// the order of the posts, as in Asio, where the handlers that follow the running one are
		// still on the queue: they go back to its front, what the handler posted to its back.
		if rest := outer.batch.len(); rest > 0 {
			c.queue.pushFront(outer.batch)
			c.work.Add(-int64(rest))
		}
		c.queue.append(outer.private)
		c.queued.Store(int64(c.queue.len()))
	}
	old := c.runners.Load()
	var rs []runnerRef
	if old != nil {
		rs = make([]runnerRef, 0, len(*old)+1)
	}
	rs = append(rs, runnerRef{g: r.g, r: r})
	if old != nil {
		rs = append(rs, *old...)
	}
	c.runners.Store(&rs)
	c.setSoloLocked(rs)
	c.mu.Unlock()
	return r
}

// setSoloLocked records the runner list's only runner, if it has one; under mu.
func (c *IOContext) setSoloLocked(rs []runnerRef) {
	if len(rs) == 1 {
		c.solo.Store(rs[0].r)
		c.soloG.Store(rs[0].g)
		return
	}
	c.soloG.Store(0)
	c.solo.Store(nil)
}

// leave ends a run call, normally or by a panic: it settles r's accounts, puts back the handlers
// r took and did not run (at the front, where they were) and unregisters r.
func (c *IOContext) leave(r *runner) {
	r.running = false
	c.finish(r) // leaves r.private empty
	c.mu.Lock()
	if rest := int64(r.batch.len()); rest > 0 {
		c.queue.pushFront(r.batch)
		c.queued.Store(int64(c.queue.len()))
		c.work.Add(-rest)
		c.wakeOneLocked()
	}
	old := *c.runners.Load()
	rs := make([]runnerRef, 0, len(old)-1)
	for _, x := range old {
		if x.r != r {
			rs = append(rs, x)
		}
	}
	if len(rs) == 0 {
		c.runners.Store(nil)
	} else {
		c.runners.Store(&rs)
	}
	c.setSoloLocked(rs)
	c.mu.Unlock()
	r.batch.release()
	r.private.release()
}
