//go:build linux && !beastgo_portable

package net

import (
	"container/heap"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/beastgo/beast/executor"
)

// reactor is the epoll loop behind every socket and timer of one IOContext (Asio's
// epoll_reactor, a service of the context). It runs inside the context's Run: the context calls
// Wait through its idle hook when it has nothing queued, so the goroutine that runs handlers also
// waits for readiness, with no hand-off.
type reactor struct {
	epfd, evfd int
	events     []unix.EpollEvent // used only inside Wait, which one goroutine runs at a time
	found      []*descriptor     // the descriptors of events, looked up under one lock; Wait's too

	mu sync.Mutex
	// fds finds a descriptor by its number: a table rather than a map, as descriptor numbers are
	// small and dense, and a lookup per event showed in the round-trip profile.
	fds    []*descriptor
	timers timerHeap
	woken  atomic.Bool // an eventfd write is pending: later Wakes are free

	// owned is the loop of a reactor that runs its own goroutine, for I/O objects on executors
	// that are not an IOContext; nil for a reactor attached to an IOContext. It counts registered
	// descriptors and pending timer waits, and ends its goroutine when they drop to zero.
	owned *ownedLoop
	// ctx is the IOContext the reactor is attached to (nil for an own-loop reactor): kept
	// reachable while any I/O object holds the reactor, since collecting it closes epfd.
	ctx *executor.IOContext
}

func newReactor() (*reactor, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &reactor{epfd: epfd, evfd: evfd, events: make([]unix.EpollEvent, 128), found: make([]*descriptor, 128)}, nil
}

// reactorFor returns the reactor that serves I/O objects bound to ex: the one attached to the
// IOContext that runs ex's handlers (executor.ExecutionContext: the context itself, a strand or
// any wrapping executor over it), or the process's own-loop reactor for executors that run on no
// IOContext.
func reactorFor(ex executor.Executor) (*reactor, error) {
	ctx := executor.ExecutionContext(ex)
	if ctx == nil {
		return sharedReactor()
	}
	var rerr error
	h := ctx.AttachIdleHook(func() executor.IdleHook {
		r, err := newReactor()
		if err != nil {
			rerr = err
			return nil
		}
		// The reactor lives as long as its context (Asio's services die with their
		// execution_context): its descriptors are closed when the context is collected. Its
		// sockets and timers hold the reactor, and the reactor holds the context, so that
		// cannot happen while one of them is in use, whatever executor they were made with.
		r.ctx = ctx
		runtime.AddCleanup(ctx, closeFDs, [2]int{r.epfd, r.evfd})
		return r
	})
	if h == nil {
		return nil, rerr
	}
	return h.(*reactor), nil
}

func closeFDs(fds [2]int) {
	unix.Close(fds[0])
	unix.Close(fds[1])
}

// Wait implements executor.IdleHook: it waits for readiness or the earliest timer for at most
// timeout, and posts the completions it finds.
func (r *reactor) Wait(timeout time.Duration) {
	if d, ok := r.nextTimer(); ok && (timeout < 0 || d < timeout) {
		timeout = d
	}
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond) // round up: never wake early
	}
	n, err := unix.EpollWait(r.epfd, r.events, ms)
	if err != nil {
		n = 0 // EINTR: a signal; the caller waits again
	}
	r.mu.Lock()
	for i := range n {
		r.found[i] = r.lookupLocked(int(r.events[i].Fd))
	}
	r.mu.Unlock()
	for i := range n {
		ev := &r.events[i]
		if int(ev.Fd) == r.evfd {
			var buf [8]byte
			unix.Read(r.evfd, buf[:])
			r.woken.Store(false)
			continue
		}
		if d := r.found[i]; d != nil {
			r.found[i] = nil
			d.ready(ev.Events)
		}
	}
	r.fireTimers(time.Now())
}

// Wake implements executor.IdleHook: it interrupts Wait through the eventfd.
func (r *reactor) Wake() {
	if r.woken.CompareAndSwap(false, true) {
		one := [8]byte{1}
		unix.Write(r.evfd, one[:])
	}
}

// lookupLocked returns the descriptor registered as fd, or nil; with r.mu held.
func (r *reactor) lookupLocked(fd int) *descriptor {
	if fd < 0 || fd >= len(r.fds) {
		return nil
	}
	return r.fds[fd]
}

func (r *reactor) register(d *descriptor) error {
	// EPOLLPRI too: a read stops short at TCP urgent data, and its event makes sure the read after
	// it is tried (see descriptor.maybeReadable).
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(d.fd)}
	r.mu.Lock()
	if d.fd >= len(r.fds) {
		r.fds = append(r.fds, make([]*descriptor, d.fd+1-len(r.fds))...)
	}
	r.fds[d.fd] = d
	r.mu.Unlock()
	if err := unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, d.fd, &ev); err != nil {
		r.mu.Lock()
		r.fds[d.fd] = nil
		r.mu.Unlock()
		return os.NewSyscallError("epoll_ctl", err)
	}
	r.acquire()
	return nil
}

func (r *reactor) deregister(d *descriptor) {
	unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, d.fd, nil)
	r.mu.Lock()
	if r.fds[d.fd] == d {
		r.fds[d.fd] = nil
	}
	r.mu.Unlock()
	r.release()
}

// acquire and release count what keeps an own-loop reactor's goroutine alive.
func (r *reactor) acquire() {
	if r.owned != nil {
		r.owned.acquire()
	}
}

func (r *reactor) release() {
	if r.owned != nil {
		r.owned.release()
	}
}

// timerHeap orders pending timer waits by deadline.
type timerHeap []*timerWait

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	w := x.(*timerWait)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *timerHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// nextTimer returns how long until the earliest timer wait expires.
func (r *reactor) nextTimer() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.timers) == 0 {
		return 0, false
	}
	return max(time.Until(r.timers[0].deadline), 0), true
}

// addTimer queues w and wakes the waiter if w is now the earliest.
func (r *reactor) addTimer(w *timerWait) {
	// Counted before it is in the heap: once it is, an own-loop reactor may fire it and release
	// its count at once, which must not come before the count it releases.
	r.acquire()
	r.mu.Lock()
	heap.Push(&r.timers, w)
	first := w.index == 0
	r.mu.Unlock()
	if first {
		r.Wake()
	}
}

// removeTimer takes w out of the queue with its cancellation's stop function, which the caller
// calls; it reports false if w already fired or was removed.
func (r *reactor) removeTimer(w *timerWait) (stop func() bool, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.index < 0 {
		return nil, false
	}
	heap.Remove(&r.timers, w.index)
	stop, w.stop = w.stop, nil
	return stop, true
}

// setTimerStop gives w, still queued, its cancellation's stop function, for whoever takes w out
// of the queue to call; it reports false, and keeps nothing, if w has left the queue already.
func (r *reactor) setTimerStop(w *timerWait, stop func() bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if w.index < 0 {
		return false
	}
	w.stop = stop
	return true
}

func (r *reactor) fireTimers(now time.Time) {
	for {
		r.mu.Lock()
		if len(r.timers) == 0 || r.timers[0].deadline.After(now) {
			r.mu.Unlock()
			return
		}
		w := heap.Pop(&r.timers).(*timerWait)
		stop := w.stop
		w.stop = nil
		r.mu.Unlock()
		w.complete(nil, stop)
		r.release()
	}
}
