package websocket

import (
	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/net"
)

// readChunk is how many bytes AsyncRead prepares in its buffer at a time for a frame's payload:
// a large frame is read in pieces rather than reserved whole on the peer's word.
const readChunk = 64 << 10

// GotText reports whether the message being read, or last read, is a text message.
func (s *Stream) GotText() bool { return s.rd.text }

// GotBinary reports whether the message being read, or last read, is a binary message.
func (s *Stream) GotBinary() bool { return !s.rd.text }

// IsMessageDone reports whether the last read ended a message: the next read starts a new one.
// It is true before the first read.
func (s *Stream) IsMessageDone() bool { return s.rd.msgDone }

// AsyncReadSome reads part of a message into b (Beast's async_read_some): it completes h with at
// least one byte of payload, or with N == 0 when the message ends with no more bytes, and
// IsMessageDone tells whether the message has ended. Pings met on the way are answered with pongs
// and pongs are consumed. A close frame fails the read with ErrClosed (Reason has the peer's
// code), a protocol violation with its ProtocolError, and either ends the stream.
//
// h is never called inside this call. Only one read may be in flight: a second completes with
// ErrOperationInProgress, leaving the first undisturbed.
func (s *Stream) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	s.startRead(b, nil, h)
}

// AsyncRead reads a whole message into buf (Beast's async_read), appending its payload to buf's
// readable bytes, and completes h with N the message's size. A message that does not fit in
// buf's MaxSize fails with net.ErrBufferOverflow; otherwise it is AsyncReadSome's contract.
func (s *Stream) AsyncRead(buf net.DynamicBuffer, h completion.Handler[net.IOResult]) {
	s.startRead(nil, buf, h)
}

func (s *Stream) startRead(b []byte, buf net.DynamicBuffer, h completion.Handler[net.IOResult]) {
	r := &s.rd
	if r.busy {
		failNow(s.Executor(), h, ErrOperationInProgress)
		return
	}
	if err := s.usable(); err != nil {
		failNow(s.Executor(), h, err)
		return
	}
	r.busy = true
	r.b, r.buf, r.n, r.some = b, buf, 0, buf == nil
	r.op.Start(s.Executor(), h, r)
}

// readPhase is what the read in flight is waiting for.
type readPhase uint8

const (
	phaseHeader  readPhase = iota // the bytes of a frame header
	phasePayload                  // payload bytes of a data frame
	phaseControl                  // the payload of a control frame
	phaseLock                     // the write mutex, to send a pong
	phasePong                     // the pong's write
)

// readOp is the state of the stream's read side: the frame being read, which lasts from one read
// to the next, and the read operation in flight, whose Op is kept so that reading allocates
// nothing.
type readOp struct {
	s  *Stream
	op composed.Op[net.IOResult]

	busy     bool
	some     bool              // AsyncReadSome: deliver what comes, not a whole message
	b        []byte            // AsyncReadSome's destination
	buf      net.DynamicBuffer // AsyncRead's destination, or nil
	prepared []byte            // the area of buf the read in flight fills
	n        int               // payload bytes delivered by this read
	phase    readPhase

	// The frame being read, kept between reads.
	hdr       [maxHeaderSize]byte
	hdrLen    int
	frame     frameHeader
	frameLeft uint64 // payload bytes of the current data frame not yet read
	maskPos   int
	msg       messageState
	msgSize   uint64
	msgDone   bool
	text      bool
	utf8      utf8Checker

	ctl    [maxControlPayload]byte // a control frame's payload, and the pong that answers a ping
	ctlLen int
	pong   [maxHeaderSize]byte
	out    gatherBufs

	read    composed.Slot[net.IOResult]
	lockErr composed.Slot[error]
}

