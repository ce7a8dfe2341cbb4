//go:build linux && !beastgo_portable

package net

import (
	stdnet "net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// TCPSocket is a TCP connection served by the reactor of its executor: Asio's ip::tcp::socket. It
// satisfies [AsyncStream]. One read and one write may be pending at once; a second read (or write)
// started while one is pending completes with [ErrInProgress]. Its methods may be called from any
// goroutine.
//
// This is the Linux reactor path. Off Linux, and on Linux with the beastgo_portable build tag, the
// same API runs over Go's net package with goroutines (docs/net.md, "The portable path").
//
// Close is final: after it every method fails with an error matching net.ErrClosed of Go's net
// package, and none acts on the descriptor number, which the kernel may have given to another
// socket. A method racing Close either completes on the socket's own descriptor or fails so.
type TCPSocket struct {
	ex executor.Executor
	// d is nil until connected or accepted, and replaced by a new connect. Atomic rather than
	// under a mutex: every read and write loads it, and a lock pair would be 2% of a round trip.
	d atomic.Pointer[descriptor]

	mu     sync.Mutex // orders Close with AsyncConnect's replacement of d
	closed bool       // Close was called; under mu
}

// NewTCPSocket returns an unconnected socket whose operations complete on ex (when their handlers
// have no executor of their own).
func NewTCPSocket(ex executor.Executor) *TCPSocket { return &TCPSocket{ex: ex} }

// newTCPSocketFromFD makes a socket of fd, a connection to raddr (if known).
func newTCPSocketFromFD(fd int, ex executor.Executor, raddr netip.AddrPort) (*TCPSocket, error) {
	s := &TCPSocket{ex: ex}
	if err := setDefaultOptions(fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	d, err := newDescriptor(fd, ex, raddr)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	s.d.Store(d)
	return s, nil
}

// setDefaultOptions turns Nagle's algorithm off, as Go's net package does: Nagle meeting delayed
// ACKs turns a request-response exchange into a few dozen round trips a second.
func setDefaultOptions(fd int) error {
	return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1))
}

// Executor returns the socket's executor.
func (s *TCPSocket) Executor() executor.Executor { return s.ex }

func (s *TCPSocket) descriptor() *descriptor { return s.d.Load() }

// open returns the socket's descriptor, or the error of op on a socket that has none: closed, or
// not yet connected.
func (s *TCPSocket) open(op string) (*descriptor, error) {
	if d := s.d.Load(); d != nil {
		return d, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, opError(op, netip.AddrPort{}, netip.AddrPort{}, stdnet.ErrClosed)
	}
	return nil, ErrNotConnected
}

// AsyncConnect connects the socket to addr and completes h with nil or the error (a
// *net.OpError; errors.Is(err, syscall.ECONNREFUSED) for a refused connection). A socket that is
// already open is closed first, as Asio does; a socket closed by Close stays closed.
func (s *TCPSocket) AsyncConnect(addr netip.AddrPort, h completion.Handler[error]) {
	dialError := func(err error) error { return opError("dial", netip.AddrPort{}, addr, err) }
	if s.isClosed() {
		postResult(s.ex, h, dialError(stdnet.ErrClosed))
		return
	}
	sa, family := toSockaddr(addr)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		postResult(s.ex, h, dialError(os.NewSyscallError("socket", err)))
		return
	}
	ns, err := newTCPSocketFromFD(fd, s.ex, addr)
	if err != nil {
		postResult(s.ex, h, dialError(err))
		return
	}
	d := ns.d.Load()
	s.mu.Lock()
	if s.closed { // Close came in the meantime
		s.mu.Unlock()
		d.close()
		postResult(s.ex, h, dialError(stdnet.ErrClosed))
		return
	}
	old := s.d.Swap(d)
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	hex, ctx := completion.Associated(h, s.ex)
	d.mu.Lock()
	if err := d.write.begin(opConnect, hex); err != nil {
		d.mu.Unlock()
		postResult(s.ex, h, err)
		return
	}
	d.write.h = h
	err = ignoringEINTRErr(func() error { return unix.Connect(fd, sa) })
	if err == unix.EINPROGRESS {
		d.write.start(ctx) // perform waits until writable
		return
	}
	if err != nil {
		d.write.res = IOResult{Err: d.opError("dial", os.NewSyscallError("connect", err))}
	} else {
		d.write.res = IOResult{}
	}
	d.mu.Unlock()
	d.ex.Post(d.write.immediate())
}

