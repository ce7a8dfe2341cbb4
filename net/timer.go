package net

import "time"

// The expiry methods are the same on both paths (timer_linux.go, timer_portable.go): each path's
// SteadyTimer has its mutex, its expiry and a Cancel of its own.

// ExpiresAfter sets the expiry d from now, cancelling pending waits; it returns how many.
func (t *SteadyTimer) ExpiresAfter(d time.Duration) int { return t.ExpiresAt(time.Now().Add(d)) }

// ExpiresAt sets the expiry, cancelling pending waits; it returns how many.
func (t *SteadyTimer) ExpiresAt(at time.Time) int {
	n := t.Cancel()
	t.mu.Lock()
	t.expiry = at
	t.mu.Unlock()
	return n
}

// Expiry returns the time the timer expires at.
func (t *SteadyTimer) Expiry() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.expiry
}
