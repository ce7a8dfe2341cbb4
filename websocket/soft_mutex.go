package websocket

import (
	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// softMutex is Beast's soft mutex: which operation may write (or read) next. While no operation
// waits for it, it is a flag; the first operation that must wait makes the composed.Mutex that
// queues it, which then serves for the rest of the stream's life. An idle stream that never met
// contention holds no queue, and the uncontended turn (every data frame's) takes no lock.
//
// The flag is the pointer itself, one word of the Stream rather than two: nil is free,
// softHeld is held with no queue, anything else is the queue's mutex.
type softMutex struct {
	m *composed.Mutex
}

// softHeld marks a softMutex held before any operation had to wait for it. It is only compared
// with, never locked.
var softHeld composed.Mutex

// queued reports whether the mutex has made its queue.
func (sm *softMutex) queued() bool { return sm.m != nil && sm.m != &softHeld }

// TryLock takes the mutex if it is free, and reports whether it did.
func (sm *softMutex) TryLock() bool {
	switch {
	case sm.queued():
		return sm.m.TryLock()
	case sm.m == &softHeld:
		return false
	}
	sm.m = &softHeld
	return true
}

// AsyncLock queues h for the mutex: composed.Mutex.AsyncLock's contract.
func (sm *softMutex) AsyncLock(h completion.Handler[error]) {
	if !sm.queued() {
		held := sm.m == &softHeld
		sm.m = new(composed.Mutex)
		if held {
			sm.m.TryLock() // the holder's turn moves to the queue's mutex, which its Unlock ends
		}
	}
	sm.m.AsyncLock(h)
}

// Unlock ends the holder's turn, handing the mutex to the oldest waiter.
func (sm *softMutex) Unlock() {
	if sm.queued() {
		sm.m.Unlock()
		return
	}
	sm.m = nil
}

// FailWaiters completes every waiting operation with err.
func (sm *softMutex) FailWaiters(err error) {
	if sm.queued() {
		sm.m.FailWaiters(err)
	}
}

// Locked reports whether an operation holds the mutex.
func (sm *softMutex) Locked() bool {
	if sm.queued() {
		return sm.m.Locked()
	}
	return sm.m == &softHeld
}
