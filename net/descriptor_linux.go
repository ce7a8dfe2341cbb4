//go:build linux && !beastgo_portable

package net

import (
	"context"
	"io"
	stdnet "net"
	"net/netip"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/invoke"
)

// descriptor is a non-blocking file descriptor registered with a reactor, with at most one pending
// operation per direction (Asio's per-descriptor state). Its mutex serialises the initiating calls
// with the reactor's readiness events.
//
// A server keeps one per connection, so its fields are ordered and sized to fill the 352-byte
// size class and no more (TestDescriptorSize): the flags share a word with the address, which is
// kept compact, and an op's handler executor is nil when it is the I/O executor.
type descriptor struct {
	r  *reactor
	ex executor.Executor // the I/O executor: immediate completions are posted here
	fd int
	mu sync.Mutex

	closed bool
	// maybeReadable and maybeWritable say whether a read or a write could succeed without a new
	// readiness event: false after EAGAIN or a short transfer (the kernel's buffer was drained or
	// filled), true again after any event for that direction. A new operation facing a false
	// flag waits for the edge without trying its system call, which saves the EAGAIN read that
	// otherwise follows every request a server answers. Hang-up and error events are sticky
	// (hup), since no further edge may follow them. All under mu, like the events that set them,
	// so an edge arriving during a system call is never lost. "A short read drained the buffer"
	// holds for stream sockets (TCP, Unix stream), the only kind the package makes; a datagram or
	// seqpacket descriptor must clear the flags on EAGAIN only.
	maybeReadable, maybeWritable, hup bool
	// addr is an address known without a system call, for errors: a connection's peer (a
	// connect's target, an accepted peer) or, when listening, the bound local address; set
	// before the descriptor is shared, and not changed after. One field rather than two keeps the
	// per-socket heap small.
	addr errorAddr

	read  op
	write op
}

// acceptState is what an accept keeps in its op: kept apart, so that the ops of the many
// connected sockets do not carry it.
type acceptState struct {
	h      completion.Handler[AcceptResult]
	ex     executor.Executor   // the accepted socket's
	socket *TCPSocket          // the accepted socket
	peer   unix.RawSockaddrAny // the accepted socket's peer, as accept(2) writes it
}

// opKind says which system call an op performs when its descriptor is ready.
type opKind uint8

const (
	opRead opKind = iota
	opWrite
	opWriteBuffers // a gather write
	opConnect
	opAccept
	opWaitRead // AsyncWaitRead: readable, nothing read
	// opWriteAll is AsyncWrite on a socket: all of b, as many system calls as it takes, one
	// completion. While it runs, b is what is left and res.N what has gone.
	opWriteAll
)

// op is one direction's operation of a descriptor. It is reused by every operation in that
// direction, with its two handlers bound once, so a read or write allocates nothing.
type op struct {
	d       *descriptor
	kind    opKind
	busy    bool // started and its handler not yet invoked
	pending bool // waiting for readiness in the reactor
	// afterEvent is set while retry performs the operation after a readiness event: a wait
	// takes the event's word for it then, rather than asking the kernel again.
	afterEvent bool
	// gen counts the operations the record has served: a context's cancellation, whose callback
	// may already be running when the operation completes, aborts only the operation it was
	// armed for, never the next one on the same record.
	gen    uint32
	b      []byte
	gather *gatherState // a gather write's buffers and iovecs, from a pool while it is in flight
	res    IOResult
	// hex is the handler's executor while busy, or nil when it is the I/O executor, d.ex (asked
	// once at begin: an interface comparison is a runtime call, and the completion path would ask
	// it three times). The operation holds work on d.ex and on the handler's executor
	// (completion.StartWork at begin, released by deliver): the executor is kept rather than a
	// completion.Work, whose copy of d.ex would cost every socket 16 bytes per direction.
	hex executor.Executor
	// h is the handler: a completion.Handler[IOResult] for reads and writes, a
	// completion.Handler[error] for a connect or a wait. One field of type any rather than one
	// of each type keeps the op 16 bytes smaller, for a type assertion per completion.
	h   any
	acc *acceptState // an acceptor's: made by its first accept, and kept

	stopCancel func() bool
	// The record's methods as funcs to post, each bound the first time it is needed and kept,
	// so that a completion allocates nothing: invoke by the first operation, post by the first
	// whose handler has an executor of its own, retryFn by the first that waits for readiness.
	// Binding them on demand rather than all six up front spares an idle connection 48 bytes:
	// most sockets never need the write side's retryFn (the kernel takes what is written) nor
	// post (their handlers run on the I/O executor). Each is set under d.mu and never cleared,
	// so whoever reads it after taking the record's state under d.mu sees it set.
	post    func() // o.postToHandler
	invoke  func() // o.invokeHandler
	retryFn func() // o.retry
}

