//go:build !linux || beastgo_portable

package net

import (
	"context"
	"errors"
	stdnet "net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// TCPSocket is a TCP connection: Asio's ip::tcp::socket. It satisfies [AsyncStream] and
// [AsyncBuffersWriteStream], and [AsyncTeardown] tears it down. One read and one write may be
// pending at once; a second read (or write) started while one is pending completes with
// [ErrInProgress]. Its methods may be called from any goroutine.
//
// This is the portable path, built off Linux (and on Linux with the beastgo_portable build tag): a
// *net.TCPConn of Go's net package served by a [ConnStream], that is by two goroutines per
// connected socket, one for reads and one for writes, and one more while AsyncConnect dials. Close
// stops them and waits for them, so a socket that was connected or accepted must be closed. Every
// operation completes as on the Linux reactor path (exactly once, on its handler's executor, never
// inside the call that started it, with work counted while it is pending), with these differences:
//   - Cancel, and a handler's context, abort a pending connect and a pending read, not a pending
//     write: a blocked Write of Go's net package can be interrupted only by a deadline, which the
//     ConnStream does not use for writes (an interrupted write leaves some conns broken), or by
//     Close, which aborts both. A write whose context is already done when it starts completes
//     at once with the cancellation error, as on Linux.
//   - A read is cancelled (by Cancel or its handler's context) by making the serving goroutine's
//     Read return, which happens a moment after Cancel returns: data that arrived in that moment
//     completes the read instead, and the bytes are not lost.
//   - A read or write started before AsyncConnect has completed fails with [ErrNotConnected].
//
// As on the Linux path, errors of the system are *net.OpError of Go's net package, which
// errors.Is matches with the system's error numbers (syscall.ECONNREFUSED, syscall.ECONNRESET) on
// Unix systems, and Close is final: after it every method fails with a *net.OpError matching Go's
// net.ErrClosed, and AsyncConnect does not open the socket again. Go's net package counts the
// references to a descriptor, so a method racing Close either acts on the socket's own
// connection or fails with net.ErrClosed, never on a descriptor the system has handed on.
type TCPSocket struct {
	ex executor.Executor

	mu     sync.Mutex
	c      *tcpConn // the connection; nil until connected or accepted
	dial   *dialing // the AsyncConnect in progress, if any
	closed bool     // Close was called: final
}

// tcpConn is one connection of a TCPSocket: AsyncConnect replaces it.
type tcpConn struct {
	tcp     *stdnet.TCPConn
	cs      *ConnStream
	noDelay atomic.Bool // TCP_NODELAY as last set: Go's net package sets it on every TCPConn

	mu sync.Mutex
	rd connRead
	// What an AsyncWaitRead's one-byte read found, for the next read to deliver first: a byte
	// (peeked), or the end of the stream or a failure (peekErr).
	peek    [1]byte
	peeked  bool
	peekErr error
	// cancelRead cancels the context of the reads that have none of their own; it is made when
	// such a read starts and dropped when Cancel uses it.
	readCtx    context.Context
	cancelRead context.CancelFunc
}

// connRead is the read of a tcpConn that may be pending, and the handler the ConnStream sees for
// it: it gives the ConnStream a context that Cancel can end, and turns that cancellation into
// completion.ErrOperationAborted, as the Linux path reports it.
type connRead struct {
	c        *tcpConn
	busy     bool // started and its handler not yet called
	h        completion.Handler[IOResult]
	uctx     context.Context    // h's own context, if any
	ctx      context.Context    // the context the ConnStream watches
	cancel   context.CancelFunc // ends ctx
	own      bool               // ctx was made for this read alone (from uctx), to be released
	canceled bool               // Cancel ended ctx
}

// NewTCPSocket returns an unconnected socket whose operations complete on ex (when their handlers
// have no executor of their own).
func NewTCPSocket(ex executor.Executor) *TCPSocket { return &TCPSocket{ex: ex} }

func newTCPSocketFromConn(tcp *stdnet.TCPConn, ex executor.Executor) *TCPSocket {
	return &TCPSocket{ex: ex, c: newTCPConn(tcp, ex)}
}

func newTCPConn(tcp *stdnet.TCPConn, ex executor.Executor) *tcpConn {
	c := &tcpConn{tcp: tcp, cs: FromConn(tcp, ex)}
	c.cs.tcp = true // before any operation: FromConn's goroutines read it only when serving one
	c.rd.c = c
	c.noDelay.Store(true)
	return c
}

// Executor returns the socket's executor.
func (s *TCPSocket) Executor() executor.Executor { return s.ex }

// conn returns the connection, or the error of op (Go's name for it) on a socket that has none.
func (s *TCPSocket) conn(op string) (*tcpConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, closedError(op, netip.AddrPort{})
	case s.c != nil:
		return s.c, nil
	}
	return nil, ErrNotConnected
}

