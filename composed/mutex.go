package composed

import (
	"context"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Mutex is a resource that at most one asynchronous operation holds at a time, and that the
// others wait for without blocking a goroutine: Beast's soft_mutex, with the operations it parks
// and resumes. A WebSocket stream keeps one per direction: a ping, pong or close started while a
// message's frames are being written waits for its turn, then writes.
//
// An operation takes it with [Mutex.TryLock], or waits for it with [Mutex.AsyncLock] as for an inner
// operation: pass a [Slot] from [Into], and the step resumes on the operation's step executor once
// the mutex is its own, never inside the call. The holder gives it back with [Mutex.Unlock], which
// hands it straight to the first waiter, in the order they started waiting. A waiter whose context
// ends leaves the queue and completes with the cancellation error; [Mutex.FailWaiters] completes
// every waiter with an error (the stream closed).
//
// The methods may be called from any goroutine: waiters may run on different strands. The zero
// Mutex is unlocked. A Mutex must not be copied after first use (go vet reports a copy). Taking and giving it back
// allocates nothing once its queue has grown to the number of waiters; a waiter with a context
// that can end costs context.AfterFunc's allocation.
type Mutex struct {
	mu sync.Mutex
	// held is set from the grant until Unlock.
	held bool
	// granted is the handler the mutex was last handed to while its completion is posted, with the
	// work that keeps its executor running meanwhile. One at a time: its holder cannot Unlock
	// before it has been told.
	granted     completion.Handler[error]
	grantedWork completion.Work
	grant       func() // m.deliverGrant, bound once
	// waiters is a ring of the operations waiting, oldest at head. An entry whose h is nil has
	// left the queue (its context ended) and is skipped.
	waiters []waiter
	head, n int
	seq     uint64 // numbers waiters, so that a cancellation finds its own
}

// waiter is an operation waiting for a Mutex.
type waiter struct {
	h    completion.Handler[error]
	work completion.Work
	id   uint64
	stop func() bool // disarms the cancellation; nil without a context that can end
}

// TryLock takes the mutex if no operation holds it, and reports whether it did. It never waits;
// an operation that must have the mutex waits with AsyncLock.
func (m *Mutex) TryLock() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held {
		return false
	}
	m.held = true
	return true
}

// AsyncLock completes h with nil once the mutex is the operation's: at once (posted to h's
// associated executor, never inside this call) if no operation holds it, or when the operations
// ahead of it have had their turn. h then holds the mutex, and must give it back with Unlock, even
// if its context ends after the grant.
//
// If h's context (completion.WithContext) ends while h waits, h leaves the queue and completes
// with the cancellation error (completion.Canceled: it matches completion.ErrOperationAborted);
// if FailWaiters is called, with the error it gives. h's associated executor must be one that
// ensures it runs (a Slot's: the operation's step executor); the wait counts work on it.
func (m *Mutex) AsyncLock(h completion.Handler[error]) {
	hex, ctx := completion.Associated(h, executor.Executor(executor.System{}))
	work := completion.StartWork(hex, hex)
	if ctx != nil && ctx.Err() != nil {
		err := completion.Canceled(ctx)
		hex.Post(func() { work.Finish(); h.Complete(err) })
		return
	}
	m.mu.Lock()
	if !m.held {
		m.held = true
		m.handTo(h, work)
		m.mu.Unlock()
		hex.Post(m.grant) // after the unlock: an executor that runs it at once would lock m.mu
		return
	}
	defer m.mu.Unlock()
	m.seq++
	w := waiter{h: h, work: work, id: m.seq}
	if ctx != nil && ctx.Done() != nil {
		id := m.seq
		w.stop = context.AfterFunc(ctx, func() { m.leave(id, completion.Canceled(ctx)) })
	}
	m.push(w)
}

// Unlock gives the mutex back: to the first operation waiting, whose handler is posted to its
// executor, or to no one. It is called by the operation that holds the mutex, from any goroutine.
// Unlock of a mutex that no operation holds panics: that is a bug in the code using it, which
// could otherwise hand the resource to two operations at once (sync.Mutex treats it the same way).
func (m *Mutex) Unlock() {
	m.mu.Lock()
	if !m.held {
		m.mu.Unlock()
		panic("composed: Unlock of a Mutex that no operation holds")
	}
	w, ok := m.pop()
	if !ok {
		m.held = false
		m.mu.Unlock()
		return
	}
	if w.stop != nil {
		// If its context has just ended, the cancellation waits for m.mu and then finds the
		// waiter gone: the release came first, and the waiter is handed the mutex.
		w.stop()
	}
	m.handTo(w.h, w.work)
	m.mu.Unlock()
	w.work.Handler().Post(m.grant) // after the unlock, as in AsyncLock
}

