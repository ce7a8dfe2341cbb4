//go:build linux && !beastgo_portable

package net

import (
	"sync"
)

// ownedLoop runs a reactor on a goroutine of its own, for I/O objects whose executor is not an
// IOContext (System, a user's executor): the goroutine starts with the first registration and
// ends when nothing is registered, so no goroutine outlives the sockets and timers that need it.
type ownedLoop struct {
	r       *reactor
	mu      sync.Mutex
	refs    int
	running bool
	done    chan struct{}
}

var shared struct {
	once sync.Once
	r    *reactor
	err  error
}

// sharedReactor returns the process's own-loop reactor.
func sharedReactor() (*reactor, error) {
	shared.once.Do(func() {
		shared.r, shared.err = newReactor()
		if shared.err == nil {
			shared.r.owned = &ownedLoop{r: shared.r}
		}
	})
	return shared.r, shared.err
}

func (l *ownedLoop) acquire() {
	l.mu.Lock()
	l.refs++
	if !l.running {
		l.running = true
		l.done = make(chan struct{})
		go l.loop(l.done)
	}
	l.mu.Unlock()
}

func (l *ownedLoop) release() {
	l.mu.Lock()
	l.refs--
	last := l.refs == 0
	l.mu.Unlock()
	if last {
		l.r.Wake()
	}
}

func (l *ownedLoop) loop(done chan struct{}) {
	defer close(done)
	for {
		l.mu.Lock()
		if l.refs == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		l.r.Wait(-1)
	}
}

// idle waits until the loop's goroutine has exited, if nothing is registered; for tests.
func (l *ownedLoop) idle() {
	l.mu.Lock()
	done, running := l.done, l.running
	l.mu.Unlock()
	if running || done == nil {
		return
	}
	<-done
}
