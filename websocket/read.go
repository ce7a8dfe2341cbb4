package websocket

import (
	"context"
	"errors"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// readChunk is how many bytes AsyncRead prepares in its buffer at a time for a frame's payload:
// a large frame is read in pieces rather than reserved whole on the peer's word.
const readChunk = 64 << 10

// GotText reports whether the message being read, or last read, is a text message.
func (s *Stream) GotText() bool { return s.rs.text }

// GotBinary reports whether the message being read, or last read, is a binary message.
func (s *Stream) GotBinary() bool { return !s.rs.text }

// IsMessageDone reports whether the last read ended a message: the next read starts a new one.
// It is true before the first read.
func (s *Stream) IsMessageDone() bool { return s.rs.msgDone }

// ReadSizeHint returns a good size for the buffer of the next read (Beast's read_size_hint):
// the payload bytes left in the frame being read, when a message is in progress and its frame
// announced them, and otherwise initial (4096 when initial <= 0); never more than what the
// message size limit still allows.
func (s *Stream) ReadSizeHint(initial int) int {
	r := &s.rs
	if !r.msgDone && r.phase == phasePayload && r.frameLeft > 0 {
		return int(min(r.frameLeft, 1<<31-1))
	}
	if initial <= 0 {
		initial = 4096
	}
	limit := s.opts.readLimit()
	if !r.msgDone {
		limit -= r.msgSize
	}
	return max(int(min(uint64(initial), limit)), 1)
}

// AsyncReadSome reads part of a message into b (Beast's async_read_some): it completes h with at
// least one byte of payload, or with N == 0 when the message ends with no more bytes, and
// IsMessageDone tells whether the message has ended. Pings met on the way are answered with pongs
// and pongs are consumed; the control callback (SetControlCallback) sees both.
//
// A close frame from the peer is answered with a close frame echoing its code, the next layer is
// torn down, and the read fails with ErrClosed, Reason holding the peer's code and reason. A
// protocol violation is answered with a close frame carrying its code (1002, 1007 or 1009), the
// next layer torn down, and the read fails with the violation's error (errors.Is ErrProtocol).
// A failure of the next layer, or the read's context ending (which leaves a frame half read),
// closes the next layer at once and fails the read with that error. Each of these ends the
// stream: every later operation fails.
//
// A read pending when AsyncClose starts finishes the frame it is reading, and may complete with
// it; after that it discards what arrives until the peer's close frame, and then fails with
// ErrClosed while AsyncClose finishes the closing handshake.
//
// h is never called inside this call. Only one read may be in flight: a second completes with
// ErrOperationInProgress, leaving the first undisturbed.
func (s *Stream) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	s.startRead(b, nil, h)
}

// AsyncRead reads a whole message into buf (Beast's async_read), appending its payload to buf's
// readable bytes, and completes h with N the message's size. A message that does not fit in
// buf's MaxSize fails with net.ErrBufferOverflow, answered with close code 1009; otherwise it is
// AsyncReadSome's contract.
func (s *Stream) AsyncRead(buf net.DynamicBuffer, h completion.Handler[net.IOResult]) {
	s.startRead(nil, buf, h)
}

func (s *Stream) startRead(b []byte, buf net.DynamicBuffer, h completion.Handler[net.IOResult]) {
	rs := &s.rs
	if err := s.usable(); err != nil {
		// First: once closing, AsyncClose's own read may be the one in flight.
		failNow(s.Executor(), h, err)
		return
	}
	if rs.busy {
		failNow(s.Executor(), h, ErrOperationInProgress)
		return
	}
	if !s.readMu.TryLock() {
		failNow(s.Executor(), h, ErrOperationInProgress)
		return
	}
	noteStep(s, h)
	rs.busy = true
	if s.parkable(b, buf) {
		if ctx := completion.AssociatedContext(h); ctx == nil || ctx.Err() == nil {
			rs.parked, rs.parkedB, rs.parkedBuf = h, b, buf
			if w, ok := s.next.(net.AsyncReadWaiter); ok {
				// Nothing read until there is something to read: then the read takes it all
				// through its read-ahead buffer, in one system call for a small message.
				w.AsyncWaitRead((*parkedWait)(s))
				return
			}
			s.next.AsyncReadSome(rs.hdr[:2], (*parkedRead)(s))
			return
		}
		// A context already done: Start's rule (composed.SkippedBody) below.
	}
	r := s.takeReadOp()
	r.holdsMu, r.drain = true, false
	r.b, r.buf, r.n, r.some = b, buf, 0, buf == nil
	r.op.Start(s.Executor(), h, r)
}

