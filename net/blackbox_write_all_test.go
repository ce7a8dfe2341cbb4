//go:build linux && !beastgo_portable

package net_test

// Black-box tests of net.AsyncWrite on a TCPSocket, written from the package documentation only.
// On the epoll path the write is one operation of the socket's write direction that stays pending
// until all of its buffer has gone, with AsyncWrite's contract: N == len(b) and nil, or the bytes
// written before the error; the handler once, never inside the call, on its associated executor,
// with work counted; the handler's context, Cancel and Close abort it with N so far; another write
// meanwhile fails with ErrInProgress. The file needs that path: the portable path neither aborts a
// pending write on Cancel or a context nor holds the write direction between AsyncWrite's steps.

import (
	"bytes"
	"context"
	"errors"
	"io"
	stdnet "net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// bbWABig is far more than the socket buffers bbWAConn leaves (64 KiB asked on each side), so a
// write of it to a peer that reads nothing stays pending with part of it gone.
const bbWABig = 8 << 20

// bbWAConn connects a socket on ex to a Go peer, with small socket buffers on both sides.
func bbWAConn(t testing.TB, ex executor.Executor, ln *stdnet.TCPListener) (*net.TCPSocket, *stdnet.TCPConn) {
	t.Helper()
	s, peer := bbDialStd(t, ex, ln)
	t.Cleanup(func() { s.Close(); peer.Close() })
	if err := s.SetWriteBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	if err := peer.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	return s, peer
}

// bbWAPeer reads a Go connection on a goroutine, at most piece bytes a read, until EOF or an error.
// With hold, it stops once it has read exactly mark bytes, closes reached, and reads on only after
// release; without, it closes reached on passing mark and reads on.
type bbWAPeer struct {
	reached chan struct{}
	resume  chan struct{}
	done    chan struct{}
	once    sync.Once
	got     []byte
	err     error
}

func bbWARead(t testing.TB, c *stdnet.TCPConn, piece, mark int, hold bool, pace func(i int)) *bbWAPeer {
	p := &bbWAPeer{reached: make(chan struct{}), resume: make(chan struct{}), done: make(chan struct{})}
	if !hold {
		p.release()
	}
	t.Cleanup(p.release)
	go func() {
		defer close(p.done)
		buf := make([]byte, piece)
		reached := false
		for i := 0; ; i++ {
			if !reached && len(p.got) >= mark {
				reached = true
				close(p.reached)
				<-p.resume
			}
			want := piece
			if !reached {
				want = min(piece, mark-len(p.got))
			}
			n, err := c.Read(buf[:want])
			p.got = append(p.got, buf[:n]...)
			if err != nil {
				if err != io.EOF {
					p.err = err
				}
				return
			}
			if pace != nil {
				pace(i)
			}
		}
	}()
	return p
}

func (p *bbWAPeer) release() { p.once.Do(func() { close(p.resume) }) }

// wait returns all the peer read, once it has met EOF or an error.
func (p *bbWAPeer) wait() []byte { <-p.done; return p.got }

// bbWASlow paces a reader: it yields after every read and sleeps a little every 64 reads, so the
// writer meets a full socket again and again.
func bbWASlow(i int) {
	runtime.Gosched()
	if i%64 == 63 {
		time.Sleep(200 * time.Microsecond)
	}
}

// bbWAWait waits for a write's handler; the bound only turns a lost completion into a failure.
func bbWAWait(t testing.TB, h *bbOnce[net.IOResult], what string) net.IOResult {
	t.Helper()
	select {
	case <-h.done:
		return h.wait()
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the write never completed", what)
		return net.IOResult{}
	}
}

// bbWAPrefix checks that the peer got exactly the first n bytes of b.
func bbWAPrefix(t testing.TB, what string, got, b []byte, n int) {
	t.Helper()
	if n < 0 || n > len(b) {
		t.Errorf("%s: N = %d, out of [0, %d]", what, n, len(b))
		return
	}
	if !bytes.Equal(got, b[:n]) {
		t.Errorf("%s: the peer got %d bytes, want exactly the first N = %d of the buffer (first difference at %d)", what, len(got), n, bbFirstDiff(got, b[:n]))
	}
}

// bbWAShutAndRead shuts s's sending side down and returns all the peer then reads to its EOF.
func bbWAShutAndRead(t testing.TB, s *net.TCPSocket, p *bbWAPeer) []byte {
	t.Helper()
	if err := s.Shutdown(net.ShutdownWrite); err != nil {
		t.Errorf("Shutdown after the write: %v", err)
	}
	p.release()
	return p.wait()
}

// bbWAExec runs an IOContext with runners goroutines and returns it with a listener and the
// executor for sockets: the context itself with one runner, a Strand over it with more.
func bbWAExec(t testing.TB, runners int) (*bbRunner, *stdnet.TCPListener, executor.Executor) {
	r := bbRun(t, runners)
	if runners == 1 {
		return r, bbStdListener(t), r.ioc
	}
	return r, bbStdListener(t), executor.NewStrand(r.ioc)
}

// bbWAWantWhole checks that a write completed with all of its size bytes and no error.
func bbWAWantWhole(t testing.TB, what string, res net.IOResult, size int) {
	t.Helper()
	if res.Err != nil || res.N != size {
		t.Errorf("%s: %d bytes, %v; want %d, nil", what, res.N, res.Err, size)
	}
}

// bbWAOnceEach checks, once everything has settled, that each handler ran exactly once.
func bbWAOnceEach(t testing.TB, what string, hs ...*bbOnce[net.IOResult]) {
	t.Helper()
	for i, h := range hs {
		if n := h.count(); n != 1 {
			t.Errorf("%s %d: the handler ran %d times", what, i, n)
		}
	}
}

// bbWAInCall tells a handler whether it runs inside the call that started its operation: the
// caller marks its goroutine around the call.
type bbWAInCall struct{ g atomic.Uint64 }

func (c *bbWAInCall) call(f func()) { c.g.Store(net.GoroutineID()); f(); c.g.Store(0) }

func (c *bbWAInCall) inside() bool { return c.g.Load() == net.GoroutineID() }

// bbWAStrandProbe posts handlers to a strand that each mark it busy for a moment, so that a
// handler that should run on the strand and runs beside one of them is caught.
type bbWAStrandProbe struct {
	busy    atomic.Int32
	overlap atomic.Int32
	stop    atomic.Bool
	wg      sync.WaitGroup
}

func (p *bbWAStrandProbe) enter() {
	if !p.busy.CompareAndSwap(0, 1) {
		p.overlap.Add(1)
	}
}

func (p *bbWAStrandProbe) leave() { p.busy.Store(0) }

// run keeps a chain of probe handlers going on st until end.
func (p *bbWAStrandProbe) run(st *executor.Strand) {
	var next func()
	next = func() {
		p.enter()
		time.Sleep(20 * time.Microsecond)
		p.leave()
		if p.stop.Load() {
			p.wg.Done()
			return
		}
		st.Post(next)
	}
	p.wg.Add(1)
	st.Post(next)
}

func (p *bbWAStrandProbe) end() { p.stop.Store(true); p.wg.Wait() }

// A write of several MiB, far more than the socket buffers hold, to a peer that reads it slowly in
// small pieces: every byte arrives in order, N == len(b) with nil, and the handler runs once, on
// its associated executor (the socket's, a Strand it is bound to, another IOContext), never on
// the goroutine that called AsyncWrite.
func TestBlackboxWriteAllLargeToASlowPeer(t *testing.T) {
	const size = 6<<20 + 1234
	b := bbPattern(1, size)
	cases := []struct {
		name string
		run  func(t *testing.T, ln *stdnet.TCPListener)
	}{
		{"socket executor", func(t *testing.T, ln *stdnet.TCPListener) {
			r := bbRun(t, 1)
			s, peer := bbWAConn(t, r.ioc, ln)
			p := bbWARead(t, peer, 1000, 0, false, bbWASlow)
			h := bbNewOnce[net.IOResult]()
			var onRunner atomic.Bool
			net.AsyncWrite(s, b, completion.Callback(func(res net.IOResult) { onRunner.Store(r.onRunner()); h.Complete(res) }))
			res := bbWAWait(t, h, "the write")
			bbWAWantWhole(t, "AsyncWrite", res, size)
			if !onRunner.Load() {
				t.Errorf("the handler ran off the IOContext's Run goroutine")
			}
			bbWAPrefix(t, "whole write", bbWAShutAndRead(t, s, p), b, size)
			r.stop()
			bbWAOnceEach(t, "the write", h)
		}},
		{"bound to a strand, two runners", func(t *testing.T, ln *stdnet.TCPListener) {
			r := bbRun(t, 2)
			st := executor.NewStrand(r.ioc)
			var probe bbWAStrandProbe
			probe.run(st)
			s, peer := bbWAConn(t, r.ioc, ln)
			p := bbWARead(t, peer, 777, 0, false, bbWASlow)
			h := bbNewOnce[net.IOResult]()
			var onRunner atomic.Bool
			net.AsyncWrite(s, b, completion.Bind(st, completion.Callback(func(res net.IOResult) {
				probe.enter()
				onRunner.Store(r.onRunner())
				runtime.Gosched()
				probe.leave()
				h.Complete(res)
			})))
			res := bbWAWait(t, h, "the write")
			probe.end()
			bbWAWantWhole(t, "AsyncWrite", res, size)
			if n := probe.overlap.Load(); n != 0 {
				t.Errorf("the handler bound to the strand ran beside the strand's other handlers (%d overlaps)", n)
			}
			if !onRunner.Load() {
				t.Errorf("the handler ran off the IOContext's Run goroutines")
			}
			bbWAPrefix(t, "whole write", bbWAShutAndRead(t, s, p), b, size)
			r.stop()
			bbWAOnceEach(t, "the write", h)
		}},
		{"bound to another IOContext", func(t *testing.T, ln *stdnet.TCPListener) {
			r1 := bbRun(t, 1)
			r2 := bbRun(t, 1)
			s, peer := bbWAConn(t, r1.ioc, ln)
			p := bbWARead(t, peer, 1500, 0, false, bbWASlow)
			h := bbNewOnce[net.IOResult]()
			var on2, on1 atomic.Bool
			net.AsyncWrite(s, b, completion.Bind(r2.ioc, completion.Callback(func(res net.IOResult) {
				on2.Store(r2.onRunner())
				on1.Store(r1.onRunner())
				h.Complete(res)
			})))
			res := bbWAWait(t, h, "the write")
			bbWAWantWhole(t, "AsyncWrite", res, size)
			if !on2.Load() || on1.Load() {
				t.Errorf("the handler bound to the second IOContext ran on its runner: %v, on the socket's: %v", on2.Load(), on1.Load())
			}
			bbWAPrefix(t, "whole write", bbWAShutAndRead(t, s, p), b, size)
			r1.stop()
			r2.stop()
			bbWAOnceEach(t, "the write", h)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, bbStdListener(t)) })
	}
}

