package composed

import (
	"context"
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Waiters whose contexts end while one operation holds the mutex for long (a ping under a timeout,
// again and again, behind a write stalled on a peer that does not read) must not grow the queue
// without bound: the ring keeps only the operations really waiting.
func TestMutexRingDropsWaitersThatLeft(t *testing.T) {
	ioc := executor.NewIOContext()
	var m Mutex
	if !m.TryLock() {
		t.Fatal("TryLock of a new mutex failed")
	}
	for range 1000 {
		ctx, cancel := context.WithCancel(context.Background())
		left := make(chan error, 1)
		m.AsyncLock(completion.WithContext(ctx, completion.Callback(func(err error) { left <- err })))
		cancel()
		// leave runs on context.AfterFunc's goroutine and posts the completion to ioc.
		ioc.RunOne()
		ioc.Restart()
		if err := <-left; !errors.Is(err, completion.ErrOperationAborted) {
			t.Fatalf("a cancelled waiter completed with %v", err)
		}
	}
	m.mu.Lock()
	size := len(m.waiters)
	m.mu.Unlock()
	if size > 8 {
		t.Fatalf("the waiters' ring holds %d entries after 1000 waiters came and left one at a time", size)
	}
	m.Unlock()
	if m.Locked() {
		t.Fatal("the mutex is still held after Unlock with no one waiting")
	}
}

// A handler whose executor runs posts at once (Inline) is granted the mutex without a deadlock:
// the grant is posted after the mutex's own lock is released.
func TestMutexGrantToAnInlineExecutor(t *testing.T) {
	var m Mutex
	granted := 0
	h := completion.Bind[error](executor.Inline{}, completion.Callback(func(err error) {
		if err == nil {
			granted++
		}
	}))
	m.AsyncLock(h) // free: granted at once, on Inline
	m.AsyncLock(h) // waits
	m.Unlock()     // hands it to the second, on Inline
	if granted != 2 || !m.Locked() {
		t.Fatalf("granted %d times, locked %v; want 2 and true", granted, m.Locked())
	}
	m.Unlock()
}
