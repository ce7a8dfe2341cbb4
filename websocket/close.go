package websocket

import (
	"context"
	"errors"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/net"
)

// AsyncClose runs the closing handshake of RFC 6455 section 7 (Beast's async_close):
//
//  1. It waits for its turn on the write side (after the frame of a message in flight, never
//     inside one), then sends a close frame carrying reason: an empty payload for CloseNone,
//     the code and reason otherwise. No data frame, ping or pong is sent after it.
//  2. Unless a read has already received the peer's close frame, it reads until that frame
//     comes, discarding data frames, pings and pongs (no pong is sent and the control callback
//     is not called). A read pending when AsyncClose started does this part (after finishing
//     the frame it was reading, with which it may complete) and then fails with ErrClosed.
//  3. It tears the next layer down: a server shuts its sending side (a TCP FIN; TLS's
//     close_notify first for a ConnStream over crypto/tls), reads to the peer's end of stream
//     and closes (net.AsyncTeardown); a client first reads to the server's end of stream, so
//     that the server closes TCP first (RFC 6455 section 7.1.1), then does the same.
//
// h receives nil once both close frames have crossed, whatever the teardown met: the next layer
// is closed in every case. Otherwise it receives the error that stopped the handshake: a failure
// of the next layer (closed then too, when it has a Close method), the peer's protocol violation
// met while waiting for its close frame, ErrTimeout when the close took longer than
// Timeout.Handshake (or Options.CloseTimeout, 5 s by default, when that is zero; the time runs
// from the call, so a close waiting behind a stuck write ends too), or the context's end
// (completion.WithContext). The stream is over once h runs; Reason holds the peer's close frame
// when it came.
//
// A reason that cannot be sent (ErrBadCloseReason), a stream that is not open (ErrNotOpen),
// already closing or closed (ErrClosed), or failed (its error), and a second AsyncClose while one
// is pending (ErrOperationInProgress) complete h with that error and change nothing. h is never
// called inside this call and runs on its associated executor, the stream's when it has none.
// A context that ends while AsyncClose waits for its turn to write leaves the stream as it was;
// one that ends later closes the next layer at once, and the operations after it fail with the
// cancellation's error.
func (s *Stream) AsyncClose(reason CloseReason, h completion.Handler[error]) {
	x := s.extras()
	if x.cl == nil {
		x.cl = &closeOp{s: s}
	}
	c := x.cl
	var err error
	switch {
	case c.busy:
		err = ErrOperationInProgress
	default:
		if err = reason.check(); err == nil {
			err = s.usable()
		}
	}
	if err != nil {
		failNow(s.Executor(), h, err)
		return
	}
	noteStep(s, h)
	c.busy, c.result = true, nil
	// The close timeout runs from now, so a close waiting behind a stuck write is bounded too.
	s.timeClose()
	payload, _ := appendClosePayload(c.payload[:0], reason) // checked above
	s.controlFrame(&c.hdr, &c.out, OpClose, payload)
	c.op.Start(s.Executor(), h, c)
}

// closePhase is what AsyncClose is waiting for.
type closePhase uint8

const (
	closeLockWrite closePhase = iota // its turn on the write mutex
	closeWrite                       // the close frame's write
	closeLockRead                    // the end of the read in flight
	closeDrain                       // its own read, until the peer's close frame
	closeTeardown                    // the teardown of the next layer
)

// closeOp is the state of AsyncClose, a composed operation that is its own Body.
type closeOp struct {
	s  *Stream
	op composed.Op[error]

	busy      bool
	holdsRead bool // it holds s.readMu
	phase     closePhase
	result    error // what h receives once the teardown is done

	hdr     [maxHeaderSize]byte
	payload [maxControlPayload]byte
	out     gatherBufs

	io   composed.Slot[net.IOResult]
	done composed.Slot[error]
}

// Skipped undoes AsyncClose when its context was done before it started (composed.SkippedBody).
func (c *closeOp) Skipped() {
	c.busy = false
	c.s.timeIdle()
}