// A pending write counts work on the socket's IOContext and on its handler's: with no work guard
// anywhere, both contexts run by a goroutine each from just after the call, the write stays pending
// (the peer reading slowly) long after both Runs began. The socket's context must keep running until
// the last byte has gone (or the handler never runs and the test fails), and the handler's context's
// Run must not return before the handler, bound to it, has run there. (The socket's context may
// return once the completion has been handed to the handler's context, as Asio's io_context does.)
func TestBlackboxWriteAllCountsWorkOnBothContexts(t *testing.T) {
	ln := bbStdListener(t)
	io1, io2 := executor.NewIOContext(), executor.NewIOContext()
	s := net.NewTCPSocket(io1)
	defer s.Close()
	cerr := errors.New("the connect's handler did not run")
	s.AsyncConnect(bbAddrPort(t, ln.Addr()), completion.Callback(func(err error) { cerr = err }))
	io1.Run() // returns once the connect has completed: it is the only work
	if cerr != nil {
		t.Fatalf("AsyncConnect: %v", cerr)
	}
	peer, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	s.SetWriteBuffer(64 << 10)
	peer.SetReadBuffer(64 << 10)
	io1.Restart()

	const size = 3 << 20
	b := bbPattern(2, size)
	var ran atomic.Bool
	var res net.IOResult
	var g2 atomic.Uint64
	var handlerG uint64
	net.AsyncWrite(s, b, completion.Bind(io2, completion.Callback(func(r net.IOResult) {
		res, handlerG = r, net.GoroutineID()
		ran.Store(true)
	})))
	var wg sync.WaitGroup
	var ranAt2 bool
	wg.Go(func() { io1.Run() })
	wg.Go(func() { g2.Store(net.GoroutineID()); io2.Run(); ranAt2 = ran.Load() })
	p := bbWARead(t, peer, 4096, 0, false, bbWASlow)
	bbWaitGroupWithin(t, &wg, "the write with its handler on a second context")
	if !ranAt2 {
		t.Fatalf("the handler's context's Run returned before the write's handler had run")
	}
	if handlerG != g2.Load() {
		t.Errorf("the handler ran on goroutine %d, not the second context's Run goroutine %d", handlerG, g2.Load())
	}
	bbWAWantWhole(t, "AsyncWrite", res, size)
	bbWAPrefix(t, "whole write", bbWAShutAndRead(t, s, p), b, size)
}