// newDescriptor registers fd with ex's reactor; addr is its peer's address, or its local address
// if it is listening, where known.
func newDescriptor(fd int, ex executor.Executor, addr netip.AddrPort) (*descriptor, error) {
	r, err := reactorFor(ex)
	if err != nil {
		return nil, err
	}
	d := &descriptor{fd: fd, r: r, ex: ex, addr: makeErrorAddr(addr), maybeReadable: true, maybeWritable: true}
	d.read.init(d)
	d.write.init(d)
	if err := r.register(d); err != nil {
		return nil, err
	}
	return d, nil
}

func (o *op) init(d *descriptor) { o.d = d }

// begin claims o for a new operation; with d.mu held. It fails if the descriptor is closed or o
// is busy.
func (o *op) begin(kind opKind, hex executor.Executor) error {
	switch {
	case o.d.closed: // before busy: an operation aborted by Close may not have run its handler yet
		return o.d.opError(kind.name(), stdnet.ErrClosed)
	case o.busy:
		return ErrInProgress
	}
	o.busy, o.kind = true, kind
	o.gen++
	w := completion.StartWork(o.d.ex, hex)
	o.hex = nil
	if !w.SameExecutor() {
		o.hex = w.Handler()
	}
	if o.invoke == nil {
		o.invoke = o.invokeHandler
	}
	if o.hex != nil && o.post == nil {
		o.post = o.postToHandler
	}
	return nil
}

// start runs the operation's system call at once and either completes it (posted, as it
// completes inside the initiating call) or leaves it pending in the reactor until the descriptor
// is ready or ctx (the handler's context, if any) ends. A context already done completes the
// operation without the system call. With d.mu held; it unlocks it.
func (o *op) start(ctx context.Context) {
	d := o.d
	switch {
	case d.closed:
		o.res = IOResult{Err: d.opError(o.kind.name(), stdnet.ErrClosed)}
	case ctx != nil && ctx.Err() != nil:
		o.res = IOResult{Err: completion.Canceled(ctx)}
	case o.perform():
		o.pending = true
		if o.retryFn == nil {
			o.retryFn = o.retry
		}
		if ctx != nil && ctx.Done() != nil {
			gen := o.gen
			o.stopCancel = context.AfterFunc(ctx, func() { d.abortGen(o, gen, completion.Canceled(ctx)) })
		}
		d.mu.Unlock()
		return
	}
	d.mu.Unlock()
	d.ex.Post(o.immediate())
}

// immediate is what an operation that completed inside its initiating call posts to the I/O
// executor: the handler's invocation when it runs there too (all postToHandler would do), and
// otherwise postToHandler, which dispatches it to its own executor.
func (o *op) immediate() func() {
	if o.hex == nil {
		return o.invoke
	}
	return o.post
}

