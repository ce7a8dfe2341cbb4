package websocket

import (
	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// softMutex is Beast's soft mutex: which operation may write (or read) next. While no operation
// waits for it, it is a flag; the first operation that must wait makes the composed.Mutex that
// queues it, which then serves for the rest of the stream's life. An idle stream that never met
// contention holds no queue, and the uncontended turn (every data frame's) takes no lock.
type softMutex struct {
	held bool
	m    *composed.Mutex
}

// TryLock takes the mutex if it is free, and reports whether it did.
func (sm *softMutex) TryLock() bool {
	if sm.m != nil {
		return sm.m.TryLock()
	}
	if sm.held {
		return false
	}
	sm.held = true
	return true
}

// AsyncLock queues h for the mutex: composed.Mutex.AsyncLock's contract.
func (sm *softMutex) AsyncLock(h completion.Handler[error]) {
	if sm.m == nil {
		sm.m = new(composed.Mutex)
		if sm.held {
			sm.m.TryLock() // the holder's turn moves to the queue's mutex, which its Unlock ends
			sm.held = false
		}
	}
	sm.m.AsyncLock(h)
}

// Unlock ends the holder's turn, handing the mutex to the oldest waiter.
func (sm *softMutex) Unlock() {
	if sm.m != nil {
		sm.m.Unlock()
		return
	}
	sm.held = false
}

// FailWaiters completes every waiting operation with err.
func (sm *softMutex) FailWaiters(err error) {
	if sm.m != nil {
		sm.m.FailWaiters(err)
	}
}

// Locked reports whether an operation holds the mutex.
func (sm *softMutex) Locked() bool {
	if sm.m != nil {
		return sm.m.Locked()
	}
	return sm.held
}