// parkable reports whether a read may wait for the next frame without its state:
// between frames, with no bytes of the handshake's left to take and somewhere to put a payload.
// Most reads of a server wait so for most of their life, which is why an idle stream holds no
// read state (a readOp is 336 bytes on 64-bit systems, a parked read none).
func (s *Stream) parkable(b []byte, buf net.DynamicBuffer) bool {
	rs := &s.rs
	return rs.phase == phaseHeader && rs.hdrLen == 0 && rs.ahead == nil && len(s.readAhead()) == 0 && (buf != nil || len(b) > 0)
}

// parkedWait is the handler of a parked read's wait for something to read, on a next layer that
// can wait so (net.AsyncReadWaiter): parkedRead, with nothing read yet.
type parkedWait Stream

// Executor returns the parked handler's associated executor, or nil when it has none.
func (p *parkedWait) Executor() executor.Executor { return (*parkedRead)(p).Executor() }

// Context returns the parked handler's associated context, or nil when it has none.
func (p *parkedWait) Context() context.Context { return (*parkedRead)(p).Context() }

// Complete starts the read proper, which reads what has arrived.
func (p *parkedWait) Complete(err error) { (*parkedRead)(p).Complete(net.IOResult{Err: err}) }

// parkedRead is the handler of a parked read's read of the next frame's first two bytes: the
// Stream itself, answering for the parked handler's associated executor and context, so that
// parking allocates nothing and the next layer holds work on, completes on and is cancelled by
// what the caller's handler says.
type parkedRead Stream

// Executor returns the parked handler's associated executor, or nil when it has none.
func (p *parkedRead) Executor() executor.Executor {
	return completion.AssociatedExecutor(p.rs.parked, nil)
}

// Context returns the parked handler's associated context, or nil when it has none.
func (p *parkedRead) Context() context.Context { return completion.AssociatedContext(p.rs.parked) }

// Complete starts the read proper, with the parked read's result as its first inner read's. It
// runs on the parked handler's executor, where the read's steps run.
func (p *parkedRead) Complete(res net.IOResult) {
	s := (*Stream)(p)
	rs := &s.rs
	h, b, buf := rs.parked, rs.parkedB, rs.parkedBuf
	rs.parked, rs.parkedB, rs.parkedBuf = nil, nil, nil
	r := s.takeReadOp()
	r.holdsMu, r.drain = true, false
	r.b, r.buf, r.n, r.some = b, buf, 0, buf == nil
	ctx := completion.AssociatedContext(h)
	if ctx != nil && ctx.Err() != nil && res.Err == nil {
		// The context ended as the bytes came: Start below skips the read (Skipped), which ends
		// the stream with this error, as a read cancelled while it waits does.
		res.Err = completion.Canceled(ctx)
	}
	r.primed, r.first, r.firstCtx = true, res, ctx
	r.op.Start(s.Executor(), h, r)
}

// takeReadOp takes a read's state from the pool for s.
func (s *Stream) takeReadOp() *readOp {
	r := readOps.Get().(*readOp)
	r.s, r.readState = s, &s.rs
	return r
}

// readOps holds the states of reads not in flight.
var readOps = sync.Pool{New: func() any { return new(readOp) }}

// Released puts the read's state back in the pool once the read is over (composed.ReleasedBody).
func (r *readOp) Released() {
	r.s, r.readState = nil, nil
	r.b, r.buf, r.prepared = nil, nil, nil
	r.primed, r.first, r.firstCtx = false, net.IOResult{}, nil
	r.dst = nil
	readOps.Put(r)
}