// FailWaiters completes every operation waiting for the mutex with err, posted to each one's
// executor, and returns how many there were. The operation that holds the mutex keeps it; later
// calls of AsyncLock wait as usual. A stream that closes calls it so that no operation waits for
// a turn that will never come.
func (m *Mutex) FailWaiters(err error) int {
	m.mu.Lock()
	var failed []waiter
	for {
		w, ok := m.pop()
		if !ok {
			break
		}
		if w.stop != nil {
			w.stop()
		}
		failed = append(failed, w)
	}
	m.mu.Unlock()
	for _, w := range failed {
		w.complete(err)
	}
	return len(failed)
}

// Locked reports whether an operation holds the mutex.
func (m *Mutex) Locked() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held
}

// handTo grants the mutex to h; with m.mu held. The caller then posts m.grant (bound once, so a
// grant allocates nothing) to h's executor once it has unlocked m.mu: an executor that runs what is
// posted at once (Inline) would otherwise deliver the grant under the lock it takes.
func (m *Mutex) handTo(h completion.Handler[error], work completion.Work) {
	if m.granted != nil {
		panic("composed: Mutex granted twice before its holder was told") // Unlock before the grant
	}
	m.granted, m.grantedWork = h, work
	if m.grant == nil {
		m.grant = m.deliverGrant
	}
}

// deliverGrant tells the operation the mutex was handed to; on its executor.
func (m *Mutex) deliverGrant() {
	m.mu.Lock()
	h, work := m.granted, m.grantedWork
	m.granted, m.grantedWork = nil, completion.Work{}
	m.mu.Unlock()
	work.Finish()
	invoke(h, error(nil))
}

// leave takes waiter id out of the queue, if it is still there, and completes it with err: its
// context ended. From context.AfterFunc's goroutine.
func (m *Mutex) leave(id uint64, err error) {
	m.mu.Lock()
	var w waiter
	for i := range m.n {
		e := &m.waiters[(m.head+i)%len(m.waiters)]
		if e.id == id && e.h != nil {
			w = *e
			e.h, e.work, e.stop = nil, completion.Work{}, nil
			break
		}
	}
	m.mu.Unlock()
	if w.h != nil {
		w.complete(err)
	}
}

// complete posts the waiter's completion with err to its executor.
func (w waiter) complete(err error) {
	w.work.Handler().Post(func() {
		w.work.Finish()
		invoke(w.h, err)
	})
}

// push queues w behind the other waiters; with m.mu held. When the ring is full it is rebuilt
// without the entries of waiters that left it (their contexts ended while an operation held the
// mutex for long), and grown only if the waiters still there fill it: the ring stays within twice
// the number of operations really waiting.
func (m *Mutex) push(w waiter) {
	if m.n == len(m.waiters) {
		live := 0
		for i := range m.n {
			if m.waiters[(m.head+i)%len(m.waiters)].h != nil {
				live++
			}
		}
		ring := m.waiters
		if live == len(m.waiters) {
			ring = make([]waiter, max(4, 2*len(m.waiters)))
		}
		kept := make([]waiter, 0, live) // the old ring is read while ring may be the same array
		for i := range m.n {
			if e := m.waiters[(m.head+i)%len(m.waiters)]; e.h != nil {
				kept = append(kept, e)
			}
		}
		clear(ring)
		copy(ring, kept)
		m.waiters, m.head, m.n = ring, 0, live
	}
	m.waiters[(m.head+m.n)%len(m.waiters)] = w
	m.n++
}

// pop takes the oldest waiter still waiting out of the queue, dropping the entries of those that
// left it; false when none is waiting. With m.mu held.
func (m *Mutex) pop() (waiter, bool) {
	for m.n > 0 {
		e := &m.waiters[m.head]
		w := *e
		*e = waiter{}
		m.head = (m.head + 1) % len(m.waiters)
		m.n--
		if w.h != nil {
			return w, true
		}
	}
	return waiter{}, false
}
