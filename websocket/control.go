package websocket

import (
	"errors"
	"strconv"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/net"
)

// ErrControlTooBig is the error of AsyncPing or AsyncPong given a payload over 125 bytes, the
// most a control frame carries (RFC 6455 section 5.5). Nothing is sent.
var ErrControlTooBig = errors.New("websocket: control frame payload over 125 bytes")

// FrameType is the kind of control frame the control callback reports (Beast's frame_type).
type FrameType uint8

// The control frames a read reports.
const (
	FrameClose FrameType = iota // the peer's close frame; the payload is its reason
	FramePing                   // a ping; the read answers it with a pong after the callback
	FramePong                   // a pong
)

// String returns the frame type's name.
func (k FrameType) String() string {
	switch k {
	case FrameClose:
		return "close"
	case FramePing:
		return "ping"
	case FramePong:
		return "pong"
	}
	return "FrameType(" + strconv.Itoa(int(k)) + ")"
}

// SetControlCallback sets the function a read calls for each ping, pong and close frame it
// receives (Beast's control_callback), nil for none. It runs inside the read's step, on the
// read's executor, before the read answers the frame; payload is the frame's payload (for a close
// frame, its reason) and is valid only during the call. Once this side's close frame has gone out
// the callback is no longer called: the frames AsyncClose discards are not reported.
func (s *Stream) SetControlCallback(f func(kind FrameType, payload []byte)) {
	if f != nil || s.x != nil {
		s.extras().control = f
	}
}

// callControl reports a control frame to the callback, if there is one.
func (s *Stream) callControl(kind FrameType, payload []byte) {
	if s.x != nil && s.x.control != nil {
		s.x.control(kind, payload)
	}
}

// AsyncPing sends a ping carrying payload (Beast's async_ping), which the peer answers with a
// pong that a read sees (SetControlCallback). h receives nil once the ping is written, or the
// error that stopped it: ErrControlTooBig for a payload over 125 bytes, ErrNotOpen, ErrClosed
// once the closing handshake has begun, ErrOperationInProgress while another ping or pong of this
// stream is pending. payload is copied: the caller may reuse it at once.
//
// The ping takes its turn with the writes: it goes out between two frames of a message being
// written, never inside one, in the order started. h is never called inside this call.
func (s *Stream) AsyncPing(payload []byte, h completion.Handler[error]) {
	s.startControl(s.pings(), OpPing, payload, h)
}

// AsyncPong sends a pong carrying payload (Beast's async_pong): an unsolicited pong, which RFC 6455
// allows as a one-way heartbeat (a read answers pings by itself). It is AsyncPing's contract.
func (s *Stream) AsyncPong(payload []byte, h completion.Handler[error]) {
	s.startControl(s.pings(), OpPong, payload, h)
}

// pings returns the state of the user's pings and pongs, making it on first use.
func (s *Stream) pings() *pingOp {
	x := s.extras()
	if x.pp == nil {
		x.pp = &pingOp{s: s}
	}
	return x.pp
}

func (s *Stream) startControl(p *pingOp, opcode Opcode, payload []byte, h completion.Handler[error]) {
	var err error
	switch {
	case len(payload) > maxControlPayload:
		err = ErrControlTooBig
	case p.busy:
		err = ErrOperationInProgress
	default:
		err = s.usable()
	}
	if err != nil {
		failNow(s.Executor(), h, err)
		return
	}
	noteStep(s, h)
	p.busy, p.opcode = true, opcode
	p.n = copy(p.payload[:], payload)
	p.op.Start(s.Executor(), h, p)
}

// keepAlive sends the idle timer's ping, with a state of its own so that a user's AsyncPing or
// AsyncPong never finds it in the way; the previous one still on its way is enough. Its result
// does not matter: a failure of the next layer ends the stream for the other operations to see.
func (s *Stream) keepAlive() {
	x := s.extras()
	if x.ka == nil {
		x.ka = &pingOp{s: s}
	}
	if x.ka.busy || s.usable() != nil {
		return
	}
	ex := s.stepExecutor()
	s.startControl(x.ka, OpPing, nil, completion.Bind(ex, completion.Detached[error]()))
	s.stepEx = ex // the keep-alive's own handler says nothing about where the user's operations run
}

// pingOp is the state of AsyncPing and AsyncPong, a composed operation that is its own Body.
type pingOp struct {
	s  *Stream
	op composed.Op[error]

	busy    bool
	parked  bool // waiting for its turn on the write mutex
	opcode  Opcode
	payload [maxControlPayload]byte
	n       int
	hdr     [maxHeaderSize]byte
	out     gatherBufs

	io   composed.Slot[net.IOResult]
	lock composed.Slot[error]
}

// Skipped undoes startControl when the operation's context was done before it started
// (composed.SkippedBody).
func (p *pingOp) Skipped() { p.busy = false }

// Step is the body: take the write mutex, write the frame, give the mutex back.
func (p *pingOp) Step(op *composed.Op[error]) {
	s := p.s
	if !op.Resumed() {
		if !s.writeMu.TryLock() {
			p.parked = true
			s.writeMu.AsyncLock(composed.Into(op, &p.lock))
			return
		}
		p.send(op)
		return
	}
	if p.parked {
		p.parked = false
		err := p.lock.Value
		if err == nil {
			if err = cancelledErr(op); err != nil {
				s.writeMu.Unlock() // cancelled as its turn came: as if while it waited
			}
		}
		if err != nil {
			p.complete(op, err) // cancelled while parked: nothing was sent
			return
		}
		p.send(op)
		return
	}
	res := p.io.Value
	if res.Err != nil {
		s.writeMu.Unlock()
		p.complete(op, s.breakNext(res.Err))
		return
	}
	if !p.out.advance(res.N) {
		s.writeSome(&p.out, composed.Into(op, &p.io))
		return
	}
	s.writeMu.Unlock()
	p.complete(op, nil)
}

// send writes the frame, unless the stream ended or began closing while the ping waited.
func (p *pingOp) send(op *composed.Op[error]) {
	s := p.s
	if err := s.usable(); err != nil {
		s.writeMu.Unlock()
		p.complete(op, err)
		return
	}
	payload := p.payload[:p.n]
	s.controlFrame(&p.hdr, &p.out, p.opcode, payload)
	s.writeSome(&p.out, composed.Into(op, &p.io))
}

func (p *pingOp) complete(op *composed.Op[error], err error) {
	p.busy = false
	op.Complete(err)
}
