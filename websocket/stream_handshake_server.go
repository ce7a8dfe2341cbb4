package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/net"
)

// AsyncAccept opens the stream as a server (Beast's async_accept): it reads an upgrade request
// of at most opts.MaxRequestBytes, checks it against opts, and answers it. opts may be nil.
//
// On success it writes the 101 response, naming the subprotocol negotiated from opts (see
// Subprotocol), and completes h with nil: the stream is open, and bytes the client sent behind
// its request are kept for the first read. A request the handshake refuses is answered with its
// error response (400, 426 with Sec-WebSocket-Version: 13, 403, or 431 for ErrBufferOverflow)
// and h receives the refusal's error. Every failure of a handshake that started matches
// ErrHandshake; a failure of the next layer is wrapped around its cause, ErrTimeout past
// Timeout.Handshake. A failed handshake closes the next layer, once a refusal has been written. A
// handshake whose handler's context is already done when it is called does not start: it
// completes with the cancellation error alone, nothing read or written, the stream and its next
// layer as they were. h is never called inside this call; no other
// operation may be started on the stream until h has run.
func (s *Stream) AsyncAccept(opts *AcceptOptions, h completion.Handler[error]) {
	a := newServerHandshake(s, opts)
	noteStep(s, h)
	if a.begin() {
		a.buf = &a.bufs.req
		if opts != nil && opts.MaxRequestBytes > 0 && opts.MaxRequestBytes != hsDefaultMaxRequestBytes {
			a.buf = net.NewFlatBuffer(opts.MaxRequestBytes)
		}
	}
	a.op.Start(s.Executor(), h, a)
}

// AsyncAcceptRequest opens the stream as a server, answering req, a request already read from
// the next layer (say by an HTTP server that routes it here after IsUpgrade). It is AsyncAccept
// without the read: the same checks, the same responses and errors. Bytes read past req are the
// caller's to account for: they must not have been taken from the next layer, since the stream
// reads its first frame from there.
func (s *Stream) AsyncAcceptRequest(req *http.Request, opts *AcceptOptions, h completion.Handler[error]) {
	a := newServerHandshake(s, opts)
	noteStep(s, h)
	if a.begin() {
		a.answer(req)
	}
	a.op.Start(s.Executor(), h, a)
}

// serverHandshake is the state of AsyncAccept and AsyncAcceptRequest: a composed operation that
// is its own Body. It comes from serverHandshakes and goes back when the handshake is over
// (Released), since a server runs one per connection it accepts.
type serverHandshake struct {
	s     *Stream
	op    composed.Op[error]
	opts  *AcceptOptions
	bufs  *serverBuffers  // from the pool while the handshake is in flight
	buf   *net.FlatBuffer // the request as read, or nil once it is answered
	wire  []byte          // the response to write, or nil until there is one
	err   error           // the handshake's outcome, set with the response that reports it
	proto string
	io    composed.Slot[net.IOResult]
}

// serverHandshakes holds the states of server handshakes not in flight.
var serverHandshakes = sync.Pool{New: func() any { return new(serverHandshake) }}

// newServerHandshake takes a state from the pool for a handshake of s with opts.
func newServerHandshake(s *Stream, opts *AcceptOptions) *serverHandshake {
	a := serverHandshakes.Get().(*serverHandshake)
	a.s, a.opts = s, opts
	return a
}

// Released puts the state back in the pool once the handshake is over (composed.ReleasedBody).
// Its Op is kept, as composed.Op allows, for the next handshake's Start to reset.
func (a *serverHandshake) Released() {
	a.s, a.opts, a.bufs, a.buf, a.wire, a.err, a.proto = nil, nil, nil, nil, nil, nil, ""
	a.io.Value = net.IOResult{}
	serverHandshakes.Put(a)
}

// begin marks the handshake in flight, or reports false having set the error that a handshake
// on an open or opening stream fails with.
func (a *serverHandshake) begin() bool {
	s := a.s
	if s.handshake().busy || s.open || s.err != nil {
		a.err = errHandshakeStarted
		return false
	}
	s.hs.busy = true
	s.timeHandshake()
	a.bufs = getServerBuffers()
	return true
}

