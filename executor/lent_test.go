package executor

import (
	"testing"

	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/internal/lend"
)

// A goroutine that a handler is blocked on, holding the handler's seat, posts and counts work as
// the handler's Run goroutine: its posts join that goroutine's private queue behind the handler's
// own. Once it lets go of the seat, or from any other goroutine, a post takes the shared queue.
// Where goroutines cannot be told apart, no handler has a seat.
func TestSeatHolderPostsAsTheRunGoroutine(t *testing.T) {
	c := NewIOContext()
	if s := lend.Of(c); s != nil {
		t.Fatal("a goroutine outside every run call has a seat")
	}
	var order []string
	var private, shared int
	c.Post(func() {
		c.Post(func() { order = append(order, "handler") })
		seat := lend.Of(c)
		if !gid.Known {
			if seat != nil {
				t.Error("a seat where goroutines cannot be told apart")
			}
			return
		}
		if seat == nil {
			t.Error("a handler has no seat")
			return
		}
		done := make(chan struct{})
		go func() { // the coroutine, while the handler waits for it
			defer close(done)
			g := gid.Current()
			seat.Lend(g)
			c.OnWorkStarted()
			c.Post(func() { order = append(order, "seat holder") })
			c.OnWorkFinished()
			seat.Release(g)
			c.Post(func() { order = append(order, "after release") })
		}()
		<-done
		r := c.current()
		private, shared = r.private.len(), c.queue.len()
	})
	c.Run()
	if !gid.Known {
		return
	}
	if private != 2 || shared != 1 {
		t.Errorf("private queue %d, shared queue %d; want 2 and 1", private, shared)
	}
	// The shared queue's handler was posted first, from the batch's point of view: the private
	// queue joins it behind.
	want := []string{"after release", "handler", "seat holder"}
	if len(order) != len(want) || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Errorf("order %v, want %v", order, want)
	}
	if !c.Stopped() {
		t.Error("the context did not run out of work")
	}
}
