//go:build linux && !beastgo_portable

package net

import (
	stdnet "net"
	"net/netip"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// TCPAcceptor listens for TCP connections: Asio's ip::tcp::acceptor. Close is final: after it
// Listen, AsyncAccept and Close fail with an error matching net.ErrClosed of Go's net package, and
// Addr still reports the address it listened on.
type TCPAcceptor struct {
	ex     executor.Executor
	mu     sync.Mutex
	d      *descriptor
	addr   netip.AddrPort
	closed bool
}

// NewTCPAcceptor returns an acceptor whose operations complete on ex.
func NewTCPAcceptor(ex executor.Executor) *TCPAcceptor { return &TCPAcceptor{ex: ex} }

// Listen binds to addr (port 0 picks a free one; see Addr) with SO_REUSEADDR, as Asio's acceptor
// does by default, and listens with the given backlog (0: the system's maximum).
func (a *TCPAcceptor) Listen(addr netip.AddrPort, backlog int) error {
	a.mu.Lock()
	listening, closed := a.d != nil, a.closed
	a.mu.Unlock()
	listenError := func(err error) error { return opError("listen", netip.AddrPort{}, addr, err) }
	switch {
	case closed:
		return listenError(stdnet.ErrClosed)
	case listening:
		return ErrListening
	}
	sa, family := toSockaddr(addr)
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return listenError(os.NewSyscallError("socket", err))
	}
	fail := func(call string, err error) error {
		unix.Close(fd)
		return listenError(os.NewSyscallError(call, err))
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if backlog <= 0 {
		backlog = unix.SOMAXCONN
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	d, err := newDescriptor(fd, a.ex, fromSockaddr(bound))
	if err != nil {
		unix.Close(fd)
		return listenError(err)
	}
	a.mu.Lock()
	if a.closed || a.d != nil { // Close, or another Listen, came in the meantime
		closed := a.closed
		a.mu.Unlock()
		d.close()
		if closed {
			return listenError(stdnet.ErrClosed)
		}
		return ErrListening
	}
	a.d, a.addr = d, fromSockaddr(bound)
	a.mu.Unlock()
	return nil
}

// Addr returns the address the acceptor listens on.
func (a *TCPAcceptor) Addr() netip.AddrPort {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.addr
}

// AsyncAccept waits for a connection and completes h with a socket bound to ex (the acceptor's
// executor when ex is nil). One accept may be pending at a time.
func (a *TCPAcceptor) AsyncAccept(ex executor.Executor, h completion.Handler[AcceptResult]) {
	if ex == nil {
		ex = a.ex
	}
	a.mu.Lock()
	d, closed := a.d, a.closed
	a.mu.Unlock()
	if d == nil {
		err := ErrNotConnected
		if closed {
			err = opError("accept", netip.AddrPort{}, a.Addr(), stdnet.ErrClosed)
		}
		postResult(a.ex, h, AcceptResult{Err: err})
		return
	}
	hex, ctx := completion.Associated(h, a.ex)
	d.mu.Lock()
	if err := d.read.begin(opAccept, hex); err != nil {
		d.mu.Unlock()
		postResult(a.ex, h, AcceptResult{Err: err})
		return
	}
	if d.read.acc == nil {
		d.read.acc = new(acceptState)
	}
	d.read.acc.h, d.read.acc.ex = h, ex
	d.read.start(ctx)
}

// Cancel completes a pending accept with completion.ErrOperationAborted.
func (a *TCPAcceptor) Cancel() int {
	a.mu.Lock()
	d := a.d
	a.mu.Unlock()
	if d == nil {
		return 0
	}
	return d.cancel()
}

// Close stops listening; a pending accept completes with completion.ErrOperationAborted.
func (a *TCPAcceptor) Close() error {
	a.mu.Lock()
	if a.closed {
		addr := a.addr
		a.mu.Unlock()
		return opError("close", netip.AddrPort{}, addr, stdnet.ErrClosed)
	}
	a.closed = true
	d := a.d
	a.mu.Unlock()
	if d == nil {
		return nil
	}
	return d.close()
}
