package net

import (
	"errors"
	"fmt"
	stdnet "net"
	"os"
	"sync"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// ConnStream is a net.Conn (from Go's net package: a crypto/tls connection, net.Pipe, a Unix
// socket) seen as an [AsyncStream]: the portable path to beastgo's composed operations and
// websocket where there is no reactor, and the way to run them over TLS. Make one with
// [FromConn].
//
// It serves the conn's blocking Read and Write with two goroutines, one for each, started by
// FromConn and ended by Close, which waits for them: Close must be called. One read and one write
// may be outstanding at a time; starting a second completes it with ErrInProgress. Every operation
// completes exactly once on its handler's associated executor (the ConnStream's executor when it
// has none), posted, never inside the call that started it, and counts outstanding work on the
// executor while it is pending, so an IOContext's Run waits for it.
//
// It is an [AsyncBuffersWriteStream]: AsyncWriteSomeBuffers writes several buffers with one
// writev(2) when the conn is a socket of Go's net package. [AsyncTeardown] tears it down with
// Shutdown and Close, the shutdown served by the writing goroutine, so that crypto/tls's
// close_notify never blocks the executor.
//
// A read is cancelled through its handler's context (completion.WithContext) by setting a read
// deadline in the past on the conn, which makes the blocked Read return; the deadline is then
// cleared. The ConnStream owns the conn's read deadline: the caller must not set it. Writes are not
// cancelled that way, because an interrupted write leaves some conns (crypto/tls) broken; Close
// interrupts them.
type ConnStream struct {
	conn   stdnet.Conn
	ex     executor.Executor
	reads  chan *connOp // the read to serve; room for one, the most that may be outstanding
	writes chan *connOp // the same for writes
	loops  sync.WaitGroup

	mu     sync.Mutex
	closed bool
	rd, wr connOp

	// tcp is set for a TCPSocket's conn on the portable path: its errors then name what the epoll
	// path's name (tcpOpError), so that both paths report alike. Set before any operation.
	tcp bool
}

// connOp is the one read or write of a ConnStream that may be outstanding. It lives in the
// ConnStream, so an operation allocates nothing but what its handler's context needs.
type connOp struct {
	c       *ConnStream
	deliver func() // o.complete, bound once

	// Set by the initiating function under c.mu; read by the serving goroutine after it takes the
	// operation from the channel, which orders the two.
	busy bool // started and its handler not yet called
	b    []byte
	bufs [][]byte // a gather write's buffers, instead of b; the caller's, never modified
	// closeWrite makes the write a shutdown of the writing side (asyncCloseWrite).
	closeWrite bool
	h          completion.Handler[IOResult]
	work       completion.Work // on c.ex and the handler's executor, until the handler has run
	res        IOResult

	// Guarded by c.mu: the cancellation of a read.
	gen       uint64
	inFlight  bool        // sent to the goroutine and not yet served
	cancelErr error       // set when the context ended while in flight; the deadline was set
	stop      func() bool // disarms the context's cancellation; nil without a context

	// vec is the serving goroutine's copy of bufs for net.Buffers, which consumes the slice it
	// writes; kept, so that a gather write allocates nothing once it has grown.
	vec stdnet.Buffers
}

// FromConn returns conn as an AsyncStream whose operations complete on ex when their handlers
// have no executor of their own. It starts the two goroutines that serve it; Close stops them. From
// then on the ConnStream owns conn: the caller must not read from or write to it, or set its read
// deadline, while operations are outstanding.
func FromConn(conn stdnet.Conn, ex executor.Executor) *ConnStream {
	c := &ConnStream{
		conn:   conn,
		ex:     ex,
		reads:  make(chan *connOp, 1),
		writes: make(chan *connOp, 1),
	}
	c.rd = connOp{c: c}
	c.wr = connOp{c: c}
	c.rd.deliver = c.rd.complete
	c.wr.deliver = c.wr.complete
	c.loops.Add(2)
	go c.serve(c.reads, c.readOnce)
	go c.serve(c.writes, c.writeOnce)
	return c
}

// Executor returns the executor operations complete on when their handlers have none.
func (c *ConnStream) Executor() executor.Executor { return c.ex }

// Conn returns the conn, for what only it knows (tls.Conn.ConnectionState, addresses).
func (c *ConnStream) Conn() stdnet.Conn { return c.conn }

// AsyncReadSome reads at most len(b) bytes with one Read of the conn. An empty b completes at once
// (posted) with N == 0 without reading.
func (c *ConnStream) AsyncReadSome(b []byte, h completion.Handler[IOResult]) {
	c.start(&c.rd, c.reads, b, nil, false, h, true)
}

// AsyncWriteSome writes b with one Write of the conn, which writes all of it unless an error stops
// it (the net.Conn contract). An empty b completes at once (posted) with N == 0 without writing.
func (c *ConnStream) AsyncWriteSome(b []byte, h completion.Handler[IOResult]) {
	c.start(&c.wr, c.writes, b, nil, false, h, false)
}

// AsyncWriteSomeBuffers writes the concatenation of bufs with net.Buffers' WriteTo on the conn:
// one writev(2) for a *net.TCPConn or *net.UnixConn, a Write per buffer for other conns. Like
// AsyncWriteSome it writes all of it unless an error stops it. It never modifies bufs or the
// slices in it. All buffers empty completes at once (posted) with N == 0 without writing.
func (c *ConnStream) AsyncWriteSomeBuffers(bufs [][]byte, h completion.Handler[IOResult]) {
	c.start(&c.wr, c.writes, nil, bufs, false, h, false)
}

// asyncCloseWrite is Shutdown(ShutdownWrite) as a write, served by the writing goroutine after
// the writes before it: [AsyncTeardown] uses it, so that a conn whose CloseWrite writes and may
// block (crypto/tls sends close_notify, waiting up to seconds for the peer to take it) never
// blocks the executor. It completes h with Shutdown's error, N == 0.
func (c *ConnStream) asyncCloseWrite(h completion.Handler[IOResult]) {
	c.start(&c.wr, c.writes, nil, nil, true, h, false)
}

// Close closes the conn, which interrupts a Read or Write in progress; the operations outstanding
// complete with completion.ErrOperationAborted, and later ones with net.ErrClosed (Go's). Close
// waits for the two goroutines to return, and returns the conn's Close error; a second Close
// returns net.ErrClosed.
func (c *ConnStream) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return stdnet.ErrClosed
	}
	c.closed = true
	// No operation can be sent after this: start checks closed under mu. The goroutines serve
	// what is already in the channels (aborted) and return.
	close(c.reads)
	close(c.writes)
	c.mu.Unlock()
	err := c.conn.Close()
	c.loops.Wait()
	return err
}

