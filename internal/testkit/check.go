package testkit

import (
	"sync"
	"sync/atomic"
	"testing"
)

// Check collects the broken promises that handlers find, on any goroutine, and counts the
// operations started and completed. It shows the first 15 failures.
type Check struct {
	t         testing.TB
	mu        sync.Mutex
	failures  int
	Started   atomic.Int64 // operations started
	Completed atomic.Int64 // operations whose handler ran
}

// NewCheck returns a Check that reports to t.
func NewCheck(t testing.TB) *Check { return &Check{t: t} }

// Errorf records a broken promise and reports it, unless 15 have been reported already.
func (c *Check) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures++
	switch {
	case c.failures <= 15:
		c.t.Errorf(format, args...)
	case c.failures == 16:
		c.t.Errorf("(more failures not shown)")
	}
}

// Failed reports whether Errorf was called.
func (c *Check) Failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.failures > 0
}

// AllCompleted checks, once the context has run out of work, that every operation started
// completed.
func (c *Check) AllCompleted() {
	c.t.Helper()
	if s, d := c.Started.Load(), c.Completed.Load(); s != d {
		c.t.Errorf("%d operations started, %d completed", s, d)
	}
}
