package websocket

import (
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/net"
)

// SetText makes the next message written a text message (the default): its payload must be
// valid UTF-8, which the peer checks. A message already begun keeps its kind.
func (s *Stream) SetText() { s.wrOpcode = OpText }

// SetBinary makes the next message written a binary message. A message already begun keeps its
// kind.
func (s *Stream) SetBinary() { s.wrOpcode = OpBinary }

// AsyncWrite writes b as one whole message, text or binary as SetText and SetBinary chose, and
// completes h with N == len(b) or the error that stopped it (Beast's async_write). It is
// AsyncWriteSome(true, b, h).
func (s *Stream) AsyncWrite(b []byte, h completion.Handler[net.IOResult]) {
	s.AsyncWriteSome(true, b, h)
}

// AsyncWriteSome writes b as the next part of a message, ending the message when fin is set
// (Beast's async_write_some): the first call of a message gives it its kind, the later ones send
// continuation frames. It completes h with N == len(b), or the bytes of b sent before an error.
//
// h is never called inside this call. Only one write may be in flight: a second completes with
// ErrOperationInProgress, leaving the first undisturbed. The caller's bytes are never modified (a
// client masks a copy), and must stay untouched until h runs. Control frames (a pong a read
// answers with, AsyncPing, AsyncPong, AsyncClose) take turns with the write between frames, never
// inside one, in the order they were started; once a close frame has gone out the write fails with
// ErrClosed (or, when a read's close frame answered the peer's violation, with that violation's
// error), N counting the bytes sent before. A failure of the next layer, or the write's context
// ending, closes the next layer and ends the stream.
func (s *Stream) AsyncWriteSome(fin bool, b []byte, h completion.Handler[net.IOResult]) {
	if s.wrBusy {
		failNow(s.Executor(), h, ErrOperationInProgress)
		return
	}
	if err := s.usable(); err != nil {
		failNow(s.Executor(), h, err)
		return
	}
	noteStep(s, h)
	w := writeOps.Get().(*writeOp)
	w.s, s.wr, s.wrBusy = s, w, true
	w.fin, w.data, w.sent, w.frameLeft, w.holding = fin, b, 0, 0, false
	w.inFrame = false
	w.op.Start(s.Executor(), h, w)
}

// writeOp is the state of a write in flight. It comes from a pool when the write starts and goes
// back just before the handler runs (composed.ReleasedBody), so that an idle stream holds no write
// state and writing a message allocates nothing once the pool is warm.
type writeOp struct {
	s  *Stream
	op composed.Op[net.IOResult]

	fin       bool   // this write ends its message
	data      []byte // the caller's bytes not yet framed
	sent      int    // bytes of the caller's sent in full
	holding   bool   // the write mutex is this operation's
	inFrame   bool   // a frame's header has left and frameLeft payload bytes are to follow
	frameLeft int    // payload bytes of the current frame still to send
	key       [4]byte
	maskPos   int
	chunk     int // payload bytes in the write in flight
	hdr       [maxHeaderSize]byte
	buf       []byte // the client's masking buffer, made at the first masked frame of the state
	out       gatherBufs
	write     composed.Slot[net.IOResult]
	lockErr   composed.Slot[error]
}

// Skipped undoes AsyncWriteSome when the write's context was done before it started
// (composed.SkippedBody).
func (w *writeOp) Skipped() { w.s.wrBusy = false }

// Released puts the write's state back in the pool once the write is over (composed.ReleasedBody).
// A client's masking buffer goes with it, so that the next write of any stream can use it.
func (w *writeOp) Released() {
	if w.s.wr == w {
		w.s.wr = nil
	}
	w.s, w.data = nil, nil
	w.out = gatherBufs{}
	writeOps.Put(w)
}

// writeOps holds the states of writes not in flight.
var writeOps = sync.Pool{New: func() any { return new(writeOp) }}