// A context already done when AsyncWrite is called: nothing is written, the handler runs once,
// not inside the call, with N == 0 and an error matching ErrOperationAborted and the context's.
func TestBlackboxWriteAllContextDoneBeforeTheCall(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	s, peer := bbWAConn(t, r.ioc, ln)
	p := bbWARead(t, peer, 4096, 0, false, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var in bbWAInCall
	var inside atomic.Bool
	h := bbNewOnce[net.IOResult]()
	done := make(chan struct{})
	r.ioc.Post(func() { // from a handler on the socket's executor, where running inline would show
		in.call(func() {
			net.AsyncWrite(s, []byte("must not be sent"), completion.WithContext(ctx, completion.Callback(func(res net.IOResult) {
				inside.Store(in.inside())
				h.Complete(res)
			})))
		})
		close(done)
	})
	<-done
	res := bbWAWait(t, h, "the write")
	if inside.Load() {
		t.Errorf("the handler ran inside AsyncWrite")
	}
	bbWantAbortCtx(t, "AsyncWrite with a done context", res.Err, context.Canceled)
	if res.N != 0 {
		t.Errorf("AsyncWrite with a done context: N = %d, want 0", res.N)
	}
	if got := bbWAShutAndRead(t, s, p); len(got) != 0 {
		t.Errorf("the peer got %q from a write whose context was done", got)
	}
	r.stop()
	bbWAOnceEach(t, "the write", h)
}

// The handler's context cancelled from another goroutine right as AsyncWrite starts (just before,
// during, just after), the buffer far larger than the socket can take while the peer reads nothing:
// the write completes with the cancellation and N so far, and the peer then reads exactly N bytes.
func TestBlackboxWriteAllContextCancelledAsTheWriteStarts(t *testing.T) {
	b := bbPattern(3, bbWABig)
	for _, runners := range []int{1, 2} {
		r, ln, ex := bbWAExec(t, runners)
		for i := range 30 {
			s, peer := bbWAConn(t, ex, ln)
			ctx, cancel := context.WithCancel(context.Background())
			start := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				<-start
				for range i % 4 {
					runtime.Gosched()
				}
				cancel()
			})
			h := bbNewOnce[net.IOResult]()
			close(start)
			net.AsyncWrite(s, b, completion.WithContext(ctx, h))
			res := bbWAWait(t, h, "the write racing its context")
			wg.Wait()
			bbWantAbortCtx(t, "the write racing its context", res.Err, context.Canceled)
			p := bbWARead(t, peer, 64<<10, 0, false, nil)
			bbWAPrefix(t, "the write racing its context", bbWAShutAndRead(t, s, p), b, res.N)
			s.Close()
			peer.Close()
			if t.Failed() {
				t.Fatalf("%d runners, round %d: N = %d, err = %v", runners, i, res.N, res.Err)
			}
		}
		r.stop()
	}
}

