package nettest

import (
	"fmt"
	"io"
	stdnet "net"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// ErrClosed is the error of an operation started on an end after its Close, and of a second
// Close. errors.Is(ErrClosed, net.ErrClosed) holds (Go's net.ErrClosed, "use of closed network
// connection"), so code that checks for a closed connection the standard way works over a Stream.
// An operation already pending when its end is closed gets completion.ErrOperationAborted instead,
// as in Asio: it was started on an open stream and was interrupted.
var ErrClosed error = closedError{}

type closedError struct{}

func (closedError) Error() string        { return "nettest: use of closed stream" }
func (closedError) Is(target error) bool { return target == stdnet.ErrClosed }

// Mode says how an operation that can complete when it starts (a read that finds data, a write)
// completes.
type Mode uint8

const (
	// Immediate operations that can complete when they start do so during the initiating call:
	// the result is settled there and the handler posted, as a socket's speculative read or write
	// that succeeds. This is the default.
	Immediate Mode = iota
	// Later operations all wait for a step posted to the executor, as a socket's do when the
	// kernel says EAGAIN and the reactor wakes them: the result is settled in that step and the
	// handler dispatched from it. Composed operations then resume from inside the step instead of
	// from a posted handler, the path real network completions take.
	Later
)

// Options configure one end of a pair. The zero value is an end that reads and writes as much as
// it can at once, fails nothing, and completes in Immediate mode.
type Options struct {
	// ReadSize is the most bytes one read delivers (1: one byte at a time); 0 means no limit.
	ReadSize int
	// WriteSize is the most bytes one write takes; 0 means no limit.
	WriteSize int
	// Fail, if not nil, counts this end's operations and fails the ones it chooses. Give the
	// same FailCount to both ends to count their operations together.
	Fail *FailCount
	// Mode is how operations that can complete at once complete.
	Mode Mode
}

// Stream is one end of an in-memory connection made by [NewPair]; it is a net.AsyncStream.
// Writes never wait: what one end writes is buffered, without limit, until the other reads it.
// One read and one write may be outstanding at a time on each end; starting a second completes it
// with net.ErrInProgress. Its methods are safe for concurrent use.
type Stream struct {
	ex      executor.Executor
	mu      *sync.Mutex // shared by both ends: a write touches the peer's buffer
	peer    *Stream
	opts    Options
	service func() // s.serve, bound once so scheduling a step allocates nothing

	// Guarded by mu.
	in        []byte // bytes the peer wrote (or Append added), unread from inOff on
	inOff     int
	closed    bool
	rclosed   bool // Shutdown(net.ShutdownRead): reads end with io.EOF
	wclosed   bool // Shutdown(net.ShutdownWrite): the peer reads io.EOF after what was written
	scheduled bool // a serve step is posted and has not yet started
	rd, wr    op
}

// op is the one read or write of an end that may be outstanding. It lives in the Stream, so
// starting and completing an operation allocates nothing.
type op struct {
	s       *Stream
	write   bool
	deliver func() // o.complete, bound once

	// Guarded by s.mu.
	busy      bool // started and its handler not yet called
	pending   bool // waiting for a serve step to settle its result
	gen       uint64
	b         []byte
	bufs      [][]byte // a gather write's buffers, instead of b; the caller's, never modified
	h         completion.Handler[net.IOResult]
	work      completion.Work // on s.ex and the handler's executor, until the handler has run
	res       net.IOResult
	cancelErr error       // set by the handler's context ending while pending
	stop      func() bool // disarms the context's cancellation; nil without a context
}

// NewPair returns the two ends of a connection whose operations complete on ex (on their
// handlers' associated executors, when they have one), a configuring the first and b the second.
func NewPair(ex executor.Executor, a, b Options) (*Stream, *Stream) {
	mu := new(sync.Mutex)
	sa := newStream(ex, mu, a)
	sb := newStream(ex, mu, b)
	sa.peer, sb.peer = sb, sa
	return sa, sb
}

func newStream(ex executor.Executor, mu *sync.Mutex, opts Options) *Stream {
	s := &Stream{ex: ex, mu: mu, opts: opts}
	s.service = s.serve
	s.rd = op{s: s}
	s.wr = op{s: s, write: true}
	s.rd.deliver = s.rd.complete
	s.wr.deliver = s.wr.complete
	return s
}

// Executor returns the executor the end's operations complete on when their handlers have none.
func (s *Stream) Executor() executor.Executor { return s.ex }

// Remote returns the other end.
func (s *Stream) Remote() *Stream { return s.peer }

// AsyncReadSome reads at most len(b) bytes (and at most Options.ReadSize) of what the peer wrote,
// waiting for the peer to write if nothing is buffered. When the peer has closed and everything it
// wrote has been read, it completes with io.EOF.
func (s *Stream) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	s.start(&s.rd, b, nil, h)
}