func (s *TCPSocket) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func ignoringEINTRErr(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}

// AsyncReadSome reads at least one byte into b and completes h with how many; io.EOF when the
// peer has shut down its sending side. The read is tried at once; only if no data is there does
// it wait in the reactor.
func (s *TCPSocket) AsyncReadSome(b []byte, h completion.Handler[IOResult]) {
	s.startIO(opRead, b, nil, h)
}

// AsyncWaitRead completes h with nil once a read would not wait (see [AsyncReadWaiter]): data has
// arrived, the peer has shut down its sending side, or the connection has failed. It reads
// nothing, and it holds no buffer while it waits. Asio's async_wait(wait_read).
func (s *TCPSocket) AsyncWaitRead(h completion.Handler[error]) {
	d := s.descriptor()
	if d == nil {
		_, err := s.open("wait")
		postResult(s.ex, h, err)
		return
	}
	hex, ctx := completion.Associated(h, s.ex)
	d.mu.Lock()
	if err := d.read.begin(opWaitRead, hex); err != nil {
		d.mu.Unlock()
		postResult(s.ex, h, err)
		return
	}
	d.read.h = h
	d.read.start(ctx)
}

// AsyncWriteSome writes at least one byte of b and completes h with how many.
func (s *TCPSocket) AsyncWriteSome(b []byte, h completion.Handler[IOResult]) {
	s.startIO(opWrite, b, nil, h)
}

// maxGatherBuffers is the most buffers one gather write passes to the kernel; the rest are left
// for the next call.
const maxGatherBuffers = 64

// gatherStates holds the iovec arrays of gather writes not in flight: about 1 KiB each, which a
// socket holds only while its gather write is in flight, so that an idle connection keeps none.
var gatherStates = sync.Pool{New: func() any { return new(gatherState) }}

// AsyncWriteSomeBuffers writes at least one byte of the concatenation of bufs, unless all are
// empty or an error occurs, and completes h with how many in all: a gather write, with one
// sendmsg(2) (the socket call's writev(2)) for the first 64 non-empty buffers, the rest left for
// the next call as a short write leaves the end of a buffer. It never modifies bufs or the slices
// in it, which must stay untouched until h runs. All buffers empty completes at once (posted) with
// N == 0. It is the write direction's one operation, as AsyncWriteSome is, with the same rules
// for cancellation, Close and errors, and allocates nothing per call once a pool has iovec arrays
// to lend: the socket holds one only while the write is in flight.
func (s *TCPSocket) AsyncWriteSomeBuffers(bufs [][]byte, h completion.Handler[IOResult]) {
	s.startIO(opWriteBuffers, nil, bufs, h)
}

// asyncWriteAll is AsyncWrite on the socket: the write direction's one operation, kept pending
// until all of b has gone, so that it costs what one AsyncWriteSome does rather than a composed
// operation's steps around it.
func (s *TCPSocket) asyncWriteAll(b []byte, h completion.Handler[IOResult]) {
	s.startIO(opWriteAll, b, nil, h)
}

func (s *TCPSocket) startIO(kind opKind, b []byte, bufs [][]byte, h completion.Handler[IOResult]) {
	d := s.descriptor()
	if d == nil {
		_, err := s.open(kind.name())
		postResult(s.ex, h, IOResult{Err: err})
		return
	}
	o := &d.read
	if kind != opRead {
		o = &d.write
	}
	hex, ctx := completion.Associated(h, s.ex)
	d.mu.Lock()
	if err := o.begin(kind, hex); err != nil {
		d.mu.Unlock()
		postResult(s.ex, h, IOResult{Err: err})
		return
	}
	o.b, o.h = b, h
	o.res = IOResult{} // opWriteAll counts what has gone in it
	if kind == opWriteBuffers {
		o.gather = gatherStates.Get().(*gatherState)
		o.gather.bufs = bufs
	}
	o.start(ctx)
}