// Step is the read's body: read headers, skip or answer control frames, and read payload until
// the read has something to deliver.
func (r *readOp) Step(op *composed.Op[net.IOResult]) {
	if !op.Resumed() {
		r.next(op)
		return
	}
	switch r.phase {
	case phaseLock:
		if err := r.lockErr.Value; err != nil {
			r.fail(op, err)
			return
		}
		r.sendPong(op)
		return
	case phasePong:
		res := r.read.Value
		if res.Err != nil {
			r.s.writeMu.Unlock()
			r.fail(op, res.Err)
			return
		}
		if !r.out.advance(res.N) {
			r.s.writeSome(&r.out, composed.Into(op, &r.read))
			return
		}
		r.s.writeMu.Unlock()
		r.phase = phaseHeader
		r.next(op)
		return
	}
	res := r.read.Value
	switch r.phase {
	case phaseHeader:
		r.hdrLen += res.N
	case phasePayload:
		if !r.gotPayload(op, res.N) {
			return
		}
	case phaseControl:
		r.ctlLen += res.N
	}
	if res.Err != nil {
		r.fail(op, res.Err)
		return
	}
	if r.phase == phaseControl && r.ctlLen == int(r.frame.length) {
		r.control(op)
		return
	}
	r.next(op)
}

// next decides what to do from the state: complete the read, or start the next inner read.
func (r *readOp) next(op *composed.Op[net.IOResult]) {
	if r.some && len(r.b) == 0 {
		r.complete(op, nil) // nothing to read into; the frame in progress stays as it is
		return
	}
	switch {
	case r.phase == phaseControl:
		r.readInto(op, r.ctl[r.ctlLen:r.frame.length])
		return
	case r.phase == phasePayload && r.frameLeft > 0:
		if r.some && r.n > 0 {
			r.complete(op, nil) // AsyncReadSome delivers what it has
			return
		}
		r.readPayload(op)
		return
	case r.phase == phasePayload && r.frame.fin:
		r.endMessage(op)
		return
	case r.phase == phasePayload:
		r.phase = phaseHeader // the frame is read; the message goes on in the next
		if r.some && r.n > 0 {
			r.complete(op, nil)
			return
		}
	}
	if err := r.s.usable(); err != nil {
		r.fail(op, err)
		return
	}
	// Read the header: its first two bytes say how long it is. Reading no further than the
	// header keeps the payload for the caller's buffer, with no copy.
	want := 2
	if r.hdrLen >= 2 {
		want = headerSize(r.hdr[1])
	}
	if r.hdrLen < want {
		r.readInto(op, r.hdr[r.hdrLen:want])
		return
	}
	r.header(op)
}

// header checks the header just read and sets up the reading of its payload.
func (r *readOp) header(op *composed.Op[net.IOResult]) {
	h, _, err := parseHeader(r.hdr[:r.hdrLen], r.s.role, false)
	r.hdrLen = 0
	if err == nil {
		err = r.msg.next(h.op, h.fin)
	}
	if err != nil {
		r.fail(op, err)
		return
	}
	r.frame, r.maskPos = h, 0
	if h.op.IsControl() {
		r.phase, r.ctlLen = phaseControl, 0
		if h.length == 0 {
			r.control(op)
			return
		}
		r.next(op)
		return
	}
	if h.op != OpContinuation {
		r.text, r.msgSize, r.msgDone = h.op == OpText, 0, false
		r.utf8.reset()
	}
	if h.length > r.s.opts.readLimit()-r.msgSize {
		r.fail(op, ErrMessageTooBig)
		return
	}
	r.msgSize += h.length
	r.frameLeft = h.length
	r.phase = phasePayload
	r.next(op)
}

// readPayload starts the read of the current frame's payload into the caller's buffer.
func (r *readOp) readPayload(op *composed.Op[net.IOResult]) {
	want := r.frameLeft
	var dst []byte
	if r.some {
		dst = r.b[r.n:]
	} else {
		var err error
		if dst, err = r.buf.Prepare(int(min(want, readChunk))); err != nil {
			r.fail(op, err)
			return
		}
	}
	if uint64(len(dst)) > want {
		dst = dst[:want]
	}
	r.prepared = dst
	r.readInto(op, dst)
}