// AsyncWriteSome writes at most len(b) bytes (and at most Options.WriteSize) for the peer to read.
// After the peer has closed it completes with io.ErrClosedPipe.
func (s *Stream) AsyncWriteSome(b []byte, h completion.Handler[net.IOResult]) {
	s.start(&s.wr, b, nil, h)
}

// AsyncWriteSomeBuffers writes at most Options.WriteSize bytes of the concatenation of bufs (all
// of it when there is no limit) for the peer to read, as one operation: a FailCount counts it
// once. It never modifies bufs or the slices in it. After the peer has closed it completes with
// io.ErrClosedPipe.
func (s *Stream) AsyncWriteSomeBuffers(bufs [][]byte, h completion.Handler[net.IOResult]) {
	s.start(&s.wr, nil, bufs, h)
}

// Close closes this end: a read or write pending on it completes with
// completion.ErrOperationAborted, later ones with ErrClosed, and what was written to it and not
// read is dropped. The peer reads what this end wrote and then io.EOF, and its writes fail with
// io.ErrClosedPipe. A second Close returns ErrClosed.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.in, s.inOff = nil, 0
	s.unlockAndKick()
	return nil
}

// unlockAndKick releases mu, then posts a serve step to each end that has an operation waiting
// for what the caller changed (a close, a shutdown).
func (s *Stream) unlockAndKick() {
	self := s.kickIfPending()
	peer := s.peer.kickIfPending()
	s.mu.Unlock()
	s.post(self)
	s.peer.post(peer)
}

// Shutdown ends one direction of this end, or both, as a TCP socket's shutdown does, and leaves
// the end open for the other (Close still releases it):
//
//   - net.ShutdownWrite: the peer reads what this end wrote and then io.EOF; this end's later
//     writes fail with io.ErrClosedPipe, and a write still pending completes with
//     completion.ErrOperationAborted. It is the half-close that protocols end with (a WebSocket
//     or TLS closing handshake, then reading until EOF).
//   - net.ShutdownRead: this end's reads, pending and later, complete with io.EOF; what the peer
//     wrote and writes is dropped.
//   - net.ShutdownBoth: both.
//
// Shutdown after Close returns ErrClosed; shutting a direction down twice does nothing.
func (s *Stream) Shutdown(how net.ShutdownHow) error {
	if how != net.ShutdownRead && how != net.ShutdownWrite && how != net.ShutdownBoth {
		return fmt.Errorf("nettest: Shutdown(%d): no such direction", how)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if how != net.ShutdownWrite {
		s.rclosed = true
		s.in, s.inOff = nil, 0
	}
	if how != net.ShutdownRead {
		s.wclosed = true
	}
	s.unlockAndKick()
	return nil
}

// Append adds b to the bytes this end has to read, as if the peer had written it, without an
// operation (nothing is counted by a FailCount): the way to give an end its input up front. It
// does nothing on a closed end.
func (s *Stream) Append(b []byte) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.appendLocked(b)
	kick := s.kickIfPending()
	s.mu.Unlock()
	s.post(kick)
}

