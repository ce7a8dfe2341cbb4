package executor

import "github.com/beastgo/beast/internal/lend"

// A handler that switches to a coroutine (a spawned operation's step resuming its body) lends the
// coroutine its runner's seat (internal/lend), which the coroutine takes while it runs and may
// keep while suspended, when it posts nothing: Post, Defer and the work counts treat the seat's
// holder as the runner's goroutine, so that what the body posts
// joins the runner's private queue without the lock, behind what the handler posted, exactly as
// if the handler had posted it. Dispatch still posts from the coroutine and RunningInThisThread
// reports false there: the coroutine is not the goroutine running the handler, and running a
// handler inline on it would run the executor's code on a goroutine Run does not know.

func init() { lend.Of = seatOf }

// seatOf is lend.Of: the seat of the caller's runner in the context that runs ex's handlers, if
// the caller is running one of them.
func seatOf(ex any) *lend.Seat {
	var c *IOContext
	switch e := ex.(type) {
	case *IOContext:
		c = e
	case Executor:
		c = ExecutionContext(e)
	}
	if c == nil {
		return nil
	}
	if r := c.current(); r != nil && r.running {
		return &r.seat
	}
	return nil
}

// poster returns the runner as which the caller posts: its own if it is inside a run call of c,
// else the one whose handler lent its seat to the caller, else nil.
func (c *IOContext) poster() *runner { return c.lookup(true) }