// closedError is the error of op (Go's name for it) on a closed socket or acceptor whose
// address, if it has one, is addr: what Go's net package returns for a closed connection.
func closedError(op string, addr netip.AddrPort) error {
	e := &stdnet.OpError{Op: op, Net: "tcp", Err: stdnet.ErrClosed}
	if addr.IsValid() {
		e.Addr = stdnet.TCPAddrFromAddrPort(addr)
	}
	return e
}

// dialing is an AsyncConnect in progress: the goroutine that dials, and its handler.
type dialing struct {
	h        completion.Handler[error]
	work     completion.Work    // on the socket's executor and the handler's, until the handler has run
	uctx     context.Context    // h's context, if any
	cancel   context.CancelFunc // ends the dial's context
	canceled bool               // Cancel was called for it; guarded by the socket's mu
	done     chan struct{}      // closed when the goroutine has finished
}

// AsyncConnect connects the socket to addr and completes h with nil or the error
// (errors.Is(err, syscall.ECONNREFUSED) for a refused connection on Unix systems). A socket that is
// already open is closed first, as Asio does: a connect in progress completes with
// completion.ErrOperationAborted. After Close it fails with net.ErrClosed. It dials with
// net.Dialer.DialContext on a goroutine of its own, which ends when the dial does; h's context
// (completion.WithContext) cancels the dial.
func (s *TCPSocket) AsyncConnect(addr netip.AddrPort, h completion.Handler[error]) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		postResult(s.ex, h, closedError("dial", addr))
		return
	}
	d := &dialing{h: h, uctx: completion.AssociatedContext(h), done: make(chan struct{})}
	parent := d.uctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	d.cancel = cancel
	oldConn, oldDial := s.c, s.dial
	s.c, s.dial = nil, d
	s.mu.Unlock()
	if oldDial != nil {
		oldDial.cancel() // it finds itself replaced, and completes with ErrOperationAborted
		<-oldDial.done
	}
	if oldConn != nil {
		oldConn.cs.Close()
	}
	d.work = completion.StartWork(s.ex, completion.AssociatedExecutor(h, s.ex))
	go s.dialTo(d, ctx, addr)
}

// dialTo is the goroutine of an AsyncConnect.
func (s *TCPSocket) dialTo(d *dialing, ctx context.Context, addr netip.AddrPort) {
	defer close(d.done)
	var conn stdnet.Conn
	err := ctx.Err() // a context already done: no dial, as on the Linux path
	if err == nil {
		// Keep-alive stays off, as on the Linux path and in Asio, until SetKeepAlive.
		dialer := stdnet.Dialer{KeepAlive: -1}
		conn, err = dialer.DialContext(ctx, "tcp", addr.String())
	}
	d.cancel() // releases the context's resources
	s.mu.Lock()
	current := s.dial == d
	if current {
		s.dial = nil
	}
	switch {
	case !current || d.canceled:
		// Replaced by another AsyncConnect or Close, or cancelled: a connection made in the
		// meantime is closed, and the handler learns of the abort.
		err = completion.ErrOperationAborted
	case err != nil && d.uctx != nil && d.uctx.Err() != nil:
		err = completion.Canceled(d.uctx)
	case err == nil:
		s.c = newTCPConn(conn.(*stdnet.TCPConn), s.ex)
	}
	s.mu.Unlock()
	if err != nil && conn != nil {
		conn.Close()
	}
	d.work.Handler().Post(func() { // from a goroutine that runs no executor: post
		d.h.Complete(err)
		d.work.Finish()
	})
}

// AsyncReadSome reads at least one byte into b and completes h with how many; io.EOF when the
// peer has shut down its sending side.
func (s *TCPSocket) AsyncReadSome(b []byte, h completion.Handler[IOResult]) {
	c, err := s.conn("read")
	if err != nil {
		postResult(s.ex, h, IOResult{Err: err})
		return
	}
	c.read(b, h, s.ex)
}

// AsyncWriteSome writes at least one byte of b and completes h with how many.
func (s *TCPSocket) AsyncWriteSome(b []byte, h completion.Handler[IOResult]) {
	c, err := s.conn("write")
	if err != nil {
		postResult(s.ex, h, IOResult{Err: err})
		return
	}
	c.cs.AsyncWriteSome(b, h)
}