// Shutdown ends one direction of the conn, or both, through its CloseWrite and CloseRead methods,
// as TCPSocket.Shutdown does a socket's: after ShutdownWrite the peer reads io.EOF once it has
// read what was written, and the stream can still read. *net.TCPConn and *net.UnixConn have both
// methods; *tls.Conn has CloseWrite, which sends TLS's close_notify (its handshake must be done).
// A conn without the method a direction needs makes Shutdown return an error for which
// errors.Is(err, errors.ErrUnsupported) holds, having shut nothing down. After Close it returns
// net.ErrClosed (Go's).
//
// A write in progress when the writing side is shut down may fail; start the shutdown once the
// last write has completed. Shutdown runs on the calling goroutine, and tls.Conn's CloseWrite
// writes: it may block until the peer takes the alert (Go's tls waits up to 5 seconds), which
// [AsyncTeardown] avoids.
func (c *ConnStream) Shutdown(how ShutdownHow) error {
	if c.isClosed() {
		return stdnet.ErrClosed
	}
	return c.shutdown(how)
}

// shutdown is Shutdown on a ConnStream that may be open.
func (c *ConnStream) shutdown(how ShutdownHow) error {
	type closeReader interface{ CloseRead() error }
	type closeWriter interface{ CloseWrite() error }
	if how != ShutdownRead && how != ShutdownWrite && how != ShutdownBoth {
		return fmt.Errorf("net: Shutdown(%d): no such direction", how)
	}
	cr, canRead := c.conn.(closeReader)
	cw, canWrite := c.conn.(closeWriter)
	if how != ShutdownWrite && !canRead {
		return fmt.Errorf("net: Shutdown(read) of a %T: %w", c.conn, errors.ErrUnsupported)
	}
	if how != ShutdownRead && !canWrite {
		return fmt.Errorf("net: Shutdown(write) of a %T: %w", c.conn, errors.ErrUnsupported)
	}
	var rerr, werr error
	if how != ShutdownWrite {
		rerr = cr.CloseRead()
	}
	if how != ShutdownRead {
		werr = cw.CloseWrite()
	}
	return errors.Join(rerr, werr)
}

