package net_test

// Black-box tests, from docs/net.md and the package documentation only, of what a socket's errors
// say about it and of where its handlers run:
//
//   - "Errors": a system call's error is a *net.OpError with Op, Net "tcp" and the addresses the
//     socket knows without a system call (a connect's target, an accepted peer), alike on both
//     paths, for IPv4 and IPv6 loopback; an operation after Close fails with a *net.OpError
//     wrapping net.ErrClosed. Each of many sockets failing at once reports its own address.
//   - An AcceptResult's socket knows its peer (RemoteAddr) and is bound to the executor given to
//     AsyncAccept.
//   - An operation completes on its handler's associated executor (a Strand, another IOContext),
//     whether it completes inside the initiating call (posted) or later, and it counts as work on
//     both executors while pending, so neither Run returns before its handler has run.

import (
	"errors"
	"fmt"
	stdnet "net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
)

// bbFamily is a loopback address family to test on.
type bbFamily struct {
	name string
	lo   netip.AddrPort
}

// bbFamilies returns IPv4 loopback, and IPv6 loopback when the machine has ::1 (a test on a
// machine without it says so in the log).
func bbFamilies(t *testing.T) []bbFamily {
	t.Helper()
	fams := []bbFamily{{"ipv4", bbLoopback}}
	v6 := netip.MustParseAddrPort("[::1]:0")
	ln, err := stdnet.ListenTCP("tcp6", stdnet.TCPAddrFromAddrPort(v6))
	if err != nil {
		t.Logf("IPv6 loopback skipped: this machine cannot listen on [::1] (%v)", err)
		return fams
	}
	ln.Close()
	return append(fams, bbFamily{"ipv6", v6})
}

