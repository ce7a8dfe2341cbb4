package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"sync"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
)

// ErrUnexpectedMessageType is the error of a read from a NetConn that met a message of the other
// kind (a text message on a binary NetConn, or the reverse). The NetConn closes the connection
// with CloseUnsupportedData, since the byte stream it carries can no longer be trusted.
var ErrUnexpectedMessageType = errors.New("websocket: NetConn read a message of the other type")

// errConnClosed is the error of a NetConn's methods after its Close: the standard library's
// net.ErrClosed, as for any closed net.Conn.
var errConnClosed = fmt.Errorf("websocket: NetConn closed: %w", stdnet.ErrClosed)

// NetConn returns a net.Conn (the standard library's) whose bytes travel in the messages of s,
// an open Stream, for tunnelling a protocol written over net.Conn (an HTTP/2 or SSH connection, a
// proxy) through WebSocket, as coder/websocket's NetConn does:
//
//   - Write sends each call's bytes as one message of msgType, OpText or OpBinary.
//   - Read returns the payloads of the messages the peer sends, as one stream of bytes: a read
//     may return part of a message, or the end of one; message boundaries are not kept. A
//     message of the other type fails the read with ErrUnexpectedMessageType and closes the
//     connection with CloseUnsupportedData. Once the peer has closed the connection with
//     CloseNormal or CloseGoingAway, Read returns io.EOF; any other close code, a protocol
//     violation or a failure of the next layer is returned as it is (ErrClosed, Stream.Reason).
//   - Close runs the closing handshake with CloseNormal (Stream.AsyncClose) and returns its
//     error, nil when the peer had already closed the connection. A Read in flight ends with
//     it; a Write in flight finishes first. The close is bounded by twice the stream's close
//     timeout (Timeout.Handshake, else Options.CloseTimeout): once for the wait for a Write in
//     flight, once for the handshake itself. Past it Close fails with an error matching
//     ErrTimeout, and, as after any failure, the next layer is closed hard and the calls in
//     flight fail. Only the first call does anything; later calls, and every other method after
//     Close, return an error matching net.ErrClosed.
//   - SetDeadline, SetReadDeadline and SetWriteDeadline bound the reads and writes as a
//     net.Conn's deadlines do: past a deadline a call fails at once with an error matching
//     os.ErrDeadlineExceeded whose Timeout method reports true, until the deadline is moved.
//     But a deadline that passes while a read or write is in flight cancels that operation, and
//     a cancelled WebSocket operation ends the stream (a frame may be half read or half written;
//     Beast's terminal cancellation): the connection is closed and every later call fails. This
//     is coder/websocket's behaviour too, and unlike a TCP connection's. Over a net.ConnStream,
//     whose writes cannot be cancelled (see net.FromConn), a write deadline fails the Writes
//     that start after it, but not one already blocked in the conn's Write; Close ends that one.
//   - ctx bounds the connection's life: once it is done, the read and write in flight are
//     cancelled (ending the stream), later calls fail with ctx's error (matching
//     completion.ErrOperationAborted too), and the connection is closed with CloseGoingAway, or
//     hard if the stream has already ended. Close must still be called; it waits for that close
//     and returns its outcome.
//   - LocalAddr and RemoteAddr are the next layer's: a *net.TCPSocket's, a ConnStream's conn's, or
//     those of a next layer with LocalAddr and RemoteAddr methods returning a net.Addr. Any other
//     next layer (a nettest pair) has a placeholder address of network "websocket".
//
// One Read and one Write may run at once, from two goroutines, as on any net.Conn; further
// concurrent Reads (or Writes) wait their turn. The NetConn lifts the stream's ReadMessageMax
// limit: messages are read in pieces into the caller's buffer, never held whole, so their size
// costs no memory. It needs what every blocking method of Stream needs (see Stream.Handshake):
// some goroutine running the stream's executor, and callers that are not running on it. The NetConn
// owns s: s's own methods must not be used while the NetConn is.
func NetConn(ctx context.Context, s *Stream, msgType Opcode) stdnet.Conn {
	nc := &netConn{s: s, ctx: ctx, msgType: msgType}
	nc.closed = make(chan struct{})
	s.Executor().Post(func() {
		o := *s.opts
		o.ReadMessageMax = -1
		s.opts = shareOptions(o)
	})
	nc.stopAfterCtx = context.AfterFunc(ctx, nc.ctxEnded)
	return nc
}