// perform tries the system call; it reports true if the descriptor is not ready (EAGAIN), and
// otherwise stores the result.
func (o *op) perform() (wouldBlock bool) {
	d := o.d
	switch o.kind {
	case opRead:
		if len(o.b) == 0 {
			o.res = IOResult{}
			return false
		}
		if !d.maybeReadable {
			return true
		}
		n, err := ignoringEINTR(func() (int, error) { return readFD(d.fd, o.b) })
		if err == unix.EAGAIN || (err == nil && 0 < n && n < len(o.b)) {
			d.maybeReadable = d.hup
		}
		if err == unix.EAGAIN {
			return true
		}
		o.res = d.readResult(n, err)
	case opWrite:
		if len(o.b) == 0 {
			o.res = IOResult{}
			return false
		}
		if !d.maybeWritable {
			return true
		}
		n, err := ignoringEINTR(func() (int, error) { return writeFD(d.fd, o.b) })
		if err == unix.EAGAIN || (err == nil && n < len(o.b)) {
			d.maybeWritable = d.hup
		}
		if err == unix.EAGAIN {
			return true
		}
		if err != nil {
			o.res = IOResult{N: max(n, 0), Err: d.opError("write", os.NewSyscallError("write", err))}
		} else {
			o.res = IOResult{N: n}
		}
	case opWriteAll:
		for len(o.b) > 0 {
			if !d.maybeWritable {
				return true
			}
			n, err := ignoringEINTR(func() (int, error) { return writeFD(d.fd, o.b) })
			if err == unix.EAGAIN || (err == nil && n < len(o.b)) {
				d.maybeWritable = d.hup
			}
			switch {
			case err == unix.EAGAIN:
				return true
			case err != nil:
				o.res.Err = d.opError("write", os.NewSyscallError("write", err))
				return false
			case n <= 0: // a socket does not do this; a write that takes nothing must not spin
				o.res.Err = io.ErrNoProgress
				return false
			}
			o.res.N += n
			o.b = o.b[n:]
		}
	case opWriteBuffers:
		if !d.maybeWritable {
			if hasBytes(o.gather.bufs) {
				return true
			}
			o.res = IOResult{}
			return false
		}
		n, total, err := writevFD(d.fd, o.gather)
		for err == unix.EINTR {
			n, total, err = writevFD(d.fd, o.gather)
		}
		if err == unix.EAGAIN || (err == nil && n < total) {
			d.maybeWritable = d.hup
		}
		if err == unix.EAGAIN {
			return true
		}
		if err != nil {
			o.res = IOResult{Err: d.opError("write", os.NewSyscallError("writev", err))}
		} else {
			o.res = IOResult{N: n}
		}
	case opWaitRead:
		if !d.maybeReadable {
			return true
		}
		if !d.hup && !o.afterEvent {
			// The flag says a read might not wait; a peek that takes nothing tells. After an
			// event it is the event's word, which costs no system call; it is stale only when
			// an earlier read took the bytes it announced, and the read that follows then waits.
			var b [1]byte
			_, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(d.fd), uintptr(unsafe.Pointer(&b[0])), 1, unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
			if e == unix.EAGAIN {
				d.maybeReadable = false
				return true
			}
		}
		o.res = IOResult{} // bytes, the end of the stream or an error: the read reports which
	case opConnect:
		errno, err := unix.GetsockoptInt(d.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && errno == 0 {
			// SO_ERROR is 0 both before and after success: ask whether we are connected.
			if _, perr := unix.Getpeername(d.fd); perr != nil {
				if perr == unix.ENOTCONN {
					return true
				}
				err = perr
			}
		} else if err == nil {
			err = unix.Errno(errno)
		}
		if err != nil {
			o.res = IOResult{Err: d.opError("dial", os.NewSyscallError("connect", err))}
		} else {
			o.res = IOResult{}
		}
	case opAccept:
		nfd, err := accept4(d.fd, &o.acc.peer)
		if err == unix.EAGAIN || err == unix.ECONNABORTED {
			return true
		}
		if err != nil {
			o.res = IOResult{Err: d.opError("accept", os.NewSyscallError("accept4", err))}
			return false
		}
		s, err := newTCPSocketFromFD(nfd, o.acc.ex, fromRawSockaddr(&o.acc.peer))
		if err != nil {
			o.res = IOResult{Err: d.opError("accept", err)}
			return false
		}
		o.acc.socket = s
		o.res = IOResult{}
	}
	return false
}

// hasBytes reports whether any of bufs is not empty.
func hasBytes(bufs [][]byte) bool {
	for _, b := range bufs {
		if len(b) != 0 {
			return true
		}
	}
	return false
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != unix.EINTR {
			return n, err
		}
	}
}