// bbListenOn listens with Go's net package on lo and closes it at the end of the test.
func bbListenOn(t *testing.T, lo netip.AddrPort) *stdnet.TCPListener {
	t.Helper()
	ln, err := stdnet.ListenTCP("tcp", stdnet.TCPAddrFromAddrPort(lo))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// bbAcceptFrom accepts, on ex, a connection that Go's net package dials to acc, and returns both
// ends.
func bbAcceptFrom(t *testing.T, acc *net.TCPAcceptor, ex executor.Executor) (net.AcceptResult, *stdnet.TCPConn) {
	t.Helper()
	fa := completion.NewFuture[net.AcceptResult]()
	acc.AsyncAccept(ex, fa)
	c, err := stdnet.DialTCP("tcp", nil, stdnet.TCPAddrFromAddrPort(acc.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	ar := fa.Wait()
	if ar.Err != nil {
		c.Close()
		t.Fatal(ar.Err)
	}
	return ar, c
}

// bbOpErrorOf checks that err is a *net.OpError with op and Net "tcp" whose Addr, when want is
// valid, is want, printed as Go's net package prints it ("[::1]:port" for IPv6); it returns a
// description of what is wrong, "" when nothing is.
func bbOpErrorOf(err error, op string, want netip.AddrPort) string {
	var oe *stdnet.OpError
	if !errors.As(err, &oe) {
		return fmt.Sprintf("err = %v (%T), want a *net.OpError", err, err)
	}
	if oe.Op != op || oe.Net != "tcp" {
		return fmt.Sprintf("err = %v: Op %q Net %q, want %q and \"tcp\"", err, oe.Op, oe.Net, op)
	}
	if want.IsValid() {
		if oe.Addr == nil {
			return fmt.Sprintf("err = %v: no Addr, want %v", err, want)
		}
		if oe.Addr.String() != want.String() {
			return fmt.Sprintf("err = %v: Addr %v, want %v", err, oe.Addr, want)
		}
		// Go's net package itself may hold an IPv4 address in its 16-byte form: compare unmapped.
		ta, ok := oe.Addr.(*stdnet.TCPAddr)
		if !ok || netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), ta.AddrPort().Port()) != want {
			return fmt.Sprintf("err = %v: Addr %#v is not the *net.TCPAddr of %v", err, oe.Addr, want)
		}
	}
	return ""
}

// bbWantOpErr reports the problem bbOpErrorOf finds, if any.
func bbWantOpErr(t *testing.T, what string, err error, op string, want netip.AddrPort) {
	t.Helper()
	if p := bbOpErrorOf(err, op, want); p != "" {
		t.Errorf("%s: %s", what, p)
	}
}

// bbAfterClose checks the errors of a closed socket's read, write, gather write, Shutdown and
// RemoteAddr: each a *net.OpError wrapping net.ErrClosed with its own Op and Net "tcp"; an Addr,
// where there is one, is the socket's peer and no other.
func bbAfterClose(t *testing.T, what string, s *net.TCPSocket, peer netip.AddrPort) {
	t.Helper()
	check := func(op string, err error) {
		t.Helper()
		bbWantClosed(t, what+" "+op, err)
		var oe *stdnet.OpError
		if !errors.As(err, &oe) {
			return
		}
		if oe.Net != "tcp" {
			t.Errorf("%s: %s after Close: Net %q, want \"tcp\" (%v)", what, op, oe.Net, err)
		}
		if oe.Addr != nil && oe.Addr.String() != peer.String() {
			t.Errorf("%s: %s after Close names %v, not the socket's peer %v", what, op, oe.Addr, peer)
		}
	}
	r := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 8), h) })
	check("read", r.Err)
	w := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncWriteSome([]byte("x"), h) })
	check("write", w.Err)
	g := completion.Await(func(h completion.Handler[net.IOResult]) {
		s.AsyncWriteSomeBuffers([][]byte{[]byte("a"), []byte("b")}, h)
	})
	check("gather write", g.Err)
	check("shutdown", s.Shutdown(net.ShutdownWrite))
	_, err := s.RemoteAddr()
	check("getpeername", err)
	for _, c := range []struct {
		op  string
		err error
	}{{"read", r.Err}, {"write", w.Err}, {"write", g.Err}, {"shutdown", s.Shutdown(net.ShutdownWrite)}} {
		var oe *stdnet.OpError
		if errors.As(c.err, &oe) && oe.Op != c.op {
			t.Errorf("%s: after Close the %s fails with Op %q (%v)", what, c.op, oe.Op, c.err)
		}
	}
}