// netConn is the net.Conn NetConn returns.
type netConn struct {
	s       *Stream
	ctx     context.Context
	msgType Opcode

	// rd and wr are the read and write deadlines; readMu and writeMu serialise Reads and Writes.
	rd, wr          deadline
	readMu, writeMu sync.Mutex
	eof, inMessage  bool // guarded by readMu: the peer closed normally; a message is part read
	stopAfterCtx    func() bool
	closed          chan struct{}             // closed by the first Close
	mu              sync.Mutex                // guards the fields below
	closeResult     *completion.Future[error] // the closing handshake's, once claimed
	inFlight        int                       // Reads and Writes under way
	ctxDone         bool                      // ctx has ended: no Read or Write may start
	closeCalled     bool                      // Close has been called
}

// begin admits a Read or Write, or returns the error it fails with at once: errConnClosed after
// Close, the cancellation after ctx's end.
func (nc *netConn) begin() error {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	switch {
	case nc.closeCalled:
		return errConnClosed
	case nc.ctxDone:
		return completion.Canceled(nc.ctx)
	}
	nc.inFlight++
	return nil
}

// end ends a Read or Write; the last one to end after ctx's end starts the close that ctx's end
// asked for, so that the cancellation reaches the operations in flight before the close does.
func (nc *netConn) end() {
	nc.mu.Lock()
	nc.inFlight--
	var f *completion.Future[error]
	if nc.ctxDone && nc.inFlight == 0 {
		f = nc.claimCloseLocked()
	}
	nc.mu.Unlock()
	nc.startClose(f, CloseReason{Code: CloseGoingAway})
}

// ctxEnded runs once ctx is done: it closes the connection at once if no Read or Write is in
// flight, or leaves that to the last of them to end (their operations are being cancelled).
func (nc *netConn) ctxEnded() {
	nc.mu.Lock()
	nc.ctxDone = true
	var f *completion.Future[error]
	if nc.inFlight == 0 {
		f = nc.claimCloseLocked()
	}
	nc.mu.Unlock()
	nc.startClose(f, CloseReason{Code: CloseGoingAway})
}

// claimCloseLocked makes the future of the closing handshake and returns it, or returns nil when
// a close has already been claimed: whoever gets the future starts the close. nc.mu is held.
func (nc *netConn) claimCloseLocked() *completion.Future[error] {
	if nc.closeResult != nil {
		return nil
	}
	nc.closeResult = completion.NewFuture[error]()
	return nc.closeResult
}

// startClose starts the closing handshake with reason on the stream's executor, completing f, or
// does nothing when f is nil. The handshake needs no goroutine of its own: it runs on the
// executor, and Close waits for f.
//
// The stream's timer bounds the handshake from the moment the close frame is sent; the NetConn
// also bounds the wait for that moment, since a Write stuck behind a peer that reads nothing
// would otherwise hold the close back for ever, where a net.Conn's Close must end the calls in
// flight. The whole close is given twice the stream's close timeout, so that the stream's own
// timeout, the more precise, is the one reported whenever it applies; both match ErrTimeout. A
// close that fails, or gives up, closes the next layer hard, so that nothing is left holding the
// socket.
func (nc *netConn) startClose(f *completion.Future[error], reason CloseReason) {
	if f == nil {
		return
	}
	s := nc.s
	s.Executor().Post(func() {
		ctx, cancel := context.WithTimeoutCause(context.Background(), 2*closeBound(s.opts), ErrTimeout)
		s.AsyncClose(reason, completion.WithContext(ctx, completion.Callback(func(err error) {
			cancel()
			if err != nil && !errors.Is(err, ErrClosed) {
				if c, ok := s.next.(io.Closer); ok {
					_ = c.Close() // closed already, in most cases: nothing to learn from its error
				}
			}
			f.Complete(err)
		})))
	})
}

// closeBound returns the stream's timeout for the closing handshake: Timeout.Handshake, else
// Options.CloseTimeout, as the stream's timer applies it once the close frame has gone out.
func closeBound(o *Options) time.Duration {
	if o.Timeout.Handshake > 0 {
		return o.Timeout.Handshake
	}
	return o.closeTimeout()
}

