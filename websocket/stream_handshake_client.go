package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/net"
)

// hsMaxResponseBytes bounds the head of the server's handshake response, so that a peer cannot
// make the client buffer an unbounded header.
const hsMaxResponseBytes = 16 << 10

// hsHeadEnd ends an HTTP head: the handshake reads up to it and no further than it must.
var hsHeadEnd = []byte("\r\n\r\n")

// handshakeState is what the opening handshake leaves on a Stream, and the reason of the peer's
// close frame: state that most of a connection's life has no use for, kept behind one pointer and
// only while something is in it, which keeps the Stream within its 240-byte size class.
type handshakeState struct {
	busy        bool           // a handshake is in flight
	resp        *http.Response // the client's view of the server's response
	subprotocol string         // the subprotocol both ends agreed on, or ""
	// readAhead holds bytes read past the HTTP head: the peer may send its first frames right
	// behind the handshake, and the first frame reads take them before reading the next layer.
	readAhead []byte
	reason    CloseReason // the peer's close frame, once received
}

// handshakeStates recycles the handshake states that dropHandshake lets go: a server takes one
// for each connection's handshake and lets it go as the connection opens, and made anew each
// would be garbage that the heap grows by between collections.
var handshakeStates = sync.Pool{New: func() any { return new(handshakeState) }}

// handshake returns the stream's handshake state, taking one on first use.
func (s *Stream) handshake() *handshakeState {
	if s.hs == nil {
		s.hs = handshakeStates.Get().(*handshakeState)
	}
	return s.hs
}

// dropHandshake lets the handshake state go once nothing in it is left to give: a server with
// no subprotocol whose first frames have been read keeps none of it (56 bytes less per idle
// connection).
func (s *Stream) dropHandshake() {
	if h := s.hs; h != nil && !h.busy && h.resp == nil && h.subprotocol == "" && len(h.readAhead) == 0 && h.reason == (CloseReason{}) {
		s.hs = nil
		*h = handshakeState{} // readAhead may be empty yet hold a buffer
		handshakeStates.Put(h)
	}
}

// readAhead returns the bytes read past the HTTP head that no frame read has taken yet.
func (s *Stream) readAhead() []byte {
	if s.hs == nil {
		return nil
	}
	return s.hs.readAhead
}

// Response returns the server's answer to the client's opening handshake (the out-parameter of
// Beast's handshake): the 101 response after AsyncHandshake succeeded, or the refusal it failed
// on (whose Body holds only the bytes that arrived with its head). It is nil before a client
// handshake has received a response, and on a server.
func (s *Stream) Response() *http.Response {
	if s.hs == nil {
		return nil
	}
	return s.hs.resp
}

// Subprotocol returns the subprotocol the opening handshake agreed on, or "" when none was.
func (s *Stream) Subprotocol() string {
	if s.hs == nil {
		return ""
	}
	return s.hs.subprotocol
}

// errHandshakeStarted is the error of a handshake on a stream already opened or opening.
var errHandshakeStarted = fmt.Errorf("%w: the stream is already open or opening", ErrHandshake)

// hsWrap makes an error of the handshake's I/O match ErrHandshake while keeping its cause for
// errors.Is: the handshake failed, and the caller may want to know it was, say, io.EOF.
func hsWrap(what string, err error) error {
	if errors.Is(err, ErrHandshake) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrHandshake, what, err)
}

// AsyncHandshake opens the stream as a client (Beast's async_handshake): it sends an upgrade
// request for target to host, offering opts' subprotocols and edited by opts.Decorate, reads the
// server's response and checks it, and completes h with nil when the stream is open. opts may
// be nil.
//
// Every failure of a handshake that started matches ErrHandshake: a refusal or a bad response
// with its specific error (ErrUpgradeDeclined, ErrBadSecAccept, ...), a failure of the next layer
// wrapped around its cause, ErrTimeout past Timeout.Handshake; a failed handshake closes the next
// layer. A handshake whose handler's context is already done when it is called does not start:
// it completes with the cancellation error alone (as every operation does, docs/websocket.md),
// nothing sent, the stream and its next layer as they were. Response
// and Subprotocol report what the server answered. Bytes the server sent behind
// its response are kept for the first read. h is never called inside this call; no other
// operation may be started on the stream until h has run.
func (s *Stream) AsyncHandshake(host, target string, opts *HandshakeOptions, h completion.Handler[error]) {
	op := &clientHandshake{s: s}
	if s.handshake().busy || s.open || s.err != nil {
		op.err = errHandshakeStarted
	} else {
		s.hs.busy = true
		noteStep(s, h)
		s.timeHandshake()
		op.start(host, target, opts)
	}
	op.op.Start(s.Executor(), h, op)
}

