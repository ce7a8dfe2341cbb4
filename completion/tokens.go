package completion

import (
	"context"
	"fmt"
	"sync/atomic"
)

func typeName[R any]() string { return fmt.Sprintf("%T", (*R)(nil))[1:] }

// Func is a handler that calls a function: the callback token.
type Func[R any] func(R)

// Complete calls f.
func (f Func[R]) Complete(r R) { f(r) }

// Callback returns a handler that calls f with the result; R is inferred from f.
func Callback[R any](f func(R)) Func[R] { return Func[R](f) }

// Future is a handler that stores the result for a goroutine to wait for: the use_future token.
type Future[R any] struct {
	done   chan struct{}
	result R
	set    atomic.Bool
}

// NewFuture returns a future waiting for its result.
func NewFuture[R any]() *Future[R] { return &Future[R]{done: make(chan struct{})} }

// Complete stores the result and wakes every waiter. A second Complete panics: an operation
// delivers its result exactly once.
func (f *Future[R]) Complete(r R) {
	if !f.set.CompareAndSwap(false, true) {
		panic("completion: Future completed twice")
	}
	f.result = r
	close(f.done)
}

// Wait blocks until the result is there and returns it.
func (f *Future[R]) Wait() R {
	<-f.done
	return f.result
}

// WaitContext waits for the result or for ctx to end, whichever comes first; it returns ctx's
// error in the second case. Giving up waiting does not cancel the operation: bind ctx to the
// handler with [WithContext] for that.
func (f *Future[R]) WaitContext(ctx context.Context) (R, error) {
	select {
	case <-f.done:
		return f.result, nil
	case <-ctx.Done():
		// select picks at random when both are ready: a result that is there wins.
		select {
		case <-f.done:
			return f.result, nil
		default:
		}
		var zero R
		return zero, ctx.Err()
	}
}

// Done returns a channel closed when the result is there.
func (f *Future[R]) Done() <-chan struct{} { return f.done }

// Result returns the result and true if it is there, without waiting.
func (f *Future[R]) Result() (R, bool) {
	select {
	case <-f.done:
		return f.result, true
	default:
		var zero R
		return zero, false
	}
}

// ChanHandler is a handler that sends the result on a channel.
type ChanHandler[R any] chan<- R

// Complete sends r on the channel. It blocks until the channel takes it, and it runs on the
// handler's executor, so give the channel room for the result (a buffer of one per operation)
// unless a receiver is always waiting.
func (c ChanHandler[R]) Complete(r R) { c <- r }

// Chan returns a handler that sends the result on ch.
func Chan[R any](ch chan<- R) ChanHandler[R] { return ChanHandler[R](ch) }

type detached[R any] struct{}

func (detached[R]) Complete(R) {}

// Detached returns a handler that discards the result: Asio's detached.
func Detached[R any]() Handler[R] { return detached[R]{} }