// Read reads the payloads of the peer's messages as one stream of bytes; see NetConn.
func (nc *netConn) Read(p []byte) (int, error) {
	nc.readMu.Lock()
	defer nc.readMu.Unlock()
	if err := nc.begin(); err != nil {
		return 0, err
	}
	defer nc.end()
	if nc.eof {
		return 0, io.EOF
	}
	if err := nc.checkType(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	ctx, err := nc.rd.begin(nc.ctx)
	if err != nil {
		return 0, err
	}
	defer nc.rd.end()
	s := nc.s
	for {
		// What the read found, taken on the executor where the stream's state lives.
		var text, msgDone bool
		var reason CloseReason
		r := await(ctx, s.Executor(), func(h completion.Handler[net.IOResult]) {
			s.AsyncReadSome(p, completion.WithContext(ctx, completion.Callback(func(r net.IOResult) {
				text, msgDone, reason = s.GotText(), s.IsMessageDone(), s.Reason()
				h.Complete(r)
			})))
		})
		if r.Err == nil && !nc.inMessage && (r.N > 0 || msgDone) && text != (nc.msgType == OpText) {
			nc.startCloseNow(CloseReason{Code: CloseUnsupportedData, Reason: "unexpected message type"})
			return 0, ErrUnexpectedMessageType
		}
		nc.inMessage = r.Err == nil && !msgDone
		switch {
		case r.Err == nil && r.N == 0:
			continue // the end of a message, or an empty one: nothing for the caller yet
		case r.Err == nil:
			return r.N, nil
		}
		return r.N, nc.readError(r.Err, reason)
	}
}

// checkType reports the error of a NetConn given a message type it cannot send or expect.
func (nc *netConn) checkType() error {
	if nc.msgType != OpText && nc.msgType != OpBinary {
		return fmt.Errorf("websocket: NetConn's message type is %#x, neither OpText nor OpBinary", uint8(nc.msgType))
	}
	return nil
}

// readError turns the error of a read into Read's: io.EOF for the peer's normal close.
func (nc *netConn) readError(err error, reason CloseReason) error {
	if nc.isClosed() {
		return errConnClosed
	}
	if errors.Is(err, ErrClosed) && (reason.Code == CloseNormal || reason.Code == CloseGoingAway) {
		nc.eof = true
		return io.EOF
	}
	return nc.opError(err)
}

// opError turns an operation's error into the NetConn's: errConnClosed once Close has been
// called, a timeout error for an expired deadline.
func (nc *netConn) opError(err error) error {
	if nc.isClosed() {
		return errConnClosed
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &timeoutError{err}
	}
	return err
}

// isClosed reports whether Close has been called.
func (nc *netConn) isClosed() bool {
	select {
	case <-nc.closed:
		return true
	default:
		return false
	}
}

// startCloseNow starts the closing handshake with reason unless a close has already been started.
func (nc *netConn) startCloseNow(reason CloseReason) {
	nc.mu.Lock()
	f := nc.claimCloseLocked()
	nc.mu.Unlock()
	nc.startClose(f, reason)
}

// Write sends p as one message of the NetConn's type; see NetConn.
func (nc *netConn) Write(p []byte) (int, error) {
	nc.writeMu.Lock()
	defer nc.writeMu.Unlock()
	if err := nc.begin(); err != nil {
		return 0, err
	}
	defer nc.end()
	if err := nc.checkType(); err != nil {
		return 0, err
	}
	ctx, err := nc.wr.begin(nc.ctx)
	if err != nil {
		return 0, err
	}
	defer nc.wr.end()
	s, binary := nc.s, nc.msgType == OpBinary
	r := await(ctx, s.Executor(), func(h completion.Handler[net.IOResult]) {
		if binary {
			s.SetBinary()
		} else {
			s.SetText()
		}
		s.AsyncWrite(p, h)
	})
	if r.Err != nil {
		return r.N, nc.opError(r.Err)
	}
	return len(p), nil
}

// Close closes the connection with the closing handshake; see NetConn. Called from a handler
// running on the stream's executor, it returns ErrWouldDeadlock having changed nothing, as the
// blocking methods do.
func (nc *netConn) Close() error {
	if wouldDeadlock(nc.s.Executor()) {
		return ErrWouldDeadlock
	}
	nc.mu.Lock()
	if nc.closeCalled {
		nc.mu.Unlock()
		return errConnClosed
	}
	nc.closeCalled = true
	started := nc.claimCloseLocked()
	f := nc.closeResult
	nc.mu.Unlock()
	close(nc.closed)
	nc.stopAfterCtx()
	nc.rd.stop()
	nc.wr.stop()
	nc.startClose(started, CloseReason{Code: CloseNormal})
	err := f.Wait()
	if errors.Is(err, ErrClosed) {
		return nil // the peer's close frame came first: the connection is closed all the same
	}
	return err
}

// LocalAddr returns the next layer's local address; see NetConn.
func (nc *netConn) LocalAddr() stdnet.Addr { return addrOf(nc.s.NextLayer(), true) }

// RemoteAddr returns the next layer's remote address; see NetConn.
func (nc *netConn) RemoteAddr() stdnet.Addr { return addrOf(nc.s.NextLayer(), false) }

// SetDeadline sets the read and write deadlines; see NetConn.
func (nc *netConn) SetDeadline(t time.Time) error {
	nc.rd.set(t)
	nc.wr.set(t)
	return nil
}

// SetReadDeadline sets the read deadline; see NetConn.
func (nc *netConn) SetReadDeadline(t time.Time) error {
	nc.rd.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline; see NetConn.
func (nc *netConn) SetWriteDeadline(t time.Time) error {
	nc.wr.set(t)
	return nil
}

// addrOf returns the local (or remote) address of next, or the placeholder.
func addrOf(next net.AsyncStream, local bool) stdnet.Addr {
	switch n := next.(type) {
	case *net.TCPSocket:
		get := n.RemoteAddr
		if local {
			get = n.LocalAddr
		}
		if ap, err := get(); err == nil {
			return stdnet.TCPAddrFromAddrPort(ap)
		}
	case interface{ Conn() stdnet.Conn }:
		if local {
			return n.Conn().LocalAddr()
		}
		return n.Conn().RemoteAddr()
	case interface {
		LocalAddr() stdnet.Addr
		RemoteAddr() stdnet.Addr
	}:
		if local {
			return n.LocalAddr()
		}
		return n.RemoteAddr()
	}
	return websocketAddr{}
}

// websocketAddr is the address of a NetConn whose next layer has none to give.
type websocketAddr struct{}

func (websocketAddr) Network() string { return "websocket" }
func (websocketAddr) String() string  { return "websocket/unknown-addr" }

// deadline is one direction's deadline: a timer that cancels the operation in flight when the
// deadline passes, and otherwise marks the deadline passed so that later calls fail at once.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	gen     uint64                  // counts settings, so that a timer of an older one does nothing
	expired bool                    // the deadline has passed
	cancel  context.CancelCauseFunc // the operation in flight's, or nil
}

// set makes t the deadline; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopLocked()
	d.expired = false
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.expireLocked()
		return
	}
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			d.expireLocked()
		}
	})
}