// Skipped undoes startRead when the read's context was done before it started
// (composed.SkippedBody). A parked read whose context ended while it waited is no such read: it
// started, and its cancellation ends the stream, as every read's does.
func (r *readOp) Skipped() {
	if r.primed {
		r.primed = false
		err := r.first.Err
		if err == nil { // the context ended between Complete's look and Start's
			err = completion.Canceled(r.firstCtx)
		}
		r.s.breakNext(err)
	}
	r.busy = false
	r.b, r.buf = nil, nil
	if r.holdsMu {
		r.holdsMu = false
		r.s.readMu.Unlock()
	}
}

// readPhase is what the read in flight is waiting for.
type readPhase uint8

const (
	phaseHeader     readPhase = iota // the bytes of a frame header
	phasePayload                     // payload bytes of a data frame
	phaseDiscard                     // payload bytes of a data frame read while closing, dropped
	phaseControl                     // the payload of a control frame
	phaseLock                        // the write mutex, to send a pong
	phasePong                        // the pong's write
	phaseCloseLock                   // the write mutex, to send a close frame
	phaseCloseWrite                  // the close frame's write
	phaseTeardown                    // the teardown of the next layer
)

// readState is what the stream's read side keeps from one read to the next: the frame and the
// message being read, and a read parked until the next frame's first bytes arrive.
type readState struct {
	busy    bool // a user's read is in flight, parked or not
	phase   readPhase
	msg     messageState
	msgDone bool
	text    bool
	utf8    utf8Checker
	hdr     [maxHeaderSize]byte // the header being read: a parked read reads its first two bytes here
	hdrLen  uint8               // header bytes read, at most maxHeaderSize: a byte keeps readState in its words
	frame   frameHeader
	// frameLeft is the payload bytes of the current data frame not yet read.
	frameLeft uint64
	maskPos   int
	msgSize   uint64

	// ahead holds bytes read from the next layer past what the read needed, while there are any
	// or a read is in flight; nil otherwise, so that an idle stream holds no buffer.
	ahead *aheadBuffer

	// The parked read's handler and destination (one of the two), while it waits.
	parked    completion.Handler[net.IOResult]
	parkedB   []byte
	parkedBuf net.DynamicBuffer
}

// readOp is the state of a read in flight. It comes from a pool when the read starts, or when a
// parked read's first bytes arrive, and goes back just before the handler runs
// (composed.ReleasedBody), so that reading allocates nothing once the pool is warm and an idle
// stream holds none of it. The state that lasts between reads it reaches through readState.
type readOp struct {
	*readState
	s  *Stream
	op composed.Op[net.IOResult]

	holdsMu  bool              // the read holds s.readMu (a user's read; AsyncClose's holds it itself)
	drain    bool              // AsyncClose's read: discard everything until the peer's close frame
	some     bool              // AsyncReadSome: deliver what comes, not a whole message
	primed   bool              // first is the result of the read's first inner read (a parked read's)
	b        []byte            // AsyncReadSome's destination
	buf      net.DynamicBuffer // AsyncRead's destination, or nil
	prepared []byte            // the area of buf the read in flight fills
	n        int               // payload bytes delivered by this read
	first    net.IOResult
	firstCtx context.Context // the read's context, when primed
	viaAhead bool            // the inner read in flight fills ahead, and then dst from it
	dst      []byte          // where that read's bytes go

	ctlLen int         // bytes of the control frame's payload read
	cs     *ctlScratch // from a pool while a control frame is handled, or a payload dropped

	read composed.Slot[net.IOResult]
}

// ctlScratch is what a read needs while it handles a control frame (or drops a data frame's
// payload while closing): the frame's payload, the pong or close frame that answers it, and the
// turn on the write mutex. It comes from a pool and goes back once the read is between frames
// again, so that an idle stream's pending read holds none of it.
type ctlScratch struct {
	ctl       [maxControlPayload]byte // the payload; also where a dropped payload is read
	hdr       [maxHeaderSize]byte     // the header of the pong or close frame the read sends
	out       gatherBufs
	endErr    error                // what the read completes with once its close frame and teardown are done
	closeCode CloseCode            // the code of the close frame the read sends
	done      composed.Slot[error] // the write mutex's grant, or the teardown's result
}

