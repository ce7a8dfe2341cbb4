package testkit

import (
	"sync"
	"testing"

	"github.com/beastgo/beast/executor"
)

// NewIOContext returns a context for runners Run goroutines: with more than one, made with that
// concurrency hint, so that it says up front that it is not serial.
func NewIOContext(runners int) *executor.IOContext {
	if runners > 1 {
		return executor.NewIOContextConcurrency(runners)
	}
	return executor.NewIOContext()
}

// Run runs ioc on n goroutines until it runs out of work (within Patience), then restarts it.
func Run(t testing.TB, ioc *executor.IOContext, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { ioc.Run() })
	}
	WaitGroup(t, &wg, "the context to run out of work")
	ioc.Restart()
}

// RunGuarded runs ioc on n goroutines, kept running by a work guard, until stop is called: stop
// releases the guard, waits for the goroutines (within Patience) and restarts ioc. Calls of stop
// after the first do nothing.
func RunGuarded(t testing.TB, ioc *executor.IOContext, n int) (stop func()) {
	guard := executor.MakeWorkGuard(ioc)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { ioc.Run() })
	}
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		guard.Reset()
		WaitGroup(t, &wg, "the context to run out of work")
		ioc.Restart()
	}
}
