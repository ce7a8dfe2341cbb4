package websocket

import (
	"crypto/rand"
	"errors"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// ErrClosed is the error of a read that met the peer's close frame, and of every read, write,
// ping, pong or close started once the closing handshake has begun (either side's close frame
// sent or received): the connection is closing, or closed, cleanly. Reason gives the peer's code
// and reason once its close frame has been read.
var ErrClosed = errors.New("websocket: connection closed")

// ErrOperationInProgress is the error of a read (or write) started while another read (or write)
// of the same stream is pending: each direction takes one operation at a time. The operation in
// flight is not disturbed.
var ErrOperationInProgress = errors.New("websocket: operation already in progress")

// ErrNotOpen is the error of a read or write on a stream whose handshake has not completed.
var ErrNotOpen = errors.New("websocket: stream is not open")

// Stream is a WebSocket connection over a next layer (a TCP socket, a TLS stream, a nettest
// end): Beast's websocket::stream. It sends and receives messages made of frames, answers pings,
// and checks everything the peer sends against RFC 6455.
//
// One read and one write may be in flight at a time, and beside them a ping or pong and a close.
// Their steps run on their handlers' executors (the next layer's when they have none), which
// must be one and the same strand, or an IOContext run by one goroutine, since they share the
// stream's state: bind every handler of a stream to one strand (completion.Bind), or put the
// next layer on one. The stream's timer and keep-alive pings run where its last operation ran.
// Methods are called from that executor too. A Stream must not be copied.
//
// The fields are ordered and sized so that a Stream fits the 240-byte size class: a server holds
// one per connection, and what an idle connection costs is one of the figures users choose a
// library by (docs/benchmarks.md). State that most of a stream's life has no use for hangs off
// pointers made on first use; TestIdleConnectionMemory holds the size.
type Stream struct {
	next net.AsyncStream
	// opts is shared, never changed through the pointer: streams made with equal Options hold
	// one copy (shareOptions), and a stream that changes its options takes another.
	opts *Options
	err  error // the error that ended the stream; every later operation fails with it

	role role
	open bool
	// The closing handshake (close.go). wrClose: our close frame is on its way out or sent, so no
	// other frame may follow it. rdClose: the peer's close frame has been read. broken: the next
	// layer failed or was closed hard, so nothing more is written to or read from it.
	wrClose, rdClose, broken bool
	// The write side between writes: the kind of the next message (SetText, SetBinary), whether
	// a message has begun and not ended (its next frame is a continuation), whether a write is in
	// flight; wr is that write's state, taken from a pool for its duration.
	wrOpcode     Opcode
	wrContinuing bool
	wrBusy       bool

	// writeMu is Beast's write soft mutex: a frame (data, ping, pong, close) goes out only under
	// it, so control frames take turns between the frames of a message. readMu is held by the
	// read in flight; AsyncClose takes it to read the peer's close frame once that read is over.
	writeMu softMutex
	readMu  softMutex

	wr *writeOp
	rs readState       // the read side between reads; a read in flight has a readOp from a pool
	hs *handshakeState // the opening handshake's outcome, while any of it is of use (stream_handshake_client.go)
	tm *streamTimer    // the handshake, idle and close timeouts (timeout.go), made on first use
	x  *streamExtras   // the closing handshake's and the control frames' state, made on first use

	// stepEx is where the steps of the stream's last operation ran: its handler's associated
	// executor, or the next layer's. Every operation of a stream shares its state, so they all
	// run there (one strand); the timer's expiries and the keep-alive ping run there too.
	stepEx executor.Executor
}

// noteStep records where an operation completing to h runs its steps.
func noteStep[R any](s *Stream, h completion.Handler[R]) {
	s.stepEx = completion.AssociatedExecutor(h, s.Executor())
}

// stepExecutor returns where the stream's own work (timer expiries, the keep-alive ping) runs.
func (s *Stream) stepExecutor() executor.Executor {
	if s.stepEx != nil {
		return s.stepEx
	}
	return s.Executor()
}

// NewStream returns a Stream over next, configured by opts (nil for the defaults). The stream is
// not open until its handshake completes.
func NewStream(next net.AsyncStream, opts *Options) *Stream {
	s := &Stream{next: next, opts: &zeroOptions}
	if opts != nil {
		s.opts = shareOptions(*opts)
	}
	s.rs.msgDone = true
	s.wrOpcode = OpText
	return s
}

// NextLayer returns the stream the WebSocket runs over.
func (s *Stream) NextLayer() net.AsyncStream { return s.next }

// Executor returns the next layer's executor: where the stream's operations complete when their
// handlers have no executor of their own.
func (s *Stream) Executor() executor.Executor { return s.next.Executor() }

// IsOpen reports whether the stream is open: its handshake has completed and no error or close
// frame has ended it.
func (s *Stream) IsOpen() bool { return s.open && s.err == nil && !s.wrClose && !s.rdClose }

// Reason returns the content of the peer's close frame, once a read has received it, and the zero
// CloseReason before.
func (s *Stream) Reason() CloseReason {
	if s.hs == nil {
		return CloseReason{}
	}
	return s.hs.reason
}

// setRole makes the stream the client or the server of an open connection. The handshake calls it
// once it succeeds; tests call it directly to run the data path over a connected pair.
func (s *Stream) setRole(r role) {
	s.role = r
	s.open = true
	s.timeIdle()
}

// failWith ends the stream with err, the first such error winning: every later operation fails
// with it.
func (s *Stream) failWith(err error) {
	if s.err == nil {
		s.err = err
	}
}

// usable returns the error a read, write, ping or pong started now fails with, or nil: the error
// that ended the stream, ErrNotOpen before the handshake, ErrClosed once either close frame has
// gone by.
func (s *Stream) usable() error {
	switch {
	case s.err != nil:
		return s.failure()
	case !s.open:
		return ErrNotOpen
	case s.wrClose || s.rdClose:
		return ErrClosed
	}
	return nil
}

// handshakeFailed ends the stream when its opening handshake failed with err (nil: it
// succeeded) and returns the error to report: ErrTimeout, still matching ErrHandshake, when the
// handshake's timeout closed the next layer under it. The next layer is closed: a connection
// whose handshake failed has no further use, and a peer waiting on it must see it end (a
// server's refusal has been written by then).
func (s *Stream) handshakeFailed(err error) error {
	if err == nil {
		return nil
	}
	if s.timedOut() {
		err = hsWrap("timed out", s.tm.timeoutErr())
	}
	s.tm.stop()
	s.failWith(err)
	s.closeNext()
	return err
}

// failure returns the error that ended the stream, as an operation should report it: a timeout
// is ErrTimeout for the first operation to see it and an abort for the others.
func (s *Stream) failure() error {
	if s.err == ErrTimeout {
		return s.tm.timeoutErr()
	}
	return s.err
}

// breakNext records that the next layer failed with err (or that an operation on it was
// cancelled, which leaves a frame half read or half written) and closes it hard: the stream is
// over, and nothing must be left holding the socket. It returns the error the failed operation
// completes with: err, or ErrTimeout when the stream's timer closed the next layer under it.
func (s *Stream) breakNext(err error) error {
	if s.timedOut() {
		err = s.tm.timeoutErr()
	}
	s.failWith(err)
	s.tm.stop() // nothing is left to time: an armed timer would only hold the executor
	s.closeNext()
	return err
}

// closeNext closes the next layer at once, without a teardown, when it can be closed.
func (s *Stream) closeNext() {
	if s.broken {
		return
	}
	s.broken = true
	if c, ok := s.next.(interface{ Close() error }); ok {
		_ = c.Close() // the stream is over: a failing close has nothing left to tell
	}
}

// finish ends the stream for good once its last operation on the next layer is over: err (or
// ErrClosed) is what every later operation fails with, the timer stops, and operations waiting
// for a turn on the write mutex fail.
func (s *Stream) finish(err error) {
	if err == nil {
		err = ErrClosed
	}
	s.failWith(err)
	s.tm.stop()
	s.writeMu.FailWaiters(s.err)
}

// maskKey returns a fresh masking key from crypto/rand (RFC 6455 section 5.3 asks for an
// unpredictable one per frame).
func (s *Stream) maskKey() [4]byte {
	kc := keyCaches.Get().(*keyCache)
	k := kc.next()
	keyCaches.Put(kc)
	return k
}

// keyCache holds random bytes for masking keys, taken four at a time, so that the system's random
// source is asked once per 16 frames rather than per frame. The caches are shared by every stream
// through a pool: a key only has to be unpredictable, so which stream's frame takes which bytes
// does not matter, and an idle stream holds none.
type keyCache struct {
	b   [64]byte
	pos int
}

var keyCaches = sync.Pool{New: func() any { return &keyCache{pos: 64} }}

// next returns the next key.
func (kc *keyCache) next() (k [4]byte) {
	if kc.pos+4 > len(kc.b) {
		// crypto/rand.Read never fails on the systems Go supports (it panics instead).
		_, _ = rand.Read(kc.b[:])
		kc.pos = 0
	}
	copy(k[:], kc.b[kc.pos:])
	kc.pos += 4
	return k
}

// controlFrame prepares a control frame of kind op carrying payload in out: its header encoded in
// hdr and, for a client, the payload masked in place (it is always a copy the stream owns).
func (s *Stream) controlFrame(hdr *[maxHeaderSize]byte, out *gatherBufs, op Opcode, payload []byte) {
	fh := frameHeader{fin: true, op: op, length: uint64(len(payload))}
	if s.role == roleClient {
		fh.masked, fh.key = true, s.maskKey()
		maskBytes(fh.key, 0, payload)
	}
	out.set(hdr[:fh.encode(hdr[:])], payload)
}

// writeSome starts one write of what is left of g on the next layer: a gather write when it has
// one, so a frame's header and payload leave in one system call.
func (s *Stream) writeSome(g *gatherBufs, h completion.Handler[net.IOResult]) {
	if gw, ok := s.next.(net.AsyncBuffersWriteStream); ok {
		gw.AsyncWriteSomeBuffers(g.rest(), h)
		return
	}
	s.next.AsyncWriteSome(g.rest()[0], h)
}

// cancelledErr returns the cancellation error of an operation whose context has ended, or nil. An
// operation checks it when it gets its turn on the write mutex: the grant and the cancellation
// can cross, and a cancelled operation must not start writing a frame it would cut short.
func cancelledErr[R any](op *composed.Op[R]) error {
	if ctx := op.Context(); ctx != nil && ctx.Err() != nil {
		return completion.Canceled(ctx)
	}
	return nil
}

// failNow completes h with err without starting anything, never inside the calling function.
func failNow[R any](ex executor.Executor, h completion.Handler[R], err error) {
	composed.Start(ex, h, func(op *composed.Op[R]) { op.Complete(completion.Fail[R](err)) })
}

// gatherBufs is a frame on its way out: its header and payload, and how far the writes have got.
// It lives in the operation's state, so writing a frame allocates nothing.
type gatherBufs struct {
	bufs [2][]byte
	n    int // buffers in use
	i    int // first buffer not yet written in full
}

// set makes the buffers to write a and, if not empty, b.
func (g *gatherBufs) set(a, b []byte) {
	g.bufs[0], g.bufs[1] = a, b
	g.n, g.i = 1, 0
	if len(b) > 0 {
		g.n = 2
	}
}

// rest returns what is left to write.
func (g *gatherBufs) rest() [][]byte { return g.bufs[g.i:g.n] }

// advance records that k more bytes were written, and reports whether everything has been.
func (g *gatherBufs) advance(k int) bool {
	for g.i < g.n && k >= len(g.bufs[g.i]) {
		k -= len(g.bufs[g.i])
		g.i++
	}
	if g.i < g.n {
		g.bufs[g.i] = g.bufs[g.i][k:]
	}
	return g.i == g.n
}