var ctlScratches = sync.Pool{New: func() any { return new(ctlScratch) }}

// scratch returns the read's control scratch, taking one from the pool if it has none.
func (r *readOp) scratch() *ctlScratch {
	if r.cs == nil {
		r.cs = ctlScratches.Get().(*ctlScratch)
	}
	return r.cs
}

// dropScratch gives the control scratch back, if the read has one.
func (r *readOp) dropScratch() {
	if cs := r.cs; cs != nil {
		r.cs = nil
		cs.endErr = nil
		cs.out = gatherBufs{}
		ctlScratches.Put(cs)
	}
}

// Step is the read's body: read headers, skip or answer control frames, and read payload until
// the read has something to deliver; or, once the stream is ending, send the close frame and tear
// the next layer down.
func (r *readOp) Step(op *composed.Op[net.IOResult]) {
	if !op.Resumed() {
		if r.primed {
			r.primed = false
			r.gotRead(op, r.first)
			return
		}
		r.next(op)
		return
	}
	switch r.phase {
	case phaseLock, phaseCloseLock:
		if err := r.cs.done.Value; err != nil {
			// The read's context ended while it waited for its turn to write, or the stream
			// ended under it.
			r.complete(op, r.s.breakNext(err))
			return
		}
		if r.phase == phaseLock {
			r.sendPong(op)
		} else {
			r.sendClose(op)
		}
		return
	case phasePong, phaseCloseWrite:
		res := r.read.Value
		if res.Err != nil {
			r.s.writeMu.Unlock()
			err := r.s.breakNext(res.Err)
			if r.phase == phaseCloseWrite && r.cs.endErr != ErrClosed {
				err = r.cs.endErr // the peer's violation says more than the failed reply
			}
			if r.phase == phaseCloseWrite {
				r.s.finish(err)
			}
			r.complete(op, err)
			return
		}
		if !r.cs.out.advance(res.N) {
			r.s.writeSome(&r.cs.out, composed.Into(op, &r.read))
			return
		}
		r.s.writeMu.Unlock()
		if r.phase == phaseCloseWrite {
			r.phase = phaseTeardown
			r.s.asyncTeardown(composed.Into(op, &r.cs.done))
			return
		}
		r.phase = phaseHeader
		r.next(op)
		return
	case phaseTeardown:
		// The close frames have crossed: whatever the teardown met (a reset, a timeout), the
		// WebSocket is closed and the next layer with it.
		r.s.broken = true
		r.s.finish(r.cs.endErr)
		r.complete(op, r.cs.endErr)
		return
	}
	r.gotRead(op, r.read.Value)
}