// gotPayload takes in n payload bytes just read: unmasks them, checks them as UTF-8 for text, and
// counts them. It reports false when it has completed the read with a violation.
func (r *readOp) gotPayload(op *composed.Op[net.IOResult], n int) bool {
	var p []byte
	if r.some {
		p = r.b[r.n : r.n+n]
	} else {
		p = r.prepared[:n]
		r.buf.Commit(n)
	}
	if r.frame.masked {
		r.maskPos = maskBytes(r.frame.key, r.maskPos, p)
	}
	if r.text && !r.utf8.write(p) {
		r.fail(op, ErrBadFramePayload)
		return false
	}
	r.n += n
	r.frameLeft -= uint64(n)
	return true
}

// endMessage ends the message whose final frame has been read.
func (r *readOp) endMessage(op *composed.Op[net.IOResult]) {
	r.phase = phaseHeader
	if r.text && !r.utf8.finish() {
		r.fail(op, ErrBadFramePayload)
		return
	}
	r.msgDone = true
	r.complete(op, nil)
}

// control acts on a whole control frame: answers a ping, drops a pong, ends the stream on a close.
func (r *readOp) control(op *composed.Op[net.IOResult]) {
	p := r.ctl[:r.ctlLen]
	if r.frame.masked {
		maskBytes(r.frame.key, 0, p)
	}
	r.phase = phaseHeader
	switch r.frame.op {
	case OpPing:
		r.phase = phaseLock
		if !r.s.writeMu.TryLock() {
			// A data frame is on its way out: the pong waits for its end.
			r.s.writeMu.AsyncLock(composed.Into(op, &r.lockErr))
			return
		}
		r.sendPong(op)
		return
	case OpClose:
		reason, err := parseClosePayload(p)
		if err != nil {
			r.fail(op, err)
			return
		}
		r.s.reason = reason
		r.fail(op, ErrClosed)
		return
	}
	r.next(op) // a pong: nothing to do
}

// sendPong writes a pong carrying the ping's payload; the read holds the write mutex.
func (r *readOp) sendPong(op *composed.Op[net.IOResult]) {
	s := r.s
	if err := s.usable(); err != nil {
		s.writeMu.Unlock()
		r.fail(op, err)
		return
	}
	h := frameHeader{fin: true, op: OpPong, length: uint64(r.ctlLen)}
	p := r.ctl[:r.ctlLen]
	if s.role == roleClient {
		h.masked, h.key = true, s.maskKey()
		maskBytes(h.key, 0, p) // the ping's payload is ours to mask in place
	}
	r.out.set(r.pong[:h.encode(r.pong[:])], p)
	r.phase = phasePong
	s.writeSome(&r.out, composed.Into(op, &r.read))
}

// readInto starts one read of the next layer into dst.
func (r *readOp) readInto(op *composed.Op[net.IOResult], dst []byte) {
	if len(r.s.hs.readAhead) > 0 {
		// Bytes that came in behind the handshake's HTTP head are the stream's first.
		n := copy(dst, r.s.hs.readAhead)
		r.s.hs.readAhead = r.s.hs.readAhead[n:]
		composed.Into(op, &r.read).Complete(net.IOResult{N: n})
		return
	}
	r.s.next.AsyncReadSome(dst, composed.Into(op, &r.read))
}

// fail ends the stream with err and completes the read with it.
func (r *readOp) fail(op *composed.Op[net.IOResult], err error) {
	r.s.failWith(err)
	r.complete(op, r.s.err)
}

// complete ends the read.
func (r *readOp) complete(op *composed.Op[net.IOResult], err error) {
	r.busy = false
	r.b, r.buf, r.prepared = nil, nil, nil
	op.Complete(net.IOResult{N: r.n, Err: err})
}