// stop disarms the timer, for good unless set is called again.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopLocked()
}

func (d *deadline) stopLocked() {
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

// expireLocked marks the deadline passed and cancels the operation in flight.
func (d *deadline) expireLocked() {
	d.expired = true
	if d.cancel != nil {
		d.cancel(os.ErrDeadlineExceeded)
	}
}

// begin returns the context of an operation about to start, which the deadline cancels, or the
// timeout error when the deadline has passed.
func (d *deadline) begin(parent context.Context) (context.Context, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired {
		return nil, &timeoutError{os.ErrDeadlineExceeded}
	}
	ctx, cancel := context.WithCancelCause(parent)
	d.cancel = cancel
	return ctx, nil
}

// end releases the context of the operation that has completed.
func (d *deadline) end() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cancel(nil)
	d.cancel = nil
}

// timeoutError is the error of a NetConn's call past its deadline: a net.Error whose Timeout
// reports true, matching os.ErrDeadlineExceeded as the errors of the standard library's
// connections do, and the error of the cancelled operation, if one was.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string {
	if e.err == os.ErrDeadlineExceeded {
		return "websocket: NetConn: " + e.err.Error()
	}
	return "websocket: NetConn: i/o timeout: " + e.err.Error()
}

// Timeout reports true: the call failed because a deadline passed.
func (e *timeoutError) Timeout() bool { return true }

// Temporary reports true, as os.ErrDeadlineExceeded's does.
func (e *timeoutError) Temporary() bool { return true }

// Unwrap returns os.ErrDeadlineExceeded and the cancelled operation's error.
func (e *timeoutError) Unwrap() []error { return []error{os.ErrDeadlineExceeded, e.err} }