// A connected socket and an accepted one, on IPv4 and IPv6 loopback: the peer resets, and the read
// and the write fail with *net.OpErrors naming the connect's target or the accepted peer, exactly
// as Go's net package prints them; after Close every operation fails with a *net.OpError wrapping
// net.ErrClosed.
func TestBlackboxErrorAddressesPerFamily(t *testing.T) {
	r := bbRun(t, 1)
	for _, fam := range bbFamilies(t) {
		t.Run(fam.name, func(t *testing.T) {
			// Connected: the error names the connect's target.
			ln := bbListenOn(t, fam.lo)
			target := bbAddrPort(t, ln.Addr())
			s, peer := bbDialStd(t, r.ioc, ln)
			if ra, err := s.RemoteAddr(); err != nil || ra != target {
				t.Errorf("connected RemoteAddr = %v, %v; want %v", ra, err, target)
			}
			if la, err := s.LocalAddr(); err != nil || la != bbAddrPort(t, peer.RemoteAddr()) {
				t.Errorf("connected LocalAddr = %v, %v; want %v", la, err, peer.RemoteAddr())
			}
			peer.SetLinger(0)
			peer.Close()
			rd := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 16), h) })
			bbWantOpErr(t, "read after the peer's reset", rd.Err, "read", target)
			if !errors.Is(rd.Err, syscall.ECONNRESET) {
				t.Errorf("read after the peer's reset: %v, want ECONNRESET", rd.Err)
			}
			wr := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncWriteSome([]byte("x"), h) })
			bbWantOpErr(t, "write after the peer's reset", wr.Err, "write", target)
			if !errors.Is(wr.Err, syscall.EPIPE) && !errors.Is(wr.Err, syscall.ECONNRESET) {
				t.Errorf("write after the peer's reset: %v, want EPIPE or ECONNRESET", wr.Err)
			}
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			bbAfterClose(t, "connected", s, target)

			// Refused: the dial's error names its target.
			gone := bbListenOn(t, fam.lo)
			goneAddr := bbAddrPort(t, gone.Addr())
			gone.Close()
			rs := net.NewTCPSocket(r.ioc)
			err := completion.Await(func(h completion.Handler[error]) { rs.AsyncConnect(goneAddr, h) })
			bbWantOpErr(t, "refused connect", err, "dial", goneAddr)
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("refused connect: %v, want ECONNREFUSED", err)
			}
			rs.Close()

			// Accepted: the socket knows its peer, and its errors name it.
			acc := net.NewTCPAcceptor(r.ioc)
			if err := acc.Listen(fam.lo, 0); err != nil {
				t.Fatal(err)
			}
			defer acc.Close()
			if a := acc.Addr(); a.Addr() != fam.lo.Addr() || a.Port() == 0 {
				t.Errorf("acceptor Addr = %v, want %v with a port", a, fam.lo.Addr())
			}
			ar, c := bbAcceptFrom(t, acc, nil)
			client := bbAddrPort(t, c.LocalAddr())
			if ra, err := ar.Socket.RemoteAddr(); err != nil || ra != client {
				t.Errorf("accepted RemoteAddr = %v, %v; want the peer %v", ra, err, client)
			}
			c.SetLinger(0)
			c.Close()
			rd = completion.Await(func(h completion.Handler[net.IOResult]) { ar.Socket.AsyncReadSome(make([]byte, 16), h) })
			bbWantOpErr(t, "accepted socket's read after the peer's reset", rd.Err, "read", client)
			ar.Socket.Close()
			bbAfterClose(t, "accepted", ar.Socket, client)
		})
	}
}

// Many sockets of both families, connected and accepted, all reset at once while their reads are
// pending on a context run by two goroutines: each read's error names its own socket's peer, and
// each accepted socket's RemoteAddr is its own peer's address.
func TestBlackboxManySocketsResetAtOnceNameTheirOwnPeers(t *testing.T) {
	r := bbRun(t, 2)
	fams := bbFamilies(t)
	const perFamily = 12
	type end struct {
		s    *net.TCPSocket
		peer *stdnet.TCPConn
		want netip.AddrPort // what the socket's errors must name
		rd   *bbOnce[net.IOResult]
		what string
	}
	var ends []*end
	for _, fam := range fams {
		ln := bbListenOn(t, fam.lo)
		acc := net.NewTCPAcceptor(r.ioc)
		if err := acc.Listen(fam.lo, 0); err != nil {
			t.Fatal(err)
		}
		defer acc.Close()
		for i := range perFamily {
			if i%2 == 0 {
				s, peer := bbDialStd(t, r.ioc, ln)
				ends = append(ends, &end{s: s, peer: peer, want: bbAddrPort(t, ln.Addr()), what: fmt.Sprintf("%s connected %d", fam.name, i)})
				continue
			}
			// Accepted, each on an executor of its own (a strand over the context).
			ex := executor.NewStrand(r.ioc)
			ar, c := bbAcceptFrom(t, acc, ex)
			if ar.Socket.Executor() != executor.Executor(ex) {
				t.Errorf("%s accepted %d: the socket's executor is %v, not the strand AsyncAccept was given", fam.name, i, ar.Socket.Executor())
			}
			peerAddr := bbAddrPort(t, c.LocalAddr())
			if ra, err := ar.Socket.RemoteAddr(); err != nil || ra != peerAddr {
				t.Errorf("%s accepted %d: RemoteAddr = %v, %v; want %v", fam.name, i, ra, err, peerAddr)
			}
			ends = append(ends, &end{s: ar.Socket, peer: c, want: peerAddr, what: fmt.Sprintf("%s accepted %d", fam.name, i)})
		}
	}
	for _, e := range ends {
		e.rd = bbNewOnce[net.IOResult]()
		e.s.AsyncReadSome(make([]byte, 16), e.rd)
	}
	// Reset them all at once.
	var wg sync.WaitGroup
	for _, e := range ends {
		wg.Go(func() { e.peer.SetLinger(0); e.peer.Close() })
	}
	wg.Wait()
	for _, e := range ends {
		res := e.rd.wait()
		if p := bbOpErrorOf(res.Err, "read", e.want); p != "" {
			t.Errorf("%s: %s", e.what, p)
		}
		if !errors.Is(res.Err, syscall.ECONNRESET) && res.Err == nil {
			t.Errorf("%s: read completed without an error after the reset", e.what)
		}
	}
	for _, e := range ends {
		if err := e.s.Close(); err != nil {
			t.Errorf("%s: Close: %v", e.what, err)
		}
	}
	for _, e := range ends {
		if n := e.rd.count(); n != 1 {
			t.Errorf("%s: the read's handler ran %d times", e.what, n)
		}
	}
}