// Step is the write's body: take the mutex, send a frame (or the next masked piece of one), give
// the mutex back between frames so control frames can go out, and repeat until b is sent.
func (w *writeOp) Step(op *composed.Op[net.IOResult]) {
	if op.Resumed() && w.lockErr.Ready() && !w.holding {
		if err := w.lockErr.Value; err != nil {
			// Cancelled while waiting for its turn, or the stream ended meanwhile. Before any
			// byte of the write left, the stream is untouched; after, a message is cut short.
			if w.sent > 0 && w.s.err == nil {
				err = w.s.breakNext(err)
			}
			w.finish(op, err)
			return
		}
		w.holding = true
		if err := w.s.usable(); err != nil {
			// The stream ended, or a close frame went out, while the write waited.
			w.finish(op, err)
			return
		}
		if err := cancelledErr(op); err != nil {
			// Cancelled as its turn came: as if while it waited.
			if w.sent > 0 {
				err = w.s.breakNext(err)
			}
			w.finish(op, err)
			return
		}
	} else if op.Resumed() {
		r := w.write.Value
		if r.Err != nil {
			// A frame is half written (or the write's context ended under it): the stream
			// cannot go on, and the next layer is closed.
			w.finish(op, w.s.breakNext(r.Err))
			return
		}
		if !w.out.advance(r.N) {
			w.s.writeSome(&w.out, composed.Into(op, &w.write))
			return
		}
		w.sent += w.chunk
		w.data = w.data[w.chunk:]
		w.frameLeft -= w.chunk
		if w.frameLeft == 0 {
			w.inFrame = false
			// Between frames the mutex goes back, so a pong waiting for it goes out now rather
			// than after the whole message.
			w.s.writeMu.Unlock()
			w.holding = false
			if len(w.data) == 0 {
				w.finish(op, nil)
				return
			}
		}
	}
	if !w.holding {
		if err := w.s.usable(); err != nil {
			w.finish(op, err)
			return
		}
		if !w.s.writeMu.TryLock() {
			w.s.writeMu.AsyncLock(composed.Into(op, &w.lockErr))
			return
		}
		w.holding = true
	}
	w.sendNext(op)
}

// sendNext starts the write of the next frame, or of the next masked piece of the current one.
func (w *writeOp) sendNext(op *composed.Op[net.IOResult]) {
	s := w.s
	var hdr []byte
	if !w.inFrame {
		size := len(w.data)
		if s.opts.AutoFragment {
			size = min(size, s.opts.writeBufferBytes())
		}
		h := frameHeader{fin: w.fin && size == len(w.data), op: OpContinuation, length: uint64(size)}
		if !s.wrContinuing {
			h.op = s.wrOpcode
		}
		if s.role == roleClient {
			h.masked, h.key = true, s.maskKey()
			w.key, w.maskPos = h.key, 0
		}
		hdr = w.hdr[:h.encode(w.hdr[:])]
		s.wrContinuing = !h.fin
		w.inFrame, w.frameLeft = true, size
	}
	payload := w.data[:w.frameLeft]
	if s.role == roleClient {
		size := s.opts.writeBufferBytes()
		if cap(w.buf) < size {
			w.buf = make([]byte, size)
		}
		n := copy(w.buf[:size], payload)
		payload = w.buf[:n]
		w.maskPos = maskBytes(w.key, w.maskPos, payload)
	}
	w.chunk = len(payload)
	if hdr != nil {
		w.out.set(hdr, payload)
	} else {
		w.out.set(payload, nil)
	}
	s.writeSome(&w.out, composed.Into(op, &w.write))
}

// finish ends the write with err, giving the mutex back if it holds it.
func (w *writeOp) finish(op *composed.Op[net.IOResult], err error) {
	if w.holding {
		w.s.writeMu.Unlock()
		w.holding = false
	}
	w.s.wrBusy = false
	w.data = nil
	op.Complete(net.IOResult{N: w.sent, Err: err})
}