func (d *descriptor) readResult(n int, err error) IOResult {
	switch {
	case err != nil:
		return IOResult{Err: d.opError("read", os.NewSyscallError("read", err))}
	case n == 0:
		return IOResult{Err: io.EOF}
	}
	return IOResult{N: n}
}

// ready handles a readiness event from the reactor for the pending operations it concerns. On an
// IOContext it posts their retries, so that the system calls run as handlers on whichever Run
// goroutine is free (Asio's reactor does the same) and the reactor goes back to waiting at once;
// a reactor with its own loop retries them itself.
func (d *descriptor) ready(events uint32) {
	const readable = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
	const writable = unix.EPOLLOUT | unix.EPOLLHUP | unix.EPOLLERR
	d.mu.Lock()
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		d.hup = true
	}
	if events&readable != 0 {
		d.maybeReadable = true
	}
	if events&writable != 0 {
		d.maybeWritable = true
	}
	retryRead := events&readable != 0 && d.read.pending
	retryWrite := events&writable != 0 && d.write.pending
	d.mu.Unlock()
	if d.r.owned != nil {
		if retryRead {
			d.read.retry()
		}
		if retryWrite {
			d.write.retry()
		}
		return
	}
	if retryRead {
		d.ex.Post(d.read.retryFn)
	}
	if retryWrite {
		d.ex.Post(d.write.retryFn)
	}
}

// retry tries a pending operation's system call again after a readiness event and delivers its
// completion if it finishes; on EAGAIN (the data went to another reader, or the event was stale)
// it stays pending for the next edge.
func (o *op) retry() {
	d := o.d
	d.mu.Lock()
	o.afterEvent = true
	wouldBlock := !o.pending || d.closed || o.perform() // closing: Close aborts the pending operation
	o.afterEvent = false
	if wouldBlock {
		d.mu.Unlock()
		return
	}
	o.settle()
	if d.r.owned == nil && o.hex == nil {
		// On the I/O executor, which is the handler's too, so the handler would run at once:
		// take the result under this lock rather than take the lock again to do so.
		out := o.takeLocked()
		d.mu.Unlock()
		d.deliver(out)
		return
	}
	d.mu.Unlock()
	o.completeLater(true)
}

// settle ends the pending state of an operation that has its result; with d.mu held.
func (o *op) settle() {
	o.pending = false
	if o.stopCancel != nil {
		o.stopCancel()
		o.stopCancel = nil
	}
}

// completeLater delivers a completion found after the initiating call returned. Readiness found by
// the reactor is dispatched to the handler's executor; a cancellation is posted, so a handler never
// runs inside the Cancel or Close call that aborted it; and a reactor running its own loop posts,
// since no handler of any executor runs on its goroutine.
func (o *op) completeLater(dispatch bool) {
	if dispatch && o.d.r.owned == nil {
		o.dispatchToHandler() // retry runs on the I/O executor here
		return
	}
	if o.hex == nil {
		o.d.ex.Post(o.invoke)
		return
	}
	o.hex.Post(o.invoke)
}

// abort completes o with err if it is still pending.
func (d *descriptor) abort(o *op, err error) {
	d.mu.Lock()
	d.abortLocked(o, err)
}

// abortGen completes o with err if it is still pending with operation gen: a context's
// cancellation, which must not reach a later operation on the same record.
func (d *descriptor) abortGen(o *op, gen uint32, err error) {
	d.mu.Lock()
	if o.gen != gen {
		d.mu.Unlock()
		return
	}
	d.abortLocked(o, err)
}

// abortLocked is abort with d.mu held; it unlocks it.
func (d *descriptor) abortLocked(o *op, err error) {
	if !o.pending {
		d.mu.Unlock()
		return
	}
	n := 0
	if o.kind == opWriteAll {
		n = o.res.N // what has gone before the abort
	}
	o.res = IOResult{N: n, Err: err}
	o.settle()
	d.mu.Unlock()
	o.completeLater(false)
}

