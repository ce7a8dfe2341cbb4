package testkit

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// Patience bounds every wait of the package's helpers: only a completion that never comes takes
// that long. It is a watchdog, not a measure of speed.
const Patience = time.Minute

// WaitGroup waits for wg, or fails the test with every goroutine's stack if it is not done within
// Patience; what says what was awaited.
func WaitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(Patience):
		t.Fatalf("waited %v for %s: an operation never completed\n%s", Patience, what, stacks())
	}
}

// Recv receives from ch, or fails the test with every goroutine's stack if nothing comes within
// Patience.
func Recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(Patience):
		t.Fatalf("nothing came within %v: an operation never completed\n%s", Patience, stacks())
		panic("unreachable")
	}
}

func stacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}
