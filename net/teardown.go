package net

import (
	"sync"

	"errors"
	"fmt"
	"io"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// AsyncTeardowner is a stream with a teardown of its own, which [AsyncTeardown] uses instead of
// the default: Beast's async_teardown customisation point. A stream layered over another (a TLS
// stream written over an AsyncStream, a recording wrapper) implements it to end its own protocol
// and then tear its next layer down. AsyncTeardown completes h exactly once, on h's associated
// executor, never inside the call, with nil once the connection has ended cleanly and the stream
// is closed, or with the error that stopped it (having closed the stream all the same).
type AsyncTeardowner interface {
	AsyncTeardown(h completion.Handler[error])
}

// ErrNoTeardown is the error of [AsyncTeardown] on a stream that has neither a teardown of its
// own nor Shutdown and Close. errors.Is(ErrNoTeardown, errors.ErrUnsupported) holds.
var ErrNoTeardown = fmt.Errorf("net: the stream has no teardown (neither AsyncTeardown nor Shutdown and Close): %w", errors.ErrUnsupported)

// shutdownCloser is a stream AsyncTeardown can tear down: [TCPSocket], [ConnStream],
// nettest.Stream.
type shutdownCloser interface {
	Shutdown(how ShutdownHow) error
	Close() error
}

// writeCloser is a stream whose shutdown of its writing side is an operation, for a conn whose
// shutdown writes (TLS's close_notify) and must not block the executor: [ConnStream].
type writeCloser interface {
	asyncCloseWrite(h completion.Handler[IOResult])
}

// teardownDiscard is the size of the buffer a teardown reads the peer's last bytes into, to
// discard them: small, as they are few (the rest of a close frame, a TLS alert) and unwanted.
const teardownDiscard = 256

// AsyncTeardown ends the connection under s and closes s: Beast's async_teardown, the last step of
// a websocket close. If s is an [AsyncTeardowner], its own AsyncTeardown does it. Otherwise, for a
// stream with Shutdown(ShutdownHow) error and Close() error ([TCPSocket], [ConnStream],
// nettest.Stream) it shuts s's sending side down (a TCP FIN; for a ConnStream over crypto/tls,
// close_notify as well), reads and discards what the peer still sends until its end of stream
// (io.EOF), and closes s, so that the peer knows the connection ended in full and the side that
// closes first does not reset it with data still unread. A stream with neither completes with
// [ErrNoTeardown].
//
// It is a composed operation: h completes exactly once on its associated executor (s.Executor()
// when it has none), never inside this call, with nil when the peer ended the stream cleanly and
// Close succeeded, and otherwise with the first error (of the shutdown, a read, or Close); s is
// closed in every case but one: a teardown whose handler's context is already done when it is
// called does not start, and completes with the cancellation error, s untouched. A peer that never ends its side keeps the teardown pending: bind a
// context (completion.WithContext) to bound it, whose end cancels the read in flight and
// completes h with the cancellation error, s closed. No read or write may be in flight on s when
// it starts, and none may be started after.
func AsyncTeardown(s AsyncStream, h completion.Handler[error]) {
	if t, ok := s.(AsyncTeardowner); ok {
		t.AsyncTeardown(h)
		return
	}
	st := teardownStates.Get().(*teardownState)
	st.s = s
	st.sc, _ = s.(shutdownCloser)
	st.op.Start(s.Executor(), h, st) // the state holds its Op and is its Body, from a pool
}

// teardownState is the state of a default AsyncTeardown, from teardownStates while it is in
// flight, as AsyncWrite's is (writeAllState): a server tears down a connection for each it
// accepts.
type teardownState struct {
	op       composed.Op[error]
	s        AsyncReadStream
	sc       shutdownCloser // s, or nil if it cannot be torn down
	shutdown bool           // the sending side is shut down: the reads to EOF have begun
	empty    int            // reads in a row that moved nothing
	inner    composed.Slot[IOResult]
	discard  [teardownDiscard]byte
}

// Step is the body: it shuts the sending side down, then reads until the peer's end of stream,
// then closes.
func (t *teardownState) Step(op *composed.Op[error]) {
	if !op.Resumed() {
		if t.sc == nil {
			op.Complete(ErrNoTeardown)
			return
		}
		if wc, ok := t.s.(writeCloser); ok {
			wc.asyncCloseWrite(composed.Into(op, &t.inner))
			return
		}
		if err := t.sc.Shutdown(ShutdownWrite); err != nil {
			t.fail(op, err)
			return
		}
		t.shutdown = true
	} else {
		res := t.inner.Value
		switch {
		case !t.shutdown:
			if res.Err != nil {
				t.fail(op, res.Err)
				return
			}
			t.shutdown = true
		case res.Err == io.EOF:
			op.Complete(t.sc.Close())
			return
		case res.Err != nil:
			t.fail(op, res.Err)
			return
		default:
			if t.empty = nextEmpty(t.empty, res.N); t.empty >= maxEmptySteps {
				t.fail(op, io.ErrNoProgress)
				return
			}
		}
	}
	if err := op.Err(); err != nil { // cancelled between two reads
		t.fail(op, err)
		return
	}
	t.s.AsyncReadSome(t.discard[:], composed.Into(op, &t.inner))
}

// fail closes the stream and completes the teardown with err, which Close's error does not
// replace.
func (t *teardownState) fail(op *composed.Op[error], err error) {
	t.sc.Close()
	op.Complete(err)
}

// teardownStates holds the states of teardowns not in flight.
var teardownStates = sync.Pool{New: func() any { return new(teardownState) }}

// Released puts the state back in the pool once the teardown is over (composed.ReleasedBody).
func (t *teardownState) Released() {
	t.s, t.sc, t.shutdown, t.empty = nil, nil, false, 0
	t.inner.Value = IOResult{}
	teardownStates.Put(t)
}