// ShutdownHow's values are shutdown(2)'s: these indexes fail to compile if they are not.
var _ = func() {
	var x [1]struct{}
	_ = x[ShutdownRead-unix.SHUT_RD]
	_ = x[ShutdownWrite-unix.SHUT_WR]
	_ = x[ShutdownBoth-unix.SHUT_RDWR]
}

// Shutdown ends one or both directions of the connection: after ShutdownWrite the peer reads
// io.EOF once it has read everything sent before.
func (s *TCPSocket) Shutdown(how ShutdownHow) error {
	d, err := s.open("shutdown")
	if err != nil {
		return err
	}
	return d.use("shutdown", func(fd int) error {
		return os.NewSyscallError("shutdown", unix.Shutdown(fd, int(how)))
	})
}

// Cancel completes every pending operation of the socket with completion.ErrOperationAborted and
// reports how many it cancelled.
func (s *TCPSocket) Cancel() int {
	d := s.descriptor()
	if d == nil {
		return 0
	}
	return d.cancel()
}

// Close cancels the pending operations (they complete with completion.ErrOperationAborted) and
// closes the socket. Later operations, and Close again, fail with net.ErrClosed.
func (s *TCPSocket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return opError("close", netip.AddrPort{}, netip.AddrPort{}, stdnet.ErrClosed)
	}
	s.closed = true
	d := s.d.Load()
	s.mu.Unlock()
	if d == nil {
		return nil
	}
	return d.close()
}

// LocalAddr returns the socket's local address.
func (s *TCPSocket) LocalAddr() (netip.AddrPort, error) {
	return s.addr(unix.Getsockname, "getsockname")
}

// RemoteAddr returns the address of the socket's peer.
func (s *TCPSocket) RemoteAddr() (netip.AddrPort, error) {
	return s.addr(unix.Getpeername, "getpeername")
}

func (s *TCPSocket) addr(get func(int) (unix.Sockaddr, error), name string) (netip.AddrPort, error) {
	d, err := s.open(name)
	if err != nil {
		return netip.AddrPort{}, err
	}
	var sa unix.Sockaddr
	err = d.use(name, func(fd int) error {
		var err error
		sa, err = get(fd)
		return os.NewSyscallError(name, err)
	})
	if err != nil {
		return netip.AddrPort{}, err
	}
	return fromSockaddr(sa), nil
}

// SetNoDelay turns Nagle's algorithm off (true, the default) or on.
func (s *TCPSocket) SetNoDelay(on bool) error {
	return s.setBool(unix.IPPROTO_TCP, unix.TCP_NODELAY, on)
}

// SetKeepAlive turns TCP keep-alive probes on or off.
func (s *TCPSocket) SetKeepAlive(on bool) error {
	return s.setBool(unix.SOL_SOCKET, unix.SO_KEEPALIVE, on)
}

// SetReadBuffer sets the kernel's receive buffer size.
func (s *TCPSocket) SetReadBuffer(bytes int) error {
	return s.setInt(unix.SOL_SOCKET, unix.SO_RCVBUF, bytes)
}

// SetWriteBuffer sets the kernel's send buffer size.
func (s *TCPSocket) SetWriteBuffer(bytes int) error {
	return s.setInt(unix.SOL_SOCKET, unix.SO_SNDBUF, bytes)
}

// NoDelay reports whether Nagle's algorithm is off.
func (s *TCPSocket) NoDelay() (bool, error) {
	d, err := s.open("get")
	if err != nil {
		return false, err
	}
	var v int
	err = d.use("get", func(fd int) error {
		var err error
		v, err = unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
		return os.NewSyscallError("getsockopt", err)
	})
	return v != 0, err
}

func (s *TCPSocket) setBool(level, opt int, on bool) error {
	v := 0
	if on {
		v = 1
	}
	return s.setInt(level, opt, v)
}

func (s *TCPSocket) setInt(level, opt, v int) error {
	d, err := s.open("set")
	if err != nil {
		return err
	}
	return d.use("set", func(fd int) error {
		return os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, level, opt, v))
	})
}

var (
	_ AsyncStream             = (*TCPSocket)(nil)
	_ AsyncBuffersWriteStream = (*TCPSocket)(nil)
)