// gotRead takes in the result of an inner read of the frame's bytes and goes on.
func (r *readOp) gotRead(op *composed.Op[net.IOResult], res net.IOResult) {
	if r.viaAhead {
		r.viaAhead = false
		a := r.ahead
		a.off, a.end = copy(r.dst, a.buf[:res.N]), res.N
		res.N, r.dst = a.off, nil
	}
	if res.N > 0 && r.s.tm != nil {
		r.s.tm.activity = true
	}
	switch r.phase {
	case phaseHeader:
		r.hdrLen += uint8(res.N) // res.N <= len(hdr)
	case phasePayload:
		if !r.gotPayload(op, res.N) {
			return
		}
	case phaseDiscard:
		r.frameLeft -= uint64(res.N)
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
	if r.some && len(r.b) == 0 && !r.drain {
		r.complete(op, nil) // nothing to read into; the frame in progress stays as it is
		return
	}
	switch {
	case r.phase == phaseControl:
		r.readInto(op, r.scratch().ctl[r.ctlLen:r.frame.length])
		return
	case r.phase == phaseDiscard && r.frameLeft > 0:
		cs := r.scratch()
		r.readInto(op, cs.ctl[:min(r.frameLeft, uint64(len(cs.ctl)))])
		return
	case r.phase == phaseDiscard:
		r.phase = phaseHeader
		r.msgDone = r.frame.fin
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
	r.dropScratch() // between frames: nothing of the last control frame is needed
	if r.s.err != nil {
		// A write failed, or a timeout closed the next layer, while this read was between
		// frames.
		r.complete(op, r.s.failure())
		return
	}
	// Read the header: its first two bytes say how long it is. Reading no further than the
	// header keeps the payload for the caller's buffer, with no copy.
	want := 2
	if r.hdrLen >= 2 {
		want = headerSize(r.hdr[1])
	}
	if int(r.hdrLen) < want {
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
	if r.s.wrClose {
		// Our close frame is out: what the peer sent before reading it is of no more use.
		r.frameLeft = h.length
		r.phase = phaseDiscard
		r.next(op)
		return
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

// control acts on a whole control frame: answers a ping, drops a pong, and on a close frame
// answers it and ends the stream. Once our close frame is out, pings and pongs are dropped
// unanswered and unreported, and the peer's close frame ends the read at once: AsyncClose
// finishes the handshake.
func (r *readOp) control(op *composed.Op[net.IOResult]) {
	s := r.s
	p := r.scratch().ctl[:r.ctlLen] // an empty frame was not read into one
	if r.frame.masked {
		maskBytes(r.frame.key, 0, p)
	}
	r.phase = phaseHeader
	switch r.frame.op {
	case OpPing:
		if s.wrClose {
			break
		}
		s.callControl(FramePing, p)
		r.phase = phaseLock
		if !s.writeMu.TryLock() {
			// A data frame is on its way out: the pong waits for its end.
			s.writeMu.AsyncLock(composed.Into(op, &r.cs.done))
			return
		}
		r.sendPong(op)
		return
	case OpPong:
		if !s.wrClose {
			s.callControl(FramePong, p)
		}
	case OpClose:
		reason, err := parseClosePayload(p)
		if err != nil {
			r.fail(op, err)
			return
		}
		s.handshake().reason, s.rdClose = reason, true
		if s.wrClose {
			r.complete(op, ErrClosed)
			return
		}
		if len(p) > 2 {
			s.callControl(FrameClose, p[2:])
		} else {
			s.callControl(FrameClose, nil)
		}
		code := reason.Code
		if code == CloseNoStatus {
			code = CloseNormal
		}
		r.closeWith(op, code, ErrClosed)
		return
	}
	r.next(op)
}

// sendPong writes a pong carrying the ping's payload; the read holds the write mutex. Once the
// closing handshake has begun no pong goes out.
func (r *readOp) sendPong(op *composed.Op[net.IOResult]) {
	s := r.s
	if s.wrClose || s.broken {
		s.writeMu.Unlock()
		r.phase = phaseHeader
		r.next(op)
		return
	}
	s.controlFrame(&r.cs.hdr, &r.cs.out, OpPong, r.cs.ctl[:r.ctlLen]) // the ping's payload
	r.phase = phasePong
	s.writeSome(&r.cs.out, composed.Into(op, &r.read))
}

// closeWith ends the stream from the read: it sends a close frame with code, unless one has
// already gone out, tears the next layer down, and completes the read with result.
func (r *readOp) closeWith(op *composed.Op[net.IOResult], code CloseCode, result error) {
	cs := r.scratch()
	cs.endErr, cs.closeCode = result, code
	r.phase = phaseCloseLock
	if !r.s.wrClose {
		r.s.timeClose() // the closing handshake has begun: bounded from now, even behind a stuck write
	}
	if !r.s.writeMu.TryLock() {
		// A frame of a message is on its way out: the close frame goes after it, never inside.
		r.s.writeMu.AsyncLock(composed.Into(op, &r.cs.done))
		return
	}
	r.sendClose(op)
}

// sendClose writes the read's close frame; the read holds the write mutex.
func (r *readOp) sendClose(op *composed.Op[net.IOResult]) {
	s := r.s
	if s.wrClose || s.broken {
		// AsyncClose's frame went out first (it finishes the handshake), or the next layer
		// has failed.
		s.writeMu.Unlock()
		err := r.cs.endErr
		if s.broken {
			if err == ErrClosed {
				err = s.failure() // the reply never went out: the close was not clean
			}
			s.finish(err)
		}
		r.complete(op, err)
		return
	}
	s.wrClose = true
	payload, _ := appendClosePayload(r.cs.ctl[:0], CloseReason{Code: r.cs.closeCode}) // codes we pick are valid
	s.controlFrame(&r.cs.hdr, &r.cs.out, OpClose, payload)
	r.phase = phaseCloseWrite
	s.writeSome(&r.cs.out, composed.Into(op, &r.read))
}

// readInto starts one read of the next layer into dst.
func (r *readOp) readInto(op *composed.Op[net.IOResult], dst []byte) {
	// Bytes already read go on at once, in this step: completing the slot from inside the step
	// would post the resumption, a closure per piece.
	if ahead := r.s.readAhead(); len(ahead) > 0 {
		// Bytes that came in behind the handshake's HTTP head are the stream's first.
		n := copy(dst, ahead)
		r.s.hs.readAhead = ahead[n:]
		r.s.dropHandshake()
		r.gotRead(op, net.IOResult{N: n})
		return
	}
	if a := r.ahead; a != nil && a.off < a.end {
		n := copy(dst, a.buf[a.off:a.end])
		a.off += n
		r.gotRead(op, net.IOResult{N: n})
		return
	}
	if len(dst) < aheadSize/2 {
		// A header, a control frame's payload or a small data payload: read what the next layer
		// has, up to a buffer's worth, so that the rest of a frame, and the frames behind it,
		// come with the same system call.
		if r.ahead == nil {
			r.ahead = aheadBuffers.Get().(*aheadBuffer)
		}
		r.viaAhead, r.dst = true, dst
		r.s.next.AsyncReadSome(r.ahead.buf[:], composed.Into(op, &r.read))
		return
	}
	r.s.next.AsyncReadSome(dst, composed.Into(op, &r.read)) // large: straight into the caller's buffer
}

// aheadSize is the size of a read-ahead buffer: a header and a small message or two, read in one
// system call.
const aheadSize = 4096

// aheadBuffer is a read-ahead buffer: buf[off:end] are bytes read and not yet taken.
type aheadBuffer struct {
	buf      [aheadSize]byte
	off, end int
}

// aheadBuffers holds the read-ahead buffers of streams with no read in flight and nothing read
// ahead.
var aheadBuffers = sync.Pool{New: func() any { return new(aheadBuffer) }}

// dropAhead gives the read-ahead buffer back once everything in it has been taken.
func (rs *readState) dropAhead() {
	if a := rs.ahead; a != nil && a.off == a.end {
		rs.ahead = nil
		a.off, a.end = 0, 0
		aheadBuffers.Put(a)
	}
}

// fail ends the stream with err and completes the read with it. A violation of the protocol
// by the peer (or a message too big for AsyncRead's buffer) is answered with its close code and a
// teardown first, unless our close frame is already out; anything else is a failure of the next
// layer, which is closed at once.
func (r *readOp) fail(op *composed.Op[net.IOResult], err error) {
	s := r.s
	code := CloseTooBig
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		code = pe.Code()
	case errors.Is(err, net.ErrBufferOverflow):
	default:
		r.complete(op, s.breakNext(err))
		return
	}
	s.failWith(err)
	if s.wrClose || s.broken {
		r.complete(op, err)
		return
	}
	r.closeWith(op, code, err)
}

// complete ends the read.
func (r *readOp) complete(op *composed.Op[net.IOResult], err error) {
	r.dropScratch()
	r.dropAhead()
	r.busy = false
	r.b, r.buf, r.prepared = nil, nil, nil
	if r.holdsMu {
		r.holdsMu = false
		r.s.readMu.Unlock()
	}
	op.Complete(net.IOResult{N: r.n, Err: err})
}