// bbTracked is an executor that forwards to another and records when one of its handlers is
// running, so that a test can tell a handler ran through it without goroutine identity.
type bbTracked struct {
	inner  executor.Executor
	active *atomic.Int32
}

func (e bbTracked) wrap(f func()) func() {
	return func() { e.active.Add(1); defer e.active.Add(-1); f() }
}
func (e bbTracked) Post(f func())     { e.inner.Post(e.wrap(f)) }
func (e bbTracked) Dispatch(f func()) { e.inner.Dispatch(e.wrap(f)) }
func (e bbTracked) Defer(f func())    { e.inner.Defer(e.wrap(f)) }
func (e bbTracked) OnWorkStarted()    { e.inner.OnWorkStarted() }
func (e bbTracked) OnWorkFinished()   { e.inner.OnWorkFinished() }

// bbWhere describes where one handler ran.
type bbWhere struct {
	onTracked bool // inside a handler of the tracked executor
	onRunner  bool // on a Run goroutine of the context it must run on
	onStrand  bool // strand.RunningInThisThread, when there is a strand and gid.Known
}

// bbHandlerTarget is an executor a test binds a handler to, and how to tell it ran there.
type bbHandlerTarget struct {
	name   string
	ex     bbTracked
	runner *bbRunner        // whose goroutines must run the handler
	strand *executor.Strand // nil unless the target is a strand
}

func (h bbHandlerTarget) where() bbWhere {
	w := bbWhere{onTracked: h.ex.active.Load() > 0, onRunner: h.runner.onRunner(), onStrand: true}
	if h.strand != nil && gid.Known {
		w.onStrand = h.strand.RunningInThisThread()
	}
	return w
}

func (w bbWhere) ok() bool { return w.onTracked && w.onRunner && w.onStrand }