// answer checks req and prepares the response: the 101, or the refusal that reports a.err.
func (a *serverHandshake) answer(req *http.Request) {
	a.buf = nil
	if err := checkRequest(req, a.opts); err != nil {
		a.refuse(err)
		return
	}
	var decorate func(http.Header)
	var supported []string
	if a.opts != nil {
		decorate, supported = a.opts.Decorate, a.opts.Subprotocols
	}
	a.proto = negotiateSubprotocol(req, supported)
	wire, err := appendResponse(a.bufs.resp[:0], req, a.proto, decorate)
	a.bufs.resp = wire // its storage, grown or not, goes back to the pool with the set
	if err != nil {
		a.err = hsWrap("writing the response", err)
		return
	}
	a.wire = wire
}

// refuse prepares the error response to a refused request; err is the handshake's outcome.
func (a *serverHandshake) refuse(err error) {
	a.buf = nil
	a.err = err
	var w bytes.Buffer
	// Writing to a bytes.Buffer cannot fail.
	_ = writeErrorResponse(&w, err)
	a.wire = w.Bytes()
}

// Step reads the request (AsyncAccept), writes the response, and completes.
func (a *serverHandshake) Step(op *composed.Op[error]) {
	s := a.s
	if !op.Resumed() {
		switch {
		case a.buf != nil:
			net.AsyncReadUntil(s.next, a.buf, hsHeadEnd, composed.Into(op, &a.io))
		case a.wire != nil:
			net.AsyncWrite(s.next, a.wire, composed.Into(op, &a.io))
		default:
			a.finish(op, a.err)
		}
		return
	}
	res := a.io.Value
	if a.buf != nil {
		a.gotRequest(op, res)
		return
	}
	// The response has been written, or has failed to be.
	if a.err != nil {
		a.finish(op, a.err) // a refusal's own error says more than the write's
		return
	}
	if res.Err != nil {
		a.finish(op, hsWrap("writing the response", res.Err))
		return
	}
	s.hs.subprotocol = a.proto
	s.setRole(roleServer)
	a.finish(op, nil)
}

// gotRequest parses the request just read and starts the write of its answer.
func (a *serverHandshake) gotRequest(op *composed.Op[error], res net.IOResult) {
	s := a.s
	switch {
	case errors.Is(res.Err, net.ErrBufferOverflow):
		a.refuse(ErrBufferOverflow)
	case res.Err != nil:
		a.finish(op, hsWrap("reading the request", res.Err))
		return
	default:
		all := a.buf.Bytes()
		req, err := a.bufs.parseRequest(all[:res.N])
		if err != nil {
			a.refuse(fmt.Errorf("%w: %w", ErrMalformedRequest, err))
			break
		}
		if rest := all[res.N:]; len(rest) > 0 {
			s.hs.readAhead = bytes.Clone(rest)
		}
		a.answer(req)
	}
	if a.wire == nil {
		a.finish(op, a.err)
		return
	}
	net.AsyncWrite(s.next, a.wire, composed.Into(op, &a.io))
}

// Skipped undoes AsyncAccept when its context was done before it started (composed.SkippedBody).
func (a *serverHandshake) Skipped() {
	a.releaseBuffers()
	if a.err != errHandshakeStarted {
		a.s.hs.busy = false
		a.s.hs.readAhead = nil
		a.s.dropHandshake()
		a.s.tm.stop()
	}
}

// finish ends the handshake; a failure ends the stream too, so later operations report it.
func (a *serverHandshake) finish(op *composed.Op[error], err error) {
	a.releaseBuffers()
	if err != errHandshakeStarted {
		a.s.hs.busy = false
		if err != nil {
			a.s.hs.readAhead = nil
		}
		a.s.dropHandshake()
		err = a.s.handshakeFailed(err)
	}
	op.Complete(err)
}

// releaseBuffers gives the handshake's scratch memory back, once nothing reads or writes it.
func (a *serverHandshake) releaseBuffers() {
	if a.bufs != nil {
		a.bufs.release()
		a.bufs, a.buf, a.wire = nil, nil, nil
	}
}