// The handler's context cancelled midway: the peer has read exactly mark bytes and stopped, so the
// write is pending with at least mark bytes gone. It completes with the cancellation and N in
// [mark, len(b)), and the peer, reading on, gets exactly N bytes and then EOF.
func TestBlackboxWriteAllContextCancelledMidway(t *testing.T) {
	b := bbPattern(4, bbWABig)
	for _, runners := range []int{1, 2} {
		r, ln, ex := bbWAExec(t, runners)
		for _, mark := range []int{1, 4096, 1 << 20, 3<<20 + 5} {
			s, peer := bbWAConn(t, ex, ln)
			ctx, cancel := context.WithCancelCause(context.Background())
			cause := errors.New("the test gave up on the write")
			p := bbWARead(t, peer, 1000, mark, true, bbWASlow)
			h := bbNewOnce[net.IOResult]()
			net.AsyncWrite(s, b, completion.WithContext(ctx, h))
			<-p.reached
			cancel(cause)
			res := bbWAWait(t, h, "the cancelled write")
			bbWantAbortCtx(t, "the write cancelled midway", res.Err, context.Canceled)
			if !errors.Is(res.Err, cause) {
				t.Errorf("the write cancelled midway: err = %v does not match the context's cause", res.Err)
			}
			if res.N < mark || res.N >= len(b) {
				t.Errorf("the write cancelled midway: N = %d, want in [%d, %d): the peer had read %d", res.N, mark, len(b), mark)
			}
			bbWAPrefix(t, "the write cancelled midway", bbWAShutAndRead(t, s, p), b, res.N)
			s.Close()
			peer.Close()
		}
		r.stop()
	}
}

// The handler's context cancelled just as the write completes: the peer reads all but the last few
// bytes, and the context is cancelled while it reads those. Either outcome is right (all of b and
// nil, or the cancellation and N so far), but the peer must get exactly N bytes.
func TestBlackboxWriteAllContextCancelledAsItCompletes(t *testing.T) {
	const size = 2<<20 + 99
	b := bbPattern(5, size)
	r := bbRun(t, 2)
	st := executor.NewStrand(r.ioc)
	ln := bbStdListener(t)
	outcomes := map[bool]int{}
	for i := range 24 {
		s, peer := bbWAConn(t, st, ln)
		left := []int{0, 1, 100, 4096, 65536, 200000}[i%6]
		p := bbWARead(t, peer, 8192, size-left, true, nil)
		ctx, cancel := context.WithCancel(context.Background())
		h := bbNewOnce[net.IOResult]()
		net.AsyncWrite(s, b, completion.WithContext(ctx, h))
		<-p.reached
		p.release()
		for range i % 3 {
			runtime.Gosched()
		}
		cancel()
		res := bbWAWait(t, h, "the write cancelled as it completes")
		switch {
		case res.Err == nil:
			if res.N != size {
				t.Errorf("round %d: the write succeeded with N = %d, want %d", i, res.N, size)
			}
		default:
			bbWantAbortCtx(t, "the write cancelled as it completes", res.Err, context.Canceled)
		}
		outcomes[res.Err == nil]++
		bbWAPrefix(t, "the write cancelled as it completes", bbWAShutAndRead(t, s, p), b, res.N)
		s.Close()
		peer.Close()
	}
	t.Logf("completed: %d, cancelled: %d", outcomes[true], outcomes[false])
	r.stop()
}