// A socket's operations completing on a handler bound to another executor: a strand over another
// IOContext, another IOContext, a strand over the socket's own context. Immediate completions (a
// write the kernel takes at once, a read that finds data waiting) and deferred ones (a read that
// waits for the peer) all run there, exactly once.
func TestBlackboxHandlerBoundElsewhereRunsThere(t *testing.T) {
	a := bbRun(t, 1)
	b := bbRun(t, 2)
	targets := func() []bbHandlerTarget {
		sb := executor.NewStrand(b.ioc)
		sa := executor.NewStrand(a.ioc)
		return []bbHandlerTarget{
			{name: "strand over another context", ex: bbTracked{sb, new(atomic.Int32)}, runner: b, strand: sb},
			{name: "another context", ex: bbTracked{b.ioc, new(atomic.Int32)}, runner: b},
			{name: "strand over the socket's context", ex: bbTracked{sa, new(atomic.Int32)}, runner: a, strand: sa},
		}
	}
	for _, fam := range bbFamilies(t) {
		for _, tg := range targets() {
			t.Run(fam.name+"/"+tg.name, func(t *testing.T) {
				ln := bbListenOn(t, fam.lo)
				s, peer := bbDialStd(t, a.ioc, ln)
				defer s.Close()
				defer peer.Close()
				type got struct {
					res   net.IOResult
					where bbWhere
				}
				start := func(op func(completion.Handler[net.IOResult])) *bbOnce[got] {
					o := bbNewOnce[got]()
					op(completion.Bind(tg.ex, completion.Callback(func(res net.IOResult) {
						o.Complete(got{res, tg.where()})
					})))
					return o
				}
				check := func(what string, o *bbOnce[got], wantN int) {
					t.Helper()
					g := o.wait()
					if g.res.Err != nil || g.res.N != wantN {
						t.Errorf("%s: %+v, want %d bytes", what, g.res, wantN)
					}
					if !g.where.ok() {
						t.Errorf("%s: handler ran off its bound executor (%+v)", what, g.where)
					}
				}
				// Immediate: the kernel takes the write at once.
				w := start(func(h completion.Handler[net.IOResult]) { s.AsyncWriteSome([]byte("hello"), h) })
				check("immediate write", w, 5)
				buf := make([]byte, 5)
				if _, err := peer.Read(buf); err != nil {
					t.Fatal(err)
				}
				// Immediate read: the data is there before the read starts. Waiting for it with
				// AsyncWaitRead first (bound elsewhere too) makes it so.
				if _, err := peer.Write([]byte("abc")); err != nil {
					t.Fatal(err)
				}
				wo := bbNewOnce[bbWhere]()
				s.AsyncWaitRead(completion.Bind(tg.ex, completion.Callback(func(err error) {
					if err != nil {
						t.Errorf("AsyncWaitRead: %v", err)
					}
					wo.Complete(tg.where())
				})))
				if wh := wo.wait(); !wh.ok() {
					t.Errorf("AsyncWaitRead: handler ran off its bound executor (%+v)", wh)
				}
				// A read returns at least one byte (on the portable path the wait's byte comes
				// alone): read until the three have come, each read checked.
				readAll := func(what string, want string) *bbOnce[got] {
					t.Helper()
					var all []byte
					var last *bbOnce[got]
					for len(all) < len(want) {
						rb := make([]byte, len(want)-len(all))
						last = start(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(rb, h) })
						g := last.wait()
						if g.res.Err != nil || g.res.N == 0 {
							t.Fatalf("%s: %+v after %q, want the rest of %q", what, g.res, all, want)
						}
						if !g.where.ok() {
							t.Errorf("%s: handler ran off its bound executor (%+v)", what, g.where)
						}
						all = append(all, rb[:g.res.N]...)
					}
					if string(all) != want {
						t.Errorf("%s got %q, want %q", what, all, want)
					}
					return last
				}
				rd := readAll("immediate read", "abc")
				// Deferred: the read waits for the peer.
				rb2 := make([]byte, 8)
				rd2 := start(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(rb2, h) })
				if _, err := peer.Write([]byte("later")); err != nil {
					t.Fatal(err)
				}
				if g := rd2.wait(); g.res.Err != nil || g.res.N == 0 || !g.where.ok() {
					t.Errorf("deferred read: %+v, ran where %+v", g.res, g.where)
				} else if g.res.N < 5 {
					readAll("rest of the deferred read", "later"[g.res.N:])
				}
				// Deferred failure: a pending read cancelled.
				o := bbNewOnce[got]()
				s.AsyncReadSome(make([]byte, 8), completion.Bind(tg.ex, completion.Callback(func(res net.IOResult) {
					o.Complete(got{res, tg.where()})
				})))
				s.Cancel()
				g := o.wait()
				if !errors.Is(g.res.Err, completion.ErrOperationAborted) && g.res.Err != nil {
					t.Errorf("cancelled read: %v", g.res.Err)
				}
				if !g.where.ok() {
					t.Errorf("cancelled read: handler ran off its bound executor (%+v)", g.where)
				}
				for what, n := range map[string]int{"write": w.count(), "read": rd.count(), "deferred read": rd2.count(), "cancelled read": o.count(), "wait": wo.count()} {
					if n != 1 {
						t.Errorf("%s: handler ran %d times", what, n)
					}
				}
			})
		}
	}
}