// Unread returns a copy of the bytes this end has to read: what the peer wrote that no read has
// taken yet.
func (s *Stream) Unread() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.in[s.inOff:]...)
}

// start is the initiating function of both operations: it settles the result at once when it can
// (Immediate mode, or a result that needs no I/O) and posts the handler, and otherwise leaves the
// operation pending for a serve step.
func (s *Stream) start(o *op, b []byte, bufs [][]byte, h completion.Handler[net.IOResult]) {
	hex, ctx := completion.Associated(h, s.ex)
	s.mu.Lock()
	if o.busy {
		s.mu.Unlock()
		s.reject(h, hex, net.ErrInProgress)
		return
	}
	o.busy, o.b, o.bufs, o.h = true, b, bufs, h
	o.work = completion.StartWork(s.ex, hex)
	o.gen++
	settled, kickPeer, kickSelf := true, false, false
	switch {
	case o.fail():
	case ctx != nil && ctx.Err() != nil:
		o.res = net.IOResult{Err: completion.Canceled(ctx)}
	case s.closed:
		o.res = net.IOResult{Err: ErrClosed}
	case o.write && s.wclosed:
		o.res = net.IOResult{Err: io.ErrClosedPipe}
	case !o.write && s.rclosed:
		o.res = net.IOResult{Err: io.EOF}
	case len(b) == 0 && totalLen(bufs) == 0:
		o.res = net.IOResult{}
	case s.opts.Mode == Immediate && s.ready(o):
		kickPeer = s.perform(o)
	default:
		settled = false
		o.pending = true
		if ctx != nil && ctx.Done() != nil {
			gen := o.gen
			o.stop = completion.OnCancel(h, s.ex, func(err error) { s.cancel(o, gen, err) })
		}
		kickSelf = s.opts.Mode == Later && s.kick()
	}
	s.mu.Unlock()
	s.peer.post(kickPeer)
	s.post(kickSelf)
	if settled {
		hex.Post(o.deliver)
	}
}

// fail applies the end's FailCount to o, reporting whether it failed it.
func (o *op) fail() bool {
	if err := o.s.opts.Fail.next(); err != nil {
		o.res = net.IOResult{Err: err}
		return true
	}
	return false
}

// ready reports whether a pending o can settle with I/O now: a read when there are bytes to read
// or none will come, a write always (writes never wait).
func (s *Stream) ready(o *op) bool {
	return o.write || s.inOff < len(s.in) || s.peer.closed || s.peer.wclosed || s.rclosed
}

// perform moves the bytes of a ready o and sets its result. It reports whether the peer has a
// read pending that the bytes written may settle.
func (s *Stream) perform(o *op) (kickPeer bool) {
	if o.write {
		if s.peer.closed {
			o.res = net.IOResult{Err: io.ErrClosedPipe}
			return false
		}
		if o.bufs != nil {
			o.res = net.IOResult{N: s.peer.appendBuffers(o.bufs, s.opts.WriteSize)}
			return s.peer.kickIfPending()
		}
		n := limit(len(o.b), s.opts.WriteSize)
		if !s.peer.rclosed {
			s.peer.appendLocked(o.b[:n])
		}
		o.res = net.IOResult{N: n}
		return s.peer.kickIfPending()
	}
	if s.rclosed || s.inOff == len(s.in) { // shut down, or nothing left and the peer is done
		o.res = net.IOResult{Err: io.EOF}
		return false
	}
	n := copy(o.b[:limit(len(o.b), s.opts.ReadSize)], s.in[s.inOff:])
	s.inOff += n
	if s.inOff == len(s.in) {
		s.in, s.inOff = s.in[:0], 0
	}
	o.res = net.IOResult{N: n}
	return false
}

// limit returns n cut to max, when max is set.
func limit(n, max int) int {
	if max > 0 && n > max {
		return max
	}
	return n
}