// Close and Cancel racing a pending write, from another goroutine and from a handler on the
// socket's executor (a read's handler, as a protocol that ends the connection on a message does).
// The write completes once with ErrOperationAborted and N so far (at least what the peer had read
// when the race began), or with all of b if it won; the peer then reads exactly N bytes.
func TestBlackboxWriteAllCloseAndCancelMidway(t *testing.T) {
	b := bbPattern(6, bbWABig)
	type how struct {
		name        string
		close       bool
		fromHandler bool
	}
	for _, runners := range []int{1, 2} {
		r, ln, ex := bbWAExec(t, runners)
		for _, hw := range []how{{"Cancel", false, false}, {"Close", true, false}, {"Cancel from a read's handler", false, true}, {"Close from a read's handler", true, true}} {
			for _, mark := range []int{1, 300000, 2 << 20} {
				s, peer := bbWAConn(t, ex, ln)
				p := bbWARead(t, peer, 1000, mark, true, bbWASlow)
				h := bbNewOnce[net.IOResult]()
				stopped := make(chan int, 1)
				if hw.fromHandler {
					rbuf := make([]byte, 16)
					s.AsyncReadSome(rbuf, completion.Callback(func(res net.IOResult) {
						if res.Err != nil || res.N != 1 {
							t.Errorf("the read: %d, %v", res.N, res.Err)
						}
						if hw.close {
							if err := s.Close(); err != nil {
								t.Errorf("Close from the read's handler: %v", err)
							}
							stopped <- -1
						} else {
							stopped <- s.Cancel()
						}
					}))
				}
				net.AsyncWrite(s, b, h)
				<-p.reached
				switch {
				case hw.fromHandler:
					if _, err := peer.Write([]byte{'!'}); err != nil {
						t.Fatal(err)
					}
				case hw.close:
					if err := s.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
					stopped <- -1
				default:
					stopped <- s.Cancel()
				}
				n := <-stopped
				res := bbWAWait(t, h, hw.name)
				what := hw.name
				if !errors.Is(res.Err, completion.ErrOperationAborted) {
					t.Errorf("%s midway (peer at %d): err = %v, want ErrOperationAborted", what, mark, res.Err)
				}
				if res.N < mark || res.N >= len(b) {
					t.Errorf("%s midway: N = %d, want in [%d, %d)", what, res.N, mark, len(b))
				}
				if !hw.close && n != 1 {
					t.Errorf("%s midway: Cancel reported %d operations cancelled, want 1 (the write)", what, n)
				}
				var got []byte
				if hw.close {
					p.release() // the socket's close sends what its buffer held, then FIN
					got = p.wait()
				} else {
					got = bbWAShutAndRead(t, s, p)
				}
				if p.err != nil {
					t.Errorf("%s midway: the peer's read failed: %v", what, p.err)
				}
				bbWAPrefix(t, what+" midway", got, b, res.N)
				s.Close()
				peer.Close()
			}
		}
		r.stop()
	}
}

// Close and Cancel from another goroutine racing the call itself, the peer reading all the while:
// Close gives ErrOperationAborted with N so far, or net.ErrClosed with N == 0 if it came first, or
// success; Cancel gives success if it came before the write was pending (it then cancels nothing)
// and ErrOperationAborted with N so far if it cancelled the write. The peer gets exactly N bytes.
func TestBlackboxWriteAllCloseAndCancelRacingTheCall(t *testing.T) {
	const size = 1 << 20
	b := bbPattern(7, size)
	r := bbRun(t, 2)
	st := executor.NewStrand(r.ioc)
	ln := bbStdListener(t)
	counts := map[string]int{}
	for i := range 60 {
		closeIt := i%2 == 0
		s, peer := bbWAConn(t, st, ln)
		p := bbWARead(t, peer, 16<<10, 0, false, nil)
		start := make(chan struct{})
		cancelled := make(chan int, 1)
		go func() {
			<-start
			for range i % 5 {
				runtime.Gosched()
			}
			if closeIt {
				s.Close()
				cancelled <- -1
			} else {
				cancelled <- s.Cancel()
			}
		}()
		h := bbNewOnce[net.IOResult]()
		close(start)
		net.AsyncWrite(s, b, h)
		res := bbWAWait(t, h, "the write racing Close or Cancel")
		n := <-cancelled
		switch {
		case res.Err == nil:
			counts["done"]++
			if res.N != size {
				t.Errorf("round %d: success with N = %d, want %d", i, res.N, size)
			}
			if n > 0 {
				t.Errorf("round %d: Cancel reported %d cancelled, yet the write succeeded", i, n)
			}
		case errors.Is(res.Err, completion.ErrOperationAborted):
			counts["aborted"]++
			if n == 0 {
				t.Errorf("round %d: the write was aborted, yet Cancel cancelled nothing", i)
			}
		case closeIt && errors.Is(res.Err, stdnet.ErrClosed):
			counts["closed first"]++
			if res.N != 0 {
				t.Errorf("round %d: the write failed as after Close with N = %d, want 0", i, res.N)
			}
		default:
			t.Errorf("round %d (close %v): N = %d, err = %v, want nil, ErrOperationAborted or net.ErrClosed", i, closeIt, res.N, res.Err)
		}
		if !closeIt {
			if err := s.Shutdown(net.ShutdownWrite); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		}
		bbWAPrefix(t, "the write racing Close or Cancel", p.wait(), b, res.N)
		s.Close()
		peer.Close()
	}
	t.Logf("outcomes: %v", counts)
	r.stop()
}

