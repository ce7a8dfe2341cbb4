package net_test

// Black-box tests of Close (docs/net.md, "A descriptor's lifetime"; TCPSocket and TCPAcceptor
// docs): Close is final, every later method fails with a *net.OpError matching net.ErrClosed,
// none acts on a descriptor number the kernel has handed to a new socket, and a method racing
// Close either completes on the socket's own descriptor or fails so.

import (
	"errors"
	"io"
	stdnet "net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// bbFreshConns opens n new connections (Go's net package on both ends) so that the kernel hands
// out the descriptor numbers just freed.
func bbFreshConns(t testing.TB, ln *stdnet.TCPListener, n int) [][2]*stdnet.TCPConn {
	t.Helper()
	out := make([][2]*stdnet.TCPConn, 0, n)
	for range n {
		c, err := stdnet.DialTCP("tcp", nil, ln.Addr().(*stdnet.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		p, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, [2]*stdnet.TCPConn{c, p})
	}
	return out
}

// bbEveryMethodClosed calls every method of a closed TCPSocket and checks each fails as
// documented. It returns the address LocalAddr reported (zero when it failed).
func bbEveryMethodClosed(t testing.TB, s *net.TCPSocket, connectTo netip.AddrPort) netip.AddrPort {
	t.Helper()
	buf := make([]byte, 16)
	if r := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(buf, h) }); true {
		bbWantClosed(t, "AsyncReadSome", r.Err)
		if r.N != 0 {
			t.Errorf("AsyncReadSome after Close read %d bytes", r.N)
		}
	}
	if r := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncWriteSome([]byte("X"), h) }); true {
		bbWantClosed(t, "AsyncWriteSome", r.Err)
		if r.N != 0 {
			t.Errorf("AsyncWriteSome after Close wrote %d bytes", r.N)
		}
	}
	if r := completion.Await(func(h completion.Handler[net.IOResult]) {
		s.AsyncWriteSomeBuffers([][]byte{[]byte("Y"), []byte("Z")}, h)
	}); true {
		bbWantClosed(t, "AsyncWriteSomeBuffers", r.Err)
		if r.N != 0 {
			t.Errorf("AsyncWriteSomeBuffers after Close wrote %d bytes", r.N)
		}
	}
	bbWantClosed(t, "AsyncConnect", completion.Await(func(h completion.Handler[error]) { s.AsyncConnect(connectTo, h) }))
	bbWantClosed(t, "Shutdown(ShutdownBoth)", s.Shutdown(net.ShutdownBoth))
	bbWantClosed(t, "Shutdown(ShutdownWrite)", s.Shutdown(net.ShutdownWrite))
	bbWantClosed(t, "SetNoDelay", s.SetNoDelay(false))
	bbWantClosed(t, "SetKeepAlive", s.SetKeepAlive(true))
	bbWantClosed(t, "SetReadBuffer", s.SetReadBuffer(4096))
	bbWantClosed(t, "SetWriteBuffer", s.SetWriteBuffer(4096))
	_, err := s.NoDelay()
	bbWantClosed(t, "NoDelay", err)
	_, err = s.RemoteAddr()
	bbWantClosed(t, "RemoteAddr", err)
	la, err := s.LocalAddr()
	bbWantClosed(t, "LocalAddr", err)
	if n := s.Cancel(); n != 0 {
		t.Errorf("Cancel after Close cancelled %d operations", n)
	}
	bbWantClosed(t, "Close", s.Close())
	// And AsyncConnect, the one method that opens a socket, has not reopened it.
	_, err = s.LocalAddr()
	bbWantClosed(t, "LocalAddr after AsyncConnect", err)
	return la
}

