//go:build !linux || beastgo_portable

package net

import (
	"context"
	"errors"
	stdnet "net"
	"net/netip"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// TCPAcceptor listens for TCP connections: Asio's ip::tcp::acceptor.
//
// This is the portable path (see [TCPSocket]): a *net.TCPListener of Go's net package, whose
// blocking Accept runs on a goroutine while an accept is pending. Close stops that goroutine and
// waits for it, so an acceptor that listened must be closed. Cancel cannot interrupt the Accept
// (Go's net package would have to close the listener): it completes the pending accept with
// completion.ErrOperationAborted at once and leaves the goroutine waiting, and the connection it
// then accepts is kept for the next AsyncAccept, so none is lost.
//
// Close is final, as on the Linux path: after it Listen, AsyncAccept and Close fail with a
// *net.OpError matching Go's net.ErrClosed, and Addr still reports the address it listened on.
type TCPAcceptor struct {
	ex executor.Executor

	mu      sync.Mutex
	ln      *stdnet.TCPListener // nil until Listen
	addr    netip.AddrPort
	closed  bool           // Close was called: final
	pend    *pendingAccept // the AsyncAccept waiting for a connection, if any
	running bool           // the accept goroutine is in Accept
	done    chan struct{}  // closed when the accept goroutine returns
	// What the accept goroutine got while no AsyncAccept was pending, for the next one.
	ready    *stdnet.TCPConn
	readyErr error
}

// pendingAccept is an AsyncAccept waiting for a connection.
type pendingAccept struct {
	h    completion.Handler[AcceptResult]
	work completion.Work   // on the acceptor's executor and the handler's, until the handler has run
	ex   executor.Executor // the accepted socket's
	stop func() bool       // disarms the handler's context
}

// NewTCPAcceptor returns an acceptor whose operations complete on ex.
func NewTCPAcceptor(ex executor.Executor) *TCPAcceptor { return &TCPAcceptor{ex: ex} }

// Listen binds to addr (port 0 picks a free one; see Addr) and listens. Go's net package sets
// SO_REUSEADDR on Unix systems, as Asio's acceptor does by default, and always listens with the
// system's maximum backlog: backlog is ignored on this path. An IPv4 address listens on IPv4 only,
// an IPv6 one as the system does by default (both IPv6 and IPv4 for [::] on most systems), as on
// the Linux path.
func (a *TCPAcceptor) Listen(addr netip.AddrPort, backlog int) error {
	network := "tcp"
	if addr.Addr().Unmap().Is4() {
		// Go's "tcp" would listen on [::] for 0.0.0.0.
		network = "tcp4"
		addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.closed:
		return closedError("listen", addr)
	case a.ln != nil:
		return ErrListening
	}
	// Keep-alive stays off on accepted connections, as on the Linux path, until SetKeepAlive.
	lc := stdnet.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), network, addr.String())
	if err != nil {
		var op *stdnet.OpError
		if errors.As(err, &op) {
			op.Net = "tcp" // "tcp4" is how this path asks Go for IPv4 alone; the socket is TCP's
		}
		return err
	}
	tl := ln.(*stdnet.TCPListener)
	a.ln, a.addr = tl, tl.Addr().(*stdnet.TCPAddr).AddrPort()
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
	ctx := completion.AssociatedContext(h)
	a.mu.Lock()
	var err error
	switch {
	case a.closed:
		err = closedError("accept", a.addr)
	case a.ln == nil:
		err = ErrNotConnected
	case a.pend != nil:
		err = ErrInProgress
	case ctx != nil && ctx.Err() != nil:
		err = completion.Canceled(ctx)
	}
	if err != nil {
		a.mu.Unlock()
		postResult(a.ex, h, AcceptResult{Err: err})
		return
	}
	p := &pendingAccept{h: h, ex: ex, work: completion.StartWork(a.ex, completion.AssociatedExecutor(h, a.ex))}
	if a.ready != nil || a.readyErr != nil {
		// The goroutine accepted a connection after an accept was cancelled.
		conn, err := a.ready, a.readyErr
		a.ready, a.readyErr = nil, nil
		a.mu.Unlock()
		a.deliver(p, conn, err)
		return
	}
	a.pend = p
	if ctx != nil && ctx.Done() != nil {
		p.stop = context.AfterFunc(ctx, func() { a.abort(p, completion.Canceled(ctx)) })
	}
	if !a.running {
		a.running = true
		a.done = make(chan struct{})
		go a.accept(a.ln, a.done)
	}
	a.mu.Unlock()
}

// accept is the accept goroutine: one Accept, whose result goes to the pending AsyncAccept, or
// waits for the next one if there is none (it was cancelled).
func (a *TCPAcceptor) accept(ln *stdnet.TCPListener, done chan struct{}) {
	defer close(done)
	conn, err := ln.AcceptTCP()
	a.mu.Lock()
	a.running = false
	p := a.pend
	a.pend = nil
	if p == nil {
		if a.closed {
			a.mu.Unlock()
			if conn != nil {
				conn.Close()
			}
			return
		}
		a.ready, a.readyErr = conn, err
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	p.disarm()
	a.deliver(p, conn, err)
}

// deliver completes p with the connection, as a socket on p's executor, or the error; posted.
func (a *TCPAcceptor) deliver(p *pendingAccept, conn *stdnet.TCPConn, err error) {
	var res AcceptResult
	if err != nil {
		res.Err = err
	} else {
		res.Socket = newTCPSocketFromConn(conn, p.ex)
	}
	a.complete(p, res)
}

// complete posts p's handler with res and releases p's work when it has run.
func (a *TCPAcceptor) complete(p *pendingAccept, res AcceptResult) {
	p.work.Handler().Post(func() {
		p.h.Complete(res)
		p.work.Finish()
	})
}

func (p *pendingAccept) disarm() {
	if p.stop != nil {
		p.stop()
	}
}

// abort completes p with err if it is still pending, and reports whether it was.
func (a *TCPAcceptor) abort(p *pendingAccept, err error) bool {
	a.mu.Lock()
	if a.pend != p {
		a.mu.Unlock()
		return false
	}
	a.pend = nil
	a.mu.Unlock()
	p.disarm()
	a.complete(p, AcceptResult{Err: err})
	return true
}

// Cancel completes a pending accept with completion.ErrOperationAborted. The connection the
// acceptor's goroutine accepts next is kept for the next AsyncAccept (see [TCPAcceptor]).
func (a *TCPAcceptor) Cancel() int {
	a.mu.Lock()
	p := a.pend
	a.mu.Unlock()
	if p == nil || !a.abort(p, completion.ErrOperationAborted) {
		return 0
	}
	return 1
}

// Close stops listening, for good; a pending accept completes with
// completion.ErrOperationAborted. It waits for the acceptor's goroutine to return.
func (a *TCPAcceptor) Close() error {
	a.mu.Lock()
	if a.closed {
		addr := a.addr
		a.mu.Unlock()
		return closedError("close", addr)
	}
	a.closed = true
	if a.ln == nil {
		a.mu.Unlock()
		return nil
	}
	p, ready := a.pend, a.ready
	a.pend, a.ready, a.readyErr = nil, nil, nil
	ln, running, done := a.ln, a.running, a.done
	a.mu.Unlock()
	err := ln.Close()
	if running {
		<-done // Accept returns at once on a closed listener
	}
	if ready != nil {
		ready.Close()
	}
	if p != nil {
		p.disarm()
		a.complete(p, AcceptResult{Err: completion.ErrOperationAborted})
	}
	return err
}