// The peer resets the connection midway (SO_LINGER 0, then close, with unread bytes): the write
// completes once with an error (a reset or a broken pipe, as a *net.OpError of Go's net package)
// and N between what the peer had read and len(b).
func TestBlackboxWriteAllPeerResetsMidway(t *testing.T) {
	b := bbPattern(8, bbWABig)
	for _, runners := range []int{1, 2} {
		r, ln, ex := bbWAExec(t, runners)
		var hs []*bbOnce[net.IOResult]
		for _, mark := range []int{1, 500000, 3 << 20} {
			s, peer := bbWAConn(t, ex, ln)
			p := bbWARead(t, peer, 1000, mark, true, bbWASlow)
			h := bbNewOnce[net.IOResult]()
			hs = append(hs, h)
			net.AsyncWrite(s, b, h)
			<-p.reached
			if err := peer.SetLinger(0); err != nil {
				t.Fatal(err)
			}
			peer.Close()
			p.release()
			res := bbWAWait(t, h, "the write to a reset peer")
			if res.Err == nil {
				t.Errorf("the write to a peer that reset: N = %d, nil error", res.N)
			}
			var oe *stdnet.OpError
			if !errors.As(res.Err, &oe) || !(errors.Is(res.Err, syscall.ECONNRESET) || errors.Is(res.Err, syscall.EPIPE)) {
				t.Errorf("the write to a peer that reset: err = %v (%T), want a *net.OpError of a reset or a broken pipe", res.Err, res.Err)
			}
			if res.N < mark || res.N > len(b) {
				t.Errorf("the write to a peer that reset at %d bytes read: N = %d", mark, res.N)
			}
			p.wait()
			s.Close()
		}
		r.stop()
		bbWAOnceEach(t, "write", hs...)
	}
}

// A second write (AsyncWrite, AsyncWriteSome, AsyncWriteSomeBuffers, AsyncWriteBuffers) started
// while an AsyncWrite is pending, from the test goroutine and from a handler on the socket's
// executor: each fails with ErrInProgress and N == 0, not inside its call, and the first write
// goes on untouched: all its bytes, and none of the others', reach the peer.
func TestBlackboxWriteAllSecondWriteInProgress(t *testing.T) {
	b := bbPattern(9, bbWABig)
	other := bytes.Repeat([]byte{0xEE}, 1000)
	for _, fromHandler := range []bool{false, true} {
		r := bbRun(t, 2)
		st := executor.NewStrand(r.ioc)
		ln := bbStdListener(t)
		s, peer := bbWAConn(t, st, ln)
		p := bbWARead(t, peer, 1000, 100000, true, nil)
		first := bbNewOnce[net.IOResult]()
		net.AsyncWrite(s, b, first)
		<-p.reached // the write is pending: the peer has read 100000 of its bytes and stopped
		var in bbWAInCall
		var inside atomic.Int32
		seconds := make([]*bbOnce[net.IOResult], 4)
		for i := range seconds {
			seconds[i] = bbNewOnce[net.IOResult]()
		}
		wrap := func(h *bbOnce[net.IOResult]) completion.Handler[net.IOResult] {
			return completion.Callback(func(res net.IOResult) {
				if in.inside() {
					inside.Add(1)
				}
				h.Complete(res)
			})
		}
		start := func() {
			in.call(func() {
				net.AsyncWrite(s, other, wrap(seconds[0]))
				s.AsyncWriteSome(other, wrap(seconds[1]))
				s.AsyncWriteSomeBuffers([][]byte{other, other}, wrap(seconds[2]))
				net.AsyncWriteBuffers(s, [][]byte{other}, wrap(seconds[3]))
			})
		}
		if fromHandler {
			started := make(chan struct{})
			st.Post(func() { start(); close(started) })
			<-started
		} else {
			start()
		}
		for i, h := range seconds {
			res := bbWAWait(t, h, "the second write")
			if !errors.Is(res.Err, net.ErrInProgress) || res.N != 0 {
				t.Errorf("second write %d (from a handler %v): %d bytes, %v; want 0, ErrInProgress", i, fromHandler, res.N, res.Err)
			}
		}
		if n := inside.Load(); n != 0 {
			t.Errorf("%d second writes' handlers ran inside their calls", n)
		}
		if first.count() != 0 {
			t.Errorf("the first write completed (%+v) while the peer was not reading its last %d bytes", first.wait(), len(b)-100000)
		}
		p.release()
		res := bbWAWait(t, first, "the first write")
		if res.Err != nil || res.N != len(b) {
			t.Errorf("the first write: %d bytes, %v; want %d, nil", res.N, res.Err, len(b))
		}
		bbWAPrefix(t, "the first write beside second ones", bbWAShutAndRead(t, s, p), b, len(b))
		r.stop()
		bbWAOnceEach(t, "write (the last the first)", append(seconds, first)...)
	}
}

// Back-to-back AsyncWrites, each started from the previous one's handler, some larger than the
// socket buffers and one empty, to a slow peer: each completes with all its bytes, never inside
// its call, and the peer gets them all in order.
func TestBlackboxWriteAllBackToBackFromHandlers(t *testing.T) {
	sizes := []int{1, 7, 4096, 65539, 1 << 20, 0, 3<<20 + 17, 100, 2 << 20, 13}
	var all []byte
	bufs := make([][]byte, len(sizes))
	for i, n := range sizes {
		bufs[i] = bbPattern(100+i, n)
		all = append(all, bufs[i]...)
	}
	for _, runners := range []int{1, 2} {
		r, ln, ex := bbWAExec(t, runners)
		s, peer := bbWAConn(t, ex, ln)
		p := bbWARead(t, peer, 999, 0, false, bbWASlow)
		var in bbWAInCall
		var mu sync.Mutex
		var problems []string
		done := make(chan struct{})
		var write func(i int)
		write = func(i int) {
			if i == len(bufs) {
				close(done)
				return
			}
			in.call(func() {
				net.AsyncWrite(s, bufs[i], completion.Callback(func(res net.IOResult) {
					mu.Lock()
					if in.inside() {
						problems = append(problems, "a handler ran inside its AsyncWrite")
					}
					if res.Err != nil || res.N != len(bufs[i]) {
						problems = append(problems, "a write completed short or failed: "+bbWAErrString(res.Err))
					}
					mu.Unlock()
					write(i + 1)
				}))
			})
		}
		ex.Post(func() { write(0) })
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("the chain of writes never ended")
		}
		for _, pr := range problems {
			t.Error(pr)
		}
		bbWAPrefix(t, "writes chained from handlers", bbWAShutAndRead(t, s, p), all, len(all))
		r.stop()
	}
}