// AsyncWriteSomeBuffers writes at least one byte of the concatenation of bufs, in one writev(2)
// where the system has it, and completes h with how many; see [AsyncBuffersWriteStream].
func (s *TCPSocket) AsyncWriteSomeBuffers(bufs [][]byte, h completion.Handler[IOResult]) {
	c, err := s.conn("write")
	if err != nil {
		postResult(s.ex, h, IOResult{Err: err})
		return
	}
	c.cs.AsyncWriteSomeBuffers(bufs, h)
}

// AsyncWaitRead completes h with nil once a read would not wait (see [AsyncReadWaiter]): data has
// arrived, the peer has shut down its sending side, or the connection has failed. Asio's
// async_wait(wait_read). Go's net package has no such wait, so on this path it reads one byte,
// which the next read delivers first (that read returns it alone).
func (s *TCPSocket) AsyncWaitRead(h completion.Handler[error]) {
	c, err := s.conn("wait")
	if err != nil {
		postResult(s.ex, h, err)
		return
	}
	c.read(c.peek[:], &waitRead{c: c, h: h}, s.ex)
}

// waitRead is the handler of AsyncWaitRead's one-byte read.
type waitRead struct {
	c *tcpConn
	h completion.Handler[error]
}

// Complete keeps what the read found for the next read and completes the wait.
func (w *waitRead) Complete(res IOResult) {
	err := res.Err
	var ce *completion.CanceledError
	switch {
	case res.N == 1:
		w.c.mu.Lock()
		w.c.peeked = true
		w.c.mu.Unlock()
		err = nil
	case errors.Is(err, completion.ErrOperationAborted) || errors.As(err, &ce):
		// Cancelled: nothing was read, and the wait fails.
	default:
		w.c.mu.Lock()
		w.c.peekErr = err // the end of the stream, or a failure: the next read reports it
		w.c.mu.Unlock()
		err = nil
	}
	w.h.Complete(err)
}

// Executor returns the wait's handler's executor.
func (w *waitRead) Executor() executor.Executor { return completion.AssociatedExecutor(w.h, nil) }

// Context returns the wait's handler's context.
func (w *waitRead) Context() context.Context { return completion.AssociatedContext(w.h) }

// read starts a read on the ConnStream with c.rd as its handler, or delivers what a wait found.
func (c *tcpConn) read(b []byte, h completion.Handler[IOResult], ex executor.Executor) {
	r := &c.rd
	uctx := completion.AssociatedContext(h)
	c.mu.Lock()
	if r.busy {
		c.mu.Unlock()
		postResult(ex, h, IOResult{Err: ErrInProgress})
		return
	}
	if (c.peeked || c.peekErr != nil) && len(b) > 0 {
		var res IOResult
		if c.peeked {
			b[0], c.peeked, res.N = c.peek[0], false, 1
		} else {
			res.Err = c.peekErr
		}
		c.mu.Unlock()
		postResult(ex, h, res)
		return
	}
	r.busy, r.h, r.uctx, r.canceled = true, h, uctx, false
	if uctx != nil {
		// A context for this read alone, which both h's context and Cancel end.
		r.ctx, r.cancel = context.WithCancel(uctx)
		r.own = true
	} else {
		// No context of its own: share one among reads until Cancel ends it.
		if c.readCtx == nil {
			c.readCtx, c.cancelRead = context.WithCancel(context.Background())
		}
		r.ctx, r.cancel, r.own = c.readCtx, c.cancelRead, false
	}
	c.mu.Unlock()
	c.cs.AsyncReadSome(b, r)
}

// Complete is called by the ConnStream, on the read handler's executor.
func (r *connRead) Complete(res IOResult) {
	c := r.c
	c.mu.Lock()
	h, uctx, cancel, own, canceled := r.h, r.uctx, r.cancel, r.own, r.canceled
	r.busy, r.h, r.uctx, r.ctx, r.cancel, r.own, r.canceled = false, nil, nil, nil, nil, false, false
	c.mu.Unlock()
	if own {
		cancel()
	}
	var ce *completion.CanceledError
	if canceled && errors.As(res.Err, &ce) && (uctx == nil || uctx.Err() == nil) {
		res.Err = completion.ErrOperationAborted // Cancel, not the handler's context
	}
	h.Complete(res)
}

// Executor returns the read handler's executor, for the ConnStream.
func (r *connRead) Executor() executor.Executor {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	return completion.AssociatedExecutor(r.h, nil)
}

// Context returns the context that cancels the read, for the ConnStream.
func (r *connRead) Context() context.Context {
	r.c.mu.Lock()
	defer r.c.mu.Unlock()
	return r.ctx
}