// Work counting: a read on a socket of context A with its handler bound to context B (or a strand
// over B) is pending work on both, so neither Run, called with no work guard, returns while the read
// waits for the peer (on the reactor path A's Run must be there to see the data arrive, or the read
// never completes), and B's returns only after the handler has run. A's may return once the
// completion is on its way to B, as Asio's does, so that is not checked.
func TestBlackboxPendingOperationKeepsBothContextsRunning(t *testing.T) {
	for _, fam := range bbFamilies(t) {
		for _, useStrand := range []bool{false, true} {
			name := fam.name + "/context"
			if useStrand {
				name = fam.name + "/strand"
			}
			t.Run(name, func(t *testing.T) {
				ioa := executor.NewIOContext()
				iob := executor.NewIOContext()
				ln := bbListenOn(t, fam.lo)
				// The socket lives on A: connect it on a guarded run of A, then let that run end.
				guard := executor.MakeWorkGuard(ioa)
				aDone := make(chan struct{})
				go func() { ioa.Run(); close(aDone) }()
				s, peer := bbDialStd(t, ioa, ln)
				defer peer.Close()
				guard.Reset()
				<-aDone // A is out of work: nothing pending on the socket yet
				ioa.Restart()

				var handlerEx executor.Executor = iob
				var strand *executor.Strand
				if useStrand {
					strand = executor.NewStrand(iob)
					handlerEx = strand
				}
				var ran atomic.Bool
				var onB atomic.Bool
				var bGoroutine atomic.Uint64
				var res net.IOResult
				buf := make([]byte, 16)
				s.AsyncReadSome(buf, completion.Bind(handlerEx, completion.Callback(func(r net.IOResult) {
					res = r
					onB.Store(net.GoroutineID() == bGoroutine.Load() && (strand == nil || !gid.Known || strand.RunningInThisThread()))
					ran.Store(true)
				})))
				var ranWhenBReturned atomic.Bool
				aRet := make(chan struct{})
				bRet := make(chan struct{})
				started := make(chan struct{}, 2)
				go func() { started <- struct{}{}; ioa.Run(); close(aRet) }()
				go func() {
					bGoroutine.Store(net.GoroutineID())
					started <- struct{}{}
					iob.Run()
					ranWhenBReturned.Store(ran.Load())
					close(bRet)
				}()
				<-started
				<-started
				time.Sleep(5 * time.Millisecond) // give an early return its chance; asserts nothing on time
				if _, err := peer.Write([]byte("late")); err != nil {
					t.Fatal(err)
				}
				for _, c := range []struct {
					what string
					ch   chan struct{}
				}{{"Run of the socket's context", aRet}, {"Run of the handler's context", bRet}} {
					select {
					case <-c.ch:
					case <-time.After(20 * time.Second):
						ioa.Stop()
						iob.Stop()
						t.Fatalf("%s never returned (liveness watchdog)", c.what)
					}
				}
				if !ran.Load() {
					t.Fatal("the read's handler never ran: a Run returned while the read was pending")
				}
				if !ranWhenBReturned.Load() {
					t.Error("Run of the handler's context returned before the handler ran")
				}
				if !onB.Load() {
					t.Error("the handler did not run on the goroutine running its bound context")
				}
				if res.Err != nil || string(buf[:res.N]) != "late" {
					t.Errorf("read: %+v %q, want \"late\"", res, buf[:res.N])
				}
				// Close the socket with A running, since on the portable path Close waits for the
				// socket's goroutines.
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
	}
}