func bbWAErrString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// An empty buffer (nil and zero-length): the write completes once, posted (not inside the call,
// which is made on the socket's executor), with N == 0 and nil, on the handler's executor, and
// writes nothing: what the peer reads afterwards is only the next write's bytes.
func TestBlackboxWriteAllEmptyBuffer(t *testing.T) {
	r := bbRun(t, 1)
	r2 := bbRun(t, 1)
	ln := bbStdListener(t)
	s, peer := bbWAConn(t, r.ioc, ln)
	p := bbWARead(t, peer, 4096, 0, false, nil)
	var in bbWAInCall
	var inside, off2 atomic.Int32
	hs := []*bbOnce[net.IOResult]{bbNewOnce[net.IOResult](), bbNewOnce[net.IOResult](), bbNewOnce[net.IOResult]()}
	// One after the other, each from the previous one's handler: an empty write is still the
	// write direction's operation until its handler has run (a second one meanwhile may fail with
	// ErrInProgress), which AsyncWrite's "one must not start another write on s until h has run" allows.
	bufs := [][]byte{nil, {}, make([]byte, 0, 10)}
	var write func(i int)
	write = func(i int) {
		if i == len(bufs) {
			return
		}
		var h completion.Handler[net.IOResult] = completion.Callback(func(res net.IOResult) {
			if in.inside() {
				inside.Add(1)
			}
			if i == 2 && !r2.onRunner() {
				off2.Add(1)
			}
			hs[i].Complete(res)
			if i < 2 {
				write(i + 1)
			} else {
				r.ioc.Post(func() { write(i + 1) })
			}
		})
		if i == 2 {
			h = completion.Bind(r2.ioc, h)
		}
		in.call(func() { net.AsyncWrite(s, bufs[i], h) })
	}
	r.ioc.Post(func() { write(0) })
	for i, h := range hs {
		if res := bbWAWait(t, h, "the empty write"); res.N != 0 || res.Err != nil {
			t.Errorf("empty write %d: %d bytes, %v; want 0, nil", i, res.N, res.Err)
		}
	}
	if inside.Load() != 0 {
		t.Errorf("an empty write's handler ran inside AsyncWrite")
	}
	if off2.Load() != 0 {
		t.Errorf("the empty write's handler bound to another IOContext ran off it")
	}
	after := []byte("after")
	if res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(s, after, h) }); res.N != len(after) || res.Err != nil {
		t.Errorf("the write after the empty ones: %d, %v", res.N, res.Err)
	}
	if got := bbWAShutAndRead(t, s, p); !bytes.Equal(got, after) {
		t.Errorf("the peer got %q, want only %q", got, after)
	}
	r.stop()
	r2.stop()
	bbWAOnceEach(t, "empty write", hs...)
}

// Several Run goroutines on one IOContext, several sockets each on a Strand of its own, each with a
// chain of AsyncWrites (started from the previous handler) and a chain of reads of what its peer
// sends, both on the strand: the strand's handlers never overlap, every write completes whole, and
// each peer gets its writes in order.
func TestBlackboxWriteAllSeveralRunnersSocketsOnStrands(t *testing.T) {
	const conns, writes = 4, 12
	r := bbRun(t, 3)
	ln := bbStdListener(t)
	var wg sync.WaitGroup
	type conn struct {
		s      *net.TCPSocket
		peer   *stdnet.TCPConn
		p      *bbWAPeer
		want   []byte
		probe  bbWAStrandProbe
		failed atomic.Int32
		reads  atomic.Int64
	}
	cs := make([]*conn, conns)
	for k := range cs {
		c := &conn{}
		cs[k] = c
		st := executor.NewStrand(r.ioc)
		c.s, c.peer = bbWAConn(t, st, ln)
		c.p = bbWARead(t, c.peer, 1000+k*300, 0, false, bbWASlow)
		bufs := make([][]byte, writes)
		for i := range bufs {
			bufs[i] = bbPattern(k*100+i, (i*7919*(k+1))%(700<<10)+1)
			c.want = append(c.want, bufs[i]...)
		}
		check := func(f func()) func() {
			return func() {
				c.probe.enter()
				if !r.onRunner() {
					c.failed.Add(1)
				}
				f()
				runtime.Gosched()
				c.probe.leave()
			}
		}
		wg.Add(2)
		var write func(i int)
		write = func(i int) {
			if i == writes {
				c.peer.Write([]byte{0}) // tells the reads to end
				wg.Done()
				return
			}
			net.AsyncWrite(c.s, bufs[i], completion.Callback(func(res net.IOResult) {
				check(func() {
					if res.Err != nil || res.N != len(bufs[i]) {
						c.failed.Add(1)
					}
				})()
				write(i + 1)
			}))
		}
		rbuf := make([]byte, 64)
		var read func()
		read = func() {
			c.s.AsyncReadSome(rbuf, completion.Callback(func(res net.IOResult) {
				last := false
				check(func() {
					if res.Err != nil {
						c.failed.Add(1)
						last = true
						return
					}
					c.reads.Add(1)
					last = bytes.IndexByte(rbuf[:res.N], 0) >= 0
				})()
				if last {
					wg.Done()
					return
				}
				read()
			}))
		}
		go func() {
			for i := range 50 {
				if _, err := c.peer.Write([]byte{byte(i%250 + 1)}); err != nil {
					return
				}
				runtime.Gosched()
			}
		}()
		st.Post(func() { read(); write(0) })
	}
	bbWaitGroupWithin(t, &wg, "the sockets' chains of writes and reads")
	for k, c := range cs {
		if n := c.failed.Load(); n != 0 {
			t.Errorf("conn %d: %d handlers failed or ran off the Run goroutines", k, n)
		}
		if n := c.probe.overlap.Load(); n != 0 {
			t.Errorf("conn %d: its strand's handlers overlapped %d times", k, n)
		}
		bbWAPrefix(t, "chained writes on a strand", bbWAShutAndRead(t, c.s, c.p), c.want, len(c.want))
	}
	r.stop()
}