func TestBlackboxClosedSocketEveryMethodFailsAndLeavesReusedNumbersAlone(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	target := bbAddrPort(t, ln.Addr())
	for i := range 20 {
		s, peer := bbDialStd(t, r.ioc, ln)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// The peer sees EOF (our FIN), nothing else.
		var one [1]byte
		if n, err := peer.Read(one[:]); n != 0 || err == nil {
			t.Fatalf("peer of a closed socket read %d bytes, %v", n, err)
		}
		peer.Close()
		// Hand the freed numbers to new sockets: Go's, and beastgo's own.
		fresh := bbFreshConns(t, ln, 3)
		var mine []*net.TCPSocket
		var minePeers []*stdnet.TCPConn
		for range 2 {
			m, p := bbDialStd(t, r.ioc, ln)
			mine, minePeers = append(mine, m), append(minePeers, p)
		}
		la := bbEveryMethodClosed(t, s, target)
		// AsyncConnect after Close must not have connected: nothing is waiting in the backlog.
		// (Checked by the clean exchanges below: a stray connection would be accepted by nobody.)
		for j, c := range fresh {
			for _, end := range c {
				if a := bbAddrPort(t, end.LocalAddr()); a == la {
					t.Errorf("LocalAddr of a closed socket reported a new socket's address %v", a)
				}
			}
			bbCheckPeerClean(t, c[0], c[1], "fresh")
			c[0].Close()
			c[1].Close()
			_ = j
		}
		for j, m := range mine {
			if a, _ := m.LocalAddr(); a == la {
				t.Errorf("LocalAddr of a closed socket reported a new socket's address %v", a)
			}
			// The new beastgo socket must work normally: write, half-close, read the peer's
			// sentinel and EOF.
			w := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(m, []byte("hello"), h) })
			if w.Err != nil {
				t.Errorf("iteration %d: write on a new socket: %v", i, w.Err)
			}
			if err := m.Shutdown(net.ShutdownWrite); err != nil {
				t.Errorf("Shutdown on a new socket: %v", err)
			}
			got := make([]byte, 5)
			var all []byte
			go func() { minePeers[j].Write([]byte("world")); minePeers[j].CloseWrite() }()
			rr := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncRead(m, got, h) })
			all = append(all, got[:rr.N]...)
			if rr.Err != nil || string(all) != "world" {
				t.Errorf("read on a new socket: %q, %v", all, rr.Err)
			}
			rest := completion.Await(func(h completion.Handler[net.IOResult]) { m.AsyncReadSome(make([]byte, 8), h) })
			if !errors.Is(rest.Err, io.EOF) {
				t.Errorf("new socket after the peer's data: %d bytes, %v; want EOF", rest.N, rest.Err)
			}
			peerGot := make([]byte, 64)
			n, _ := io.ReadFull(minePeers[j], peerGot)
			if string(peerGot[:n]) != "hello" {
				t.Errorf("peer of a new socket read %q, want %q", peerGot[:n], "hello")
			}
			m.Close()
			minePeers[j].Close()
		}
		if t.Failed() {
			return
		}
	}
}

func TestBlackboxNeverConnectedSocketCloseIsFinal(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	s := net.NewTCPSocket(r.ioc)
	if err := s.Close(); err != nil && !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("Close of a socket never opened: %v", err)
	}
	bbEveryMethodClosed(t, s, bbAddrPort(t, ln.Addr()))
}

func TestBlackboxClosedAcceptorFailsEveryMethod(t *testing.T) {
	r := bbRun(t, 1)
	acc := net.NewTCPAcceptor(r.ioc)
	if err := acc.Listen(bbLoopback, 0); err != nil {
		t.Fatal(err)
	}
	addr := acc.Addr()
	pending := bbNewOnce[net.AcceptResult]()
	acc.AsyncAccept(nil, pending)
	if err := acc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if res := pending.wait(); !errors.Is(res.Err, completion.ErrOperationAborted) {
		t.Errorf("accept pending at Close completed with %v, want ErrOperationAborted", res.Err)
	}
	if res := completion.Await(func(h completion.Handler[net.AcceptResult]) { acc.AsyncAccept(nil, h) }); true {
		bbWantClosed(t, "AsyncAccept", res.Err)
		if res.Socket != nil {
			t.Errorf("AsyncAccept after Close returned a socket")
			res.Socket.Close()
		}
	}
	bbWantClosed(t, "Listen", acc.Listen(bbLoopback, 0))
	bbWantClosed(t, "Close", acc.Close())
	if n := acc.Cancel(); n != 0 {
		t.Errorf("Cancel after Close cancelled %d", n)
	}
	if got := acc.Addr(); got != addr {
		t.Errorf("Addr after Close = %v, want %v", got, addr)
	}
	// The port is free again: nothing of ours listens on it (Listen did not reopen).
	c, err := stdnet.DialTCP("tcp", nil, stdnet.TCPAddrFromAddrPort(addr))
	if err == nil {
		c.Close()
		// Someone else may have taken the port; only our acceptor reopening would be a bug, and
		// that shows as Listen succeeding above.
	}
	if pending.count() != 1 {
		t.Errorf("pending accept's handler ran %d times", pending.count())
	}
}

