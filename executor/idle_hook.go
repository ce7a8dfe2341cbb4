package executor

import "time"

// IdleHook lets a reactor serve the goroutines that call an IOContext's Run: when a Run goroutine
// finds no handler queued, it waits in the hook instead of sleeping, so one goroutine can serve
// posted handlers, socket readiness and timers with no hand-off between goroutines (Asio's
// scheduler runs its reactor task the same way). At most one goroutine is inside Wait at a time.
//
// The hook posts the handlers of the events it finds to the IOContext, and counts its pending
// operations as outstanding work (OnWorkStarted) so that Run does not return while they are pending.
type IdleHook interface {
	// Wait waits for events for at most timeout and posts their handlers. A negative timeout waits
	// until an event or Wake; zero only polls.
	Wait(timeout time.Duration)
	// Wake makes the Wait in progress, or else the next one, return promptly. It may be called from
	// any goroutine, including from inside Wait.
	Wake()
}

// AttachIdleHook returns the context's idle hook, first attaching the one newHook makes if the
// context has none yet. It is how a reactor attaches itself to a context once (Asio's use_service):
// newHook runs at most once per context, with the context's lock held, so it must not call back
// into the context. A Run goroutine asleep with nothing queued is woken to wait in the new hook:
// otherwise the reactor's first I/O object would not be served until some handler was posted.
func (c *IOContext) AttachIdleHook(newHook func() IdleHook) IdleHook {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hook == nil {
		c.hook = newHook()
		c.wakeIdleLocked()
	}
	return c.hook
}

// hookPollEvery is how many handlers a runner runs, at most, between two looks at the idle hook
// while handlers keep it from ever being idle: without it a chain of handlers that post the next
// would starve the reactor, its timers never firing. One poll (an epoll_wait that does not wait)
// costs about what a few dozen trivial handlers do, so this many keeps it to a few per cent of a
// tight chain's time while bounding how long a due timer or a ready socket waits.
const hookPollEvery = 1024

// waitInHook waits in the idle hook for at most timeout. It is called and returns with c.mu held.
func (c *IOContext) waitInHook(r *runner, timeout time.Duration) {
	r.sincePoll, c.takenSincePoll = 0, 0
	c.hookBusy = true
	c.hookWoken = false
	r.inHook = true
	c.mu.Unlock()
	defer c.leaveHook(r) // also when Wait panics: the panic then leaves Run with the state sound
	c.hook.Wait(timeout)
}

// leaveHook takes the lock again after the hook's Wait and queues what the hook posted.
func (c *IOContext) leaveHook(r *runner) {
	c.mu.Lock()
	r.inHook = false
	c.hookBusy = false
	if r.private.len() > 0 {
		c.queue.append(r.private)
		c.queued.Store(int64(c.queue.len()))
	}
	if r.hookUnit {
		r.hookUnit = false
		c.work.Add(-1) // the unit Post held for them; the queue counts them from here
	}
}

// wakeHookLocked interrupts the goroutine waiting in the hook, once per wait. Called with c.mu held.
func (c *IOContext) wakeHookLocked() {
	if c.hookBusy && !c.hookWoken {
		c.hookWoken = true
		c.hook.Wake()
	}
}