// cancel aborts every pending operation with ErrOperationAborted and reports how many.
func (d *descriptor) cancel() int {
	n := 0
	for _, o := range []*op{&d.read, &d.write} {
		d.mu.Lock()
		pending := o.pending
		d.mu.Unlock()
		if pending {
			d.abort(o, completion.ErrOperationAborted)
			n++
		}
	}
	return n
}

// postToHandler is the posted half of an immediate completion: on the I/O executor, it
// dispatches the handler to its own executor.
func (o *op) postToHandler() { o.dispatchToHandler() }

// dispatchToHandler calls the handler on its executor, from a handler running on the I/O executor:
// at once when the two are the same, without asking the executor where it runs (Dispatch would).
func (o *op) dispatchToHandler() {
	if o.hex == nil {
		o.invokeHandler()
		return
	}
	o.hex.Dispatch(o.invoke)
}

// invokeHandler frees the op for the next operation, releases its work and calls the handler.
func (o *op) invokeHandler() {
	o.d.mu.Lock()
	out := o.takeLocked()
	o.d.mu.Unlock()
	o.d.deliver(out)
}

// outcome is a finished operation's result and handler, taken out of its op.
type outcome struct {
	kind    opKind
	res     IOResult
	hex     executor.Executor // where work is held besides the I/O executor; nil for none
	h       any
	hAccept completion.Handler[AcceptResult]
	socket  *TCPSocket
}

// takeLocked takes the result and the handler out of a finished op and frees it for the next
// operation; with d.mu held.
func (o *op) takeLocked() outcome {
	out := outcome{kind: o.kind, res: o.res, hex: o.hex, h: o.h}
	if o.kind == opAccept {
		out.hAccept, out.socket = o.acc.h, o.acc.socket
		o.acc.h, o.acc.ex, o.acc.socket = nil, nil, nil
	}
	if o.kind == opWriteBuffers {
		o.gather.bufs = nil
		gatherStates.Put(o.gather)
		o.gather = nil
	}
	o.h, o.b, o.hex = nil, nil, nil
	o.busy = false
	return out
}

// deliver releases a finished operation's work and calls its handler; on the handler's executor.
func (d *descriptor) deliver(out outcome) {
	// Released as completion.Work.Finish does: the handler's executor's unit first.
	if out.hex != nil {
		out.hex.OnWorkFinished()
	}
	d.ex.OnWorkFinished()
	// On the handler's executor, where the handler belongs: invoke.Invoke spares a composed operation's slot its own check.
	switch out.kind {
	case opRead, opWrite, opWriteBuffers, opWriteAll:
		invoke.Invoke(out.h.(completion.Handler[IOResult]), out.res)
	case opConnect, opWaitRead:
		invoke.Invoke(out.h.(completion.Handler[error]), out.res.Err)
	case opAccept:
		invoke.Invoke(out.hAccept, AcceptResult{Socket: out.socket, Err: out.res.Err})
	}
}

// use runs f, a system call on the descriptor's number, while the descriptor is open, and fails
// with net.ErrClosed once it is closing: the mutex is the reference f holds, so close(2) cannot
// happen during f and f cannot act on a number the kernel has handed to another socket.
//
// Its errors, f's and net.ErrClosed, are *net.OpError for op.
func (d *descriptor) use(op string, f func(fd int) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return d.opError(op, stdnet.ErrClosed)
	}
	return d.opError(op, f(d.fd))
}

// close marks the descriptor closing, aborts its pending operations, and deregisters and closes
// it. Every system call on the descriptor runs under d.mu after checking closed (use, and the
// operations' begin, start and retry), so once closed is set under the lock and the lock is
// released no caller holds the number: close(2) comes after the last one, as with the reference
// count of Go's internal/poll, at no cost to the reads and writes, which take d.mu already.
func (d *descriptor) close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return d.opError("close", stdnet.ErrClosed)
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.r.deregister(d)
	return d.opError("close", os.NewSyscallError("close", unix.Close(d.fd)))
}