// A write's context cancelled as the write ends, while the next write (no context of its own) is
// started from its handler: the cancellation reaches at most the write it was bound to, never the
// next one, which writes all of its bytes; the peer gets what the first wrote, then the second.
func TestBlackboxWriteAllStaleContextSparesTheNextWrite(t *testing.T) {
	first := bbPattern(10, 200000)
	second := bbPattern(11, 1<<20)
	for _, runners := range []int{1, 2} {
		r, ln, ex := bbWAExec(t, runners)
		for i := range 20 {
			s, peer := bbWAConn(t, ex, ln)
			p := bbWARead(t, peer, 64<<10, 0, false, nil)
			ctx, cancel := context.WithCancel(context.Background())
			h1, h2 := bbNewOnce[net.IOResult](), bbNewOnce[net.IOResult]()
			firstDone := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				if i%2 == 0 {
					<-firstDone
				}
				for range i % 4 {
					runtime.Gosched()
				}
				cancel()
			})
			net.AsyncWrite(s, first, completion.WithContext(ctx, completion.Callback(func(res net.IOResult) {
				net.AsyncWrite(s, second, h2)
				close(firstDone)
				h1.Complete(res)
			})))
			r1 := bbWAWait(t, h1, "the first write")
			r2 := bbWAWait(t, h2, "the second write")
			wg.Wait()
			if r1.Err != nil {
				bbWantAbortCtx(t, "the first write", r1.Err, context.Canceled)
			} else if r1.N != len(first) {
				t.Errorf("the first write succeeded with %d of %d bytes", r1.N, len(first))
			}
			bbWAWantWhole(t, "the second write, after a cancelled context of the first", r2, len(second))
			want := append(first[:r1.N:r1.N], second...)
			bbWAPrefix(t, "two writes", bbWAShutAndRead(t, s, p), want, len(want))
			s.Close()
			peer.Close()
			if t.Failed() {
				t.Fatalf("%d runners, round %d: first %+v, second %+v", runners, i, r1, r2)
			}
		}
		r.stop()
	}
}

// The handler's context cancelled, Close and Cancel all at once from three goroutines while a
// write is pending midway: the handler runs exactly once, with ErrOperationAborted and N so far,
// and the peer gets exactly N bytes.
func TestBlackboxWriteAllContextCloseAndCancelTogether(t *testing.T) {
	b := bbPattern(12, bbWABig)
	r, ln, ex := bbWAExec(t, 2)
	var hs []*bbOnce[net.IOResult]
	for i := range 20 {
		s, peer := bbWAConn(t, ex, ln)
		p := bbWARead(t, peer, 2000, 100000+i*1000, true, nil)
		ctx, cancel := context.WithCancel(context.Background())
		h := bbNewOnce[net.IOResult]()
		hs = append(hs, h)
		net.AsyncWrite(s, b, completion.WithContext(ctx, h))
		<-p.reached
		start := make(chan struct{})
		var wg sync.WaitGroup
		for k, f := range []func(){cancel, func() { s.Close() }, func() { s.Cancel() }} {
			wg.Go(func() {
				<-start
				for range (i + k) % 3 {
					runtime.Gosched()
				}
				f()
			})
		}
		close(start)
		wg.Wait()
		res := bbWAWait(t, h, "the write stopped three ways")
		if !errors.Is(res.Err, completion.ErrOperationAborted) || res.N < 100000+i*1000 || res.N >= len(b) {
			t.Errorf("round %d: %d bytes, %v; want part of %d and ErrOperationAborted", i, res.N, res.Err, len(b))
		}
		p.release()
		bbWAPrefix(t, "the write stopped three ways", p.wait(), b, res.N)
		peer.Close()
	}
	r.stop()
	bbWAOnceEach(t, "the write stopped three ways", hs...)
}