// Close racing each method from other goroutines, with fresh connections opened meanwhile so a
// method that lost the race and still used the number would hit another socket.
func TestBlackboxMethodsRacingCloseNeverTouchAReusedNumber(t *testing.T) {
	r := bbRun(t, 3)
	ln := bbStdListener(t)
	target := bbAddrPort(t, ln.Addr())
	iters := 60
	if testing.Short() {
		iters = 20
	}
	for range iters {
		s, peer := bbDialStd(t, r.ioc, ln)
		var handlers []*bbOnce[net.IOResult]
		var connectH = bbNewOnce[error]()
		for range 3 {
			handlers = append(handlers, bbNewOnce[net.IOResult]())
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var errsMu sync.Mutex
		var bad []string
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, stdnet.ErrClosed) {
				errsMu.Lock()
				bad = append(bad, what+": "+err.Error())
				errsMu.Unlock()
			}
		}
		var freshMu sync.Mutex
		var fresh [][2]*stdnet.TCPConn
		wg.Go(func() { <-start; check("Close", s.Close()) })
		wg.Go(func() {
			<-start
			check("SetNoDelay", s.SetNoDelay(true))
			check("SetKeepAlive", s.SetKeepAlive(false))
			check("SetReadBuffer", s.SetReadBuffer(1<<16))
			check("SetWriteBuffer", s.SetWriteBuffer(1<<16))
			_, err := s.NoDelay()
			check("NoDelay", err)
			_, err = s.LocalAddr()
			check("LocalAddr", err)
			_, err = s.RemoteAddr()
			check("RemoteAddr", err)
			s.Cancel()
		})
		wg.Go(func() {
			<-start
			s.AsyncReadSome(make([]byte, 8), handlers[0])
			s.AsyncWriteSome([]byte("racing-write"), handlers[1])
		})
		wg.Go(func() {
			<-start
			// Opening sockets while Close runs: the number may be reused at once.
			f := bbFreshConns(t, ln, 2)
			freshMu.Lock()
			fresh = append(fresh, f...)
			freshMu.Unlock()
			// Shutdown after those opened: if it lost the race to Close, it must not shut one of
			// them down.
			check("Shutdown", s.Shutdown(net.ShutdownBoth))
			s.AsyncWriteSomeBuffers([][]byte{[]byte("gather-"), []byte("write")}, handlers[2])
		})
		close(start)
		wg.Wait()
		// The socket may or may not be closed by now; it surely is after this.
		s.Close()
		for i, h := range handlers {
			res := h.wait()
			if res.Err != nil && !bbClosedOrAborted(res.Err) && !errors.Is(res.Err, net.ErrInProgress) && !errors.Is(res.Err, io.EOF) {
				// A write may also meet the peer's reaction to our Shutdown; only a closed or
				// aborted error or a plain completion is documented, so report anything else.
				var oe *stdnet.OpError
				if !errors.As(res.Err, &oe) {
					t.Errorf("handler %d: %v (%T)", i, res.Err, res.Err)
				}
			}
		}
		// Nothing may have reached the fresh connections.
		for _, c := range fresh {
			bbCheckPeerClean(t, c[0], c[1], "fresh")
			c[0].Close()
			c[1].Close()
		}
		// AsyncConnect after the race: closed for good.
		s.AsyncConnect(target, connectH)
		bbWantClosed(t, "AsyncConnect after a racing Close", connectH.wait())
		peer.Close()
		for _, b := range bad {
			t.Error(b)
		}
		for i, h := range handlers {
			if n := h.count(); n != 1 {
				t.Errorf("handler %d ran %d times", i, n)
			}
		}
		if t.Failed() {
			return
		}
	}
}