// start is the initiating function of both operations.
func (c *ConnStream) start(o *connOp, ch chan<- *connOp, b []byte, bufs [][]byte, closeWrite bool, h completion.Handler[IOResult], cancellable bool) {
	hex := completion.AssociatedExecutor(h, c.ex)
	ctx := completion.AssociatedContext(h)
	c.mu.Lock()
	var err error
	switch {
	case c.closed:
		err = stdnet.ErrClosed
	case o.busy:
		err = ErrInProgress
	}
	if err != nil {
		c.mu.Unlock()
		c.reject(h, hex, err)
		return
	}
	o.busy, o.b, o.bufs, o.closeWrite, o.h = true, b, bufs, closeWrite, h
	o.work = completion.StartWork(c.ex, hex)
	o.gen++
	switch {
	case ctx != nil && ctx.Err() != nil:
		o.res = IOResult{Err: completion.Canceled(ctx)}
	case len(b) == 0 && buffersEmpty(bufs) && !closeWrite:
		o.res = IOResult{}
	default:
		o.inFlight = true
		if cancellable && ctx != nil && ctx.Done() != nil {
			gen := o.gen
			o.stop = completion.OnCancel(h, c.ex, func(err error) { c.cancelRead(o, gen, err) })
		}
		ch <- o // never blocks: the channel has room for one and o was not busy
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	hex.Post(o.deliver)
}

// serve is the body of the two goroutines: it serves the operations sent on ch, one at a time,
// until Close closes ch.
func (c *ConnStream) serve(ch <-chan *connOp, once func(*connOp) IOResult) {
	defer c.loops.Done()
	for o := range ch {
		res := once(o)
		c.mu.Lock()
		if res.Err != nil && c.closed {
			res.Err = completion.ErrOperationAborted
		}
		o.res = res
		c.mu.Unlock()
		o.work.Handler().Post(o.deliver)
	}
}

// aLongTimeAgo is a read deadline in the past: setting it makes a blocked Read return at once.
var aLongTimeAgo = time.Unix(1, 0)

// readOnce serves a read; the read's cancellation may interrupt it.
func (c *ConnStream) readOnce(o *connOp) IOResult {
	n, err := 0, error(nil)
	if !c.isClosed() {
		n, err = c.conn.Read(o.b)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o.inFlight = false
	if o.stop != nil {
		o.stop() // false means the cancel is on its way; it will find the read served
		o.stop = nil
	}
	if cerr := o.cancelErr; cerr != nil {
		o.cancelErr = nil
		_ = c.conn.SetReadDeadline(time.Time{}) // the cancel set it; the next read must not see it
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			err = cerr
		}
	}
	if c.closed && n == 0 && err == nil {
		err = completion.ErrOperationAborted
	}
	if c.tcp && err != nil {
		err = tcpOpError(err)
	}
	return IOResult{N: n, Err: err}
}

// writeOnce serves a write.
func (c *ConnStream) writeOnce(o *connOp) IOResult {
	if c.isClosed() {
		return IOResult{Err: completion.ErrOperationAborted}
	}
	if o.closeWrite {
		return IOResult{Err: c.shutdown(ShutdownWrite)}
	}
	var n int
	var err error
	if o.bufs == nil {
		n, err = c.conn.Write(o.b)
	} else {
		o.vec = append(o.vec[:0], o.bufs...)
		whole := o.vec[:len(o.bufs)] // WriteTo moves o.vec on: this keeps the copies to clear
		var n64 int64
		n64, err = o.vec.WriteTo(c.conn)
		clear(whole) // hold no reference to the caller's buffers once written
		o.vec = whole[:0]
		n = int(n64)
	}
	if c.tcp && err != nil {
		err = tcpOpError(err)
	}
	return IOResult{N: n, Err: err}
}

// tcpOpError names a TCP connection's error as the epoll path does: the network "tcp" whatever
// the address family ("tcp4", "tcp6" in Go's net package), and a gather write's operation "write"
// (Go's "writev"; the *os.SyscallError inside still names the system call).
func tcpOpError(err error) error {
	op, ok := err.(*stdnet.OpError)
	if !ok || (op.Net == "tcp" && op.Op != "writev") {
		return err
	}
	named := *op
	named.Net = "tcp"
	if named.Op == "writev" {
		named.Op = "write"
	}
	return &named
}

// buffersEmpty reports whether every buffer of bufs is empty.
func buffersEmpty(bufs [][]byte) bool {
	for _, b := range bufs {
		if len(b) > 0 {
			return false
		}
	}
	return true
}

func (c *ConnStream) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// cancelRead runs on c.ex (completion.OnCancel posts it there) when the context of a read ends:
// if that read is still in flight, a deadline in the past makes the conn's Read return.
func (c *ConnStream) cancelRead(o *connOp, gen uint64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o.gen != gen || !o.inFlight || c.closed {
		return
	}
	o.cancelErr = err
	_ = c.conn.SetReadDeadline(aLongTimeAgo)
}

// complete calls the handler with the result and releases the operation's work. The operation is
// free again before the handler runs, so the handler may start the next one.
func (o *connOp) complete() {
	c := o.c
	c.mu.Lock()
	h, res, work := o.h, o.res, o.work
	o.busy, o.b, o.bufs, o.closeWrite, o.h, o.work, o.res = false, nil, nil, false, nil, completion.Work{}, IOResult{}
	c.mu.Unlock()
	h.Complete(res)
	work.Finish()
}

// reject completes an operation that cannot start with err, posted, holding work until then.
func (c *ConnStream) reject(h completion.Handler[IOResult], hex executor.Executor, err error) {
	w := completion.StartWork(c.ex, hex)
	hex.Post(func() {
		h.Complete(IOResult{Err: err})
		w.Finish()
	})
}

var (
	_ AsyncStream             = (*ConnStream)(nil)
	_ AsyncBuffersWriteStream = (*ConnStream)(nil)
)