// appendLocked adds b to the bytes s has to read, moving the unread ones to the front first when
// that makes room: a reader that keeps up keeps the buffer at its size.
func (s *Stream) appendLocked(b []byte) {
	if s.inOff > 0 && cap(s.in)-len(s.in) < len(b) {
		s.in = s.in[:copy(s.in, s.in[s.inOff:])]
		s.inOff = 0
	}
	s.in = append(s.in, b...)
}

// appendBuffers adds at most max bytes (0: no limit) of the concatenation of bufs to the bytes s
// has to read (none if s is shut down for reading), and returns how many it took.
func (s *Stream) appendBuffers(bufs [][]byte, max int) int {
	n := limit(totalLen(bufs), max)
	left := n
	for _, b := range bufs {
		if left == 0 {
			break
		}
		b = b[:min(len(b), left)]
		if !s.rclosed {
			s.appendLocked(b)
		}
		left -= len(b)
	}
	return n
}

// totalLen returns the length of the concatenation of bufs.
func totalLen(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		n += len(b)
	}
	return n
}

// kick reports whether the caller must post a serve step: true unless one is already posted.
func (s *Stream) kick() bool {
	if s.scheduled {
		return false
	}
	s.scheduled = true
	return true
}

// kickIfPending is kick for an end that has an operation waiting for what just changed.
func (s *Stream) kickIfPending() bool {
	return (s.rd.pending || s.wr.pending) && s.kick()
}

// post posts a serve step if kick said to. Called without mu held: an executor may run the step
// before Post returns.
func (s *Stream) post(kick bool) {
	if kick {
		s.ex.Post(s.service)
	}
}

// cancel runs on s.ex (completion.OnCancel posts it there) when the context of a pending
// operation ends. gen tells whether o is still the operation that armed it.
func (s *Stream) cancel(o *op, gen uint64, err error) {
	s.mu.Lock()
	if o.gen != gen || !o.pending {
		s.mu.Unlock()
		return
	}
	o.cancelErr = err
	s.mu.Unlock()
	s.serve()
}

// serve is the step that settles pending operations: it runs on s.ex and dispatches each settled
// handler to its executor, as a reactor does when a socket becomes ready.
func (s *Stream) serve() {
	var done [2]*op
	s.mu.Lock()
	s.scheduled = false
	kickPeer := false
	for i, o := range [2]*op{&s.rd, &s.wr} {
		if !o.pending {
			continue
		}
		switch {
		case o.cancelErr != nil:
			o.res = net.IOResult{Err: o.cancelErr}
		case s.closed, o.write && s.wclosed:
			o.res = net.IOResult{Err: completion.ErrOperationAborted}
		case s.ready(o):
			kickPeer = s.perform(o) || kickPeer
		default:
			continue
		}
		o.pending = false
		o.cancelErr = nil
		if o.stop != nil {
			o.stop() // false means the cancel is on its way; it will find o settled
			o.stop = nil
		}
		done[i] = o
	}
	s.mu.Unlock()
	s.peer.post(kickPeer)
	for _, o := range done {
		if o != nil {
			o.work.Handler().Dispatch(o.deliver)
		}
	}
}

// complete calls the handler with the settled result and releases the operation's work. The
// operation is free again before the handler runs, so the handler may start the next one.
func (o *op) complete() {
	s := o.s
	s.mu.Lock()
	h, res, work := o.h, o.res, o.work
	o.busy, o.b, o.bufs, o.h, o.work, o.res = false, nil, nil, nil, completion.Work{}, net.IOResult{}
	s.mu.Unlock()
	h.Complete(res)
	work.Finish()
}

// reject completes an operation that cannot start with err, posted, holding work until then.
func (s *Stream) reject(h completion.Handler[net.IOResult], hex executor.Executor, err error) {
	w := completion.StartWork(s.ex, hex)
	hex.Post(func() {
		h.Complete(net.IOResult{Err: err})
		w.Finish()
	})
}

var (
	_ net.AsyncStream             = (*Stream)(nil)
	_ net.AsyncBuffersWriteStream = (*Stream)(nil)
)