// Close racing pending AsyncReadSome, AsyncWriteSome (a write blocked on a full buffer),
// AsyncAccept and AsyncConnect, with several Run goroutines: each handler runs exactly once with
// success or a closed/aborted error, and Run returns (nothing leaked).
func TestBlackboxCloseRacingPendingOperations(t *testing.T) {
	r := bbRun(t, 3)
	iters := 80
	if testing.Short() {
		iters = 20
	}
	var calls atomic.Int64
	for i := range iters {
		client, server := bbSocketPair(t, r.ioc, r.ioc)
		acc := net.NewTCPAcceptor(r.ioc)
		if err := acc.Listen(bbLoopback, 0); err != nil {
			t.Fatal(err)
		}
		// Small kernel buffers, so a write of big waits for room.
		client.SetWriteBuffer(16 << 10)
		server.SetReadBuffer(16 << 10)
		big := make([]byte, 1<<20)
		rd := bbNewOnce[net.IOResult]()
		wr := bbNewOnce[net.IOResult]()
		srd := bbNewOnce[net.IOResult]()
		ac := bbNewOnce[net.AcceptResult]()
		other := net.NewTCPSocket(r.ioc)
		cn := bbNewOnce[error]()
		client.AsyncReadSome(make([]byte, 64), rd)
		client.AsyncWriteSome(big, wr)
		server.AsyncReadSome(make([]byte, 64), srd)
		acc.AsyncAccept(nil, ac)
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; other.AsyncConnect(acc.Addr(), cn) })
		wg.Go(func() { <-start; other.Close() })
		wg.Go(func() { <-start; client.Close() })
		wg.Go(func() { <-start; acc.Close() })
		if i%2 == 0 {
			wg.Go(func() { <-start; client.Cancel() })
		}
		close(start)
		wg.Wait()
		for name, res := range map[string]net.IOResult{"read": rd.wait(), "write": wr.wait()} {
			if res.Err != nil && !bbClosedOrAborted(res.Err) {
				t.Errorf("pending %s raced by Close: %v (%T)", name, res.Err, res.Err)
			}
		}
		if res := ac.wait(); res.Err != nil {
			if !bbClosedOrAborted(res.Err) {
				t.Errorf("pending accept raced by Close: %v", res.Err)
			}
		} else {
			res.Socket.Close() // AsyncConnect won its race to the listener
		}
		// The listener's Close may refuse the connection, or reset it once the handshake is done:
		// ECONNRESET, or EPIPE when the reset follows the peer's FIN (the kernel's error for a
		// reset in CLOSE_WAIT) before the connect's completion reads the socket's error.
		if err := cn.wait(); err != nil && !bbClosedOrAborted(err) && !errors.Is(err, syscall.ECONNREFUSED) &&
			!errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Errorf("AsyncConnect raced by Close: %v (%T)", err, err)
		}
		other.Close()
		server.Close()
		if res := srd.wait(); res.Err == nil && res.N == 0 {
			t.Errorf("server read completed with nothing and no error")
		}
		for _, c := range []int{rd.count(), wr.count(), srd.count(), ac.count(), cn.count()} {
			if c != 1 {
				t.Fatalf("iteration %d: a handler ran %d times", i, c)
			}
			calls.Add(1)
		}
	}
	r.stop()
	if calls.Load() != int64(5*iters) {
		t.Errorf("%d handler calls, want %d", calls.Load(), 5*iters)
	}
}

// The same race with composed operations on a strand over the several Run goroutines.
func TestBlackboxCloseRacingComposedOperationsOnAStrand(t *testing.T) {
	r := bbRun(t, 3)
	for range 40 {
		st := executor.NewStrand(r.ioc)
		client, server := bbSocketPair(t, st, st)
		rd := bbNewOnce[net.IOResult]()
		wr := bbNewOnce[net.IOResult]()
		net.AsyncRead(client, make([]byte, 1<<10), rd)
		client.SetWriteBuffer(16 << 10)
		server.SetReadBuffer(16 << 10)
		net.AsyncWrite(client, make([]byte, 1<<20), wr)
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; client.Close() })
		wg.Go(func() { <-start; server.Close() })
		close(start)
		wg.Wait()
		for _, res := range []net.IOResult{rd.wait(), wr.wait()} {
			if res.Err == nil {
				t.Errorf("composed operation on a closed socket succeeded: %+v", res)
			}
		}
		if rd.count() != 1 || wr.count() != 1 {
			t.Fatalf("handlers ran %d and %d times", rd.count(), wr.count())
		}
	}
}