// clientHandshake is the state of AsyncHandshake: a composed operation that is its own Body.
type clientHandshake struct {
	s       *Stream
	op      composed.Op[error]
	err     error // a failure before any I/O, delivered from the first step
	key     string
	offered []string
	req     *http.Request
	wire    []byte
	buf     *net.FlatBuffer
	wrote   bool
	io      composed.Slot[net.IOResult]
}

// start builds the request; a failure is kept for the first step to report.
func (c *clientHandshake) start(host, target string, opts *HandshakeOptions) {
	var decorate func(*http.Request)
	if opts != nil {
		c.offered, decorate = opts.Subprotocols, opts.Decorate
	}
	key, err := newClientKey(nil)
	if err != nil {
		c.err = hsWrap("making the request", err)
		return
	}
	c.key = key
	c.req = buildRequest(host, target, key, c.offered, decorate)
	var w bytes.Buffer
	if err := c.req.Write(&w); err != nil {
		c.err = hsWrap("writing the request", err)
		return
	}
	c.wire = w.Bytes()
	c.buf = net.NewFlatBuffer(hsMaxResponseBytes)
}

// Step writes the request, then reads the response's head and checks it.
func (c *clientHandshake) Step(op *composed.Op[error]) {
	s := c.s
	if c.err != nil {
		c.finish(op, c.err)
		return
	}
	if !op.Resumed() {
		net.AsyncWrite(s.next, c.wire, composed.Into(op, &c.io))
		return
	}
	res := c.io.Value
	if !c.wrote {
		if res.Err != nil {
			c.finish(op, hsWrap("writing the request", res.Err))
			return
		}
		c.wrote = true
		net.AsyncReadUntil(s.next, c.buf, hsHeadEnd, composed.Into(op, &c.io))
		return
	}
	if errors.Is(res.Err, net.ErrBufferOverflow) {
		c.finish(op, fmt.Errorf("%w: response head larger than %d bytes", ErrHandshake, hsMaxResponseBytes))
		return
	}
	if res.Err != nil {
		c.finish(op, hsWrap("reading the response", res.Err))
		return
	}
	all := c.buf.Bytes()
	// The whole of what was read backs the response, so that a refusal's Body holds whatever of
	// it came along; a 101 has no body and leaves the rest to the stream.
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(all)), c.req)
	if err != nil {
		c.finish(op, hsWrap("parsing the response", err))
		return
	}
	s.hs.resp = resp
	proto, err := checkResponse(resp, c.key, c.offered)
	if err != nil {
		c.finish(op, err)
		return
	}
	s.hs.subprotocol = proto
	if rest := all[res.N:]; len(rest) > 0 {
		s.hs.readAhead = bytes.Clone(rest)
	}
	s.setRole(roleClient)
	c.finish(op, nil)
}

// Skipped undoes AsyncHandshake when its context was done before it started
// (composed.SkippedBody).
func (c *clientHandshake) Skipped() {
	if c.err != errHandshakeStarted {
		c.s.hs.busy = false
		c.s.dropHandshake()
		c.s.tm.stop()
	}
}

// finish ends the handshake; a failure ends the stream too, so later operations report it.
func (c *clientHandshake) finish(op *composed.Op[error], err error) {
	if err != errHandshakeStarted {
		c.s.hs.busy = false
		c.s.dropHandshake()
		err = c.s.handshakeFailed(err)
	}
	op.Complete(err)
}