// cancel cancels a pending read and reports whether there was one.
func (c *tcpConn) cancel() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &c.rd
	if !r.busy || r.canceled {
		return 0
	}
	r.canceled = true
	r.cancel()
	if !r.own {
		c.readCtx, c.cancelRead = nil, nil // the next read gets a fresh one
	}
	return 1
}

// Shutdown ends one or both directions of the connection: after ShutdownWrite the peer reads
// io.EOF once it has read everything sent before.
func (s *TCPSocket) Shutdown(how ShutdownHow) error {
	c, err := s.conn("shutdown")
	if err != nil {
		return err
	}
	switch how {
	case ShutdownRead:
		return c.tcp.CloseRead()
	case ShutdownWrite:
		return c.tcp.CloseWrite()
	case ShutdownBoth:
		return errors.Join(c.tcp.CloseRead(), c.tcp.CloseWrite())
	}
	return errors.New("net: invalid ShutdownHow")
}

// Cancel completes the pending connect and the pending read of the socket with
// completion.ErrOperationAborted and reports how many it cancelled. A pending write is not
// cancelled on this path (see [TCPSocket]); Close aborts it.
func (s *TCPSocket) Cancel() int {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return 0
	}
	n := 0
	if d := s.dial; d != nil && !d.canceled {
		d.canceled = true
		d.cancel()
		n++
	}
	c := s.c
	s.mu.Unlock()
	if c != nil {
		n += c.cancel()
	}
	return n
}

// Close cancels the pending operations (they complete with completion.ErrOperationAborted) and
// closes the socket, for good: later operations, and a second Close, fail with net.ErrClosed. It
// waits for the socket's goroutines to return.
func (s *TCPSocket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return closedError("close", netip.AddrPort{})
	}
	s.closed = true
	c, d := s.c, s.dial
	s.dial = nil
	s.mu.Unlock()
	if d != nil {
		d.cancel()
		<-d.done
	}
	if c != nil {
		return c.cs.Close()
	}
	return nil
}

// LocalAddr returns the socket's local address.
func (s *TCPSocket) LocalAddr() (netip.AddrPort, error) {
	return s.addr("getsockname", (*stdnet.TCPConn).LocalAddr)
}

// RemoteAddr returns the address of the socket's peer.
func (s *TCPSocket) RemoteAddr() (netip.AddrPort, error) {
	return s.addr("getpeername", (*stdnet.TCPConn).RemoteAddr)
}

func (s *TCPSocket) addr(op string, get func(*stdnet.TCPConn) stdnet.Addr) (netip.AddrPort, error) {
	c, err := s.conn(op)
	if err != nil {
		return netip.AddrPort{}, err
	}
	a, ok := get(c.tcp).(*stdnet.TCPAddr)
	if !ok {
		return netip.AddrPort{}, ErrNotConnected
	}
	return a.AddrPort(), nil
}

// SetNoDelay turns Nagle's algorithm off (true, the default) or on.
func (s *TCPSocket) SetNoDelay(on bool) error {
	c, err := s.conn("set")
	if err != nil {
		return err
	}
	if err := c.tcp.SetNoDelay(on); err != nil {
		return err
	}
	c.noDelay.Store(on)
	return nil
}

// SetKeepAlive turns TCP keep-alive probes on or off.
func (s *TCPSocket) SetKeepAlive(on bool) error {
	c, err := s.conn("set")
	if err != nil {
		return err
	}
	return c.tcp.SetKeepAlive(on)
}

// SetReadBuffer sets the kernel's receive buffer size.
func (s *TCPSocket) SetReadBuffer(bytes int) error {
	c, err := s.conn("set")
	if err != nil {
		return err
	}
	return c.tcp.SetReadBuffer(bytes)
}

// SetWriteBuffer sets the kernel's send buffer size.
func (s *TCPSocket) SetWriteBuffer(bytes int) error {
	c, err := s.conn("set")
	if err != nil {
		return err
	}
	return c.tcp.SetWriteBuffer(bytes)
}

// NoDelay reports whether Nagle's algorithm is off. Go's net package has no getter for it: this is
// the value last set, true by default as Go's net package sets it on every connection.
func (s *TCPSocket) NoDelay() (bool, error) {
	c, err := s.conn("get")
	if err != nil {
		return false, err
	}
	return c.noDelay.Load(), nil
}

var (
	_ AsyncStream             = (*TCPSocket)(nil)
	_ AsyncBuffersWriteStream = (*TCPSocket)(nil)
)