// Step is AsyncClose's body.
func (c *closeOp) Step(op *composed.Op[error]) {
	s := c.s
	if !op.Resumed() {
		c.phase = closeLockWrite
		if !s.writeMu.TryLock() {
			s.writeMu.AsyncLock(composed.Into(op, &c.done))
			return
		}
		c.send(op)
		return
	}
	switch c.phase {
	case closeLockWrite:
		err := c.done.Value
		if err == nil {
			if err = cancelledErr(op); err != nil {
				s.writeMu.Unlock() // cancelled as its turn came: as if while it waited
			}
		}
		if err != nil {
			// Cancelled while parked: nothing was sent, and unless the stream began closing or
			// ended meanwhile, it goes on as before, with its own timer.
			if !s.wrClose && !s.rdClose && s.err == nil {
				s.timeIdle()
			}
			c.complete(op, err)
			return
		}
		c.send(op)
	case closeWrite:
		res := c.io.Value
		if res.Err != nil {
			s.writeMu.Unlock()
			c.end(op, s.breakNext(res.Err))
			return
		}
		if !c.out.advance(res.N) {
			s.writeSome(&c.out, composed.Into(op, &c.io))
			return
		}
		s.writeMu.Unlock()
		c.awaitPeer(op)
	case closeLockRead:
		if err := c.done.Value; err != nil {
			// Cancelled while a read is pending on the next layer: a dirty shutdown.
			c.end(op, s.breakNext(err))
			return
		}
		c.holdsRead = true
		c.afterRead(op, nil)
	case closeDrain:
		c.afterRead(op, c.io.Value.Err)
	case closeTeardown:
		s.broken = true // the teardown closed it
		if err := c.done.Value; c.result == nil && isContextEnd(err) {
			c.result = err // the caller asked for the end; anything else the teardown met is moot
		}
		c.end(op, c.result)
	}
}

// send writes the close frame, unless the stream ended, or a read's close frame went out, while
// AsyncClose waited for its turn. A read that has received the peer's close frame and waits for
// the mutex behind AsyncClose finds this frame sent and leaves the rest to AsyncClose.
func (c *closeOp) send(op *composed.Op[error]) {
	s := c.s
	if s.err != nil || s.broken || s.wrClose {
		s.writeMu.Unlock()
		err := ErrClosed
		if s.err != nil {
			err = s.failure()
		}
		c.complete(op, err)
		return
	}
	s.wrClose = true
	c.phase = closeWrite
	s.writeSome(&c.out, composed.Into(op, &c.io))
}

// awaitPeer waits for the peer's close frame: at once to the teardown when a read has it,
// otherwise once the read in flight, if any, is over.
func (c *closeOp) awaitPeer(op *composed.Op[error]) {
	s := c.s
	if s.rdClose {
		c.teardown(op)
		return
	}
	c.phase = closeLockRead
	if !s.readMu.TryLock() {
		s.readMu.AsyncLock(composed.Into(op, &c.done))
		return
	}
	c.holdsRead = true
	c.afterRead(op, nil)
}

// afterRead goes on once no user's read is in flight, or once AsyncClose's own read ended with
// err: to the teardown once the peer's close frame is in, or after the peer's violation of the
// protocol; to the end when the next layer failed; otherwise to a read of its own.
func (c *closeOp) afterRead(op *composed.Op[error], err error) {
	s := c.s
	switch {
	case s.rdClose:
		c.teardown(op)
	case s.broken:
		if err == nil {
			err = s.failure()
		}
		c.end(op, err)
	case s.err != nil:
		c.result = s.err // the violation, answered by the teardown alone: our close frame is out
		c.teardown(op)
	case err != nil:
		// AsyncClose's own read never started: its context (AsyncClose's) was already done.
		c.end(op, s.breakNext(err))
	default:
		r := s.takeReadOp()
		r.busy, r.drain, r.holdsMu = true, true, false
		r.some, r.b, r.buf, r.n = true, nil, nil, 0
		if r.phase == phasePayload {
			r.phase = phaseDiscard // the rest of a frame a read left half read
		}
		c.phase = closeDrain
		r.op.Start(s.Executor(), composed.Into(op, &c.io), r)
	}
}

// teardown ends the next layer.
func (c *closeOp) teardown(op *composed.Op[error]) {
	c.phase = closeTeardown
	c.s.asyncTeardown(composed.Into(op, &c.done))
}

// end ends the stream and completes AsyncClose with err.
func (c *closeOp) end(op *composed.Op[error], err error) {
	c.s.finish(err)
	c.complete(op, err)
}

// complete completes AsyncClose with err.
func (c *closeOp) complete(op *composed.Op[error], err error) {
	if c.holdsRead {
		c.holdsRead = false
		c.s.readMu.Unlock()
	}
	c.busy = false
	op.Complete(err)
}

// isContextEnd reports whether err is the cancellation of an operation by its context's end.
func isContextEnd(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
