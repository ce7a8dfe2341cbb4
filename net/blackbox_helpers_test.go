package net_test

// Helpers of the black-box tests (blackbox_*_test.go): written from the package documentation
// only. Every name starts with bb so as not to meet the other tests' helpers.

import (
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/netip"
	"os"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

var bbLoopback = netip.MustParseAddrPort("127.0.0.1:0")

// bbRunner is an IOContext run by n goroutines and kept alive by a work guard until stop, which
// then waits for every Run to return: Run returns only when nothing is pending, so a leaked
// operation shows as a stop that never ends (reported by a watchdog rather than hanging).
type bbRunner struct {
	ioc   *executor.IOContext
	guard *executor.WorkGuard
	wg    sync.WaitGroup
	once  sync.Once
	t     testing.TB
	// runners holds the goroutine number of each Run goroutine (net.GoroutineID), so that a test
	// can tell where a handler ran without goroutine identity in the executors (beastgo_nogid).
	runners sync.Map
}

// onRunner reports whether the caller is one of r's Run goroutines.
func (r *bbRunner) onRunner() bool {
	_, ok := r.runners.Load(net.GoroutineID())
	return ok
}

func bbRun(t testing.TB, n int) *bbRunner {
	t.Helper()
	r := &bbRunner{ioc: executor.NewIOContextConcurrency(n), t: t}
	r.guard = executor.MakeWorkGuard(r.ioc)
	for range n {
		r.wg.Go(func() { r.runners.Store(net.GoroutineID(), true); r.ioc.Run() })
	}
	t.Cleanup(r.stop)
	return r
}

// stop releases the guard and waits for Run to return (the context out of work). A liveness
// watchdog only: it turns a hang into a failure with the goroutines' stacks.
func (r *bbRunner) stop() {
	r.once.Do(func() {
		r.guard.Reset()
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
			r.t.Errorf("Run did not return: an operation is still pending (stacks above)")
			r.ioc.Stop()
			<-done
		}
	})
}

// bbAddrPort converts a Go net address to a netip.AddrPort.
func bbAddrPort(t testing.TB, a stdnet.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// bbStdListener listens on loopback with Go's net package and closes it at the end of the test.
func bbStdListener(t testing.TB) *stdnet.TCPListener {
	t.Helper()
	ln, err := stdnet.ListenTCP("tcp", stdnet.TCPAddrFromAddrPort(bbLoopback))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// bbDialStd connects a new TCPSocket on ex to a listener of Go's net package and returns it with
// the accepted peer. ex must be run by another goroutine.
func bbDialStd(t testing.TB, ex executor.Executor, ln *stdnet.TCPListener) (*net.TCPSocket, *stdnet.TCPConn) {
	t.Helper()
	s := net.NewTCPSocket(ex)
	err := completion.Await(func(h completion.Handler[error]) {
		s.AsyncConnect(bbAddrPort(t, ln.Addr()), h)
	})
	if err != nil {
		t.Fatalf("AsyncConnect: %v", err)
	}
	c, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// bbSocketPair returns two connected TCPSockets: client on cex, server on sex.
func bbSocketPair(t testing.TB, cex, sex executor.Executor) (client, server *net.TCPSocket) {
	t.Helper()
	acc := net.NewTCPAcceptor(sex)
	if err := acc.Listen(bbLoopback, 0); err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	fa := completion.NewFuture[net.AcceptResult]()
	acc.AsyncAccept(sex, fa)
	client = net.NewTCPSocket(cex)
	if err := completion.Await(func(h completion.Handler[error]) { client.AsyncConnect(acc.Addr(), h) }); err != nil {
		t.Fatalf("AsyncConnect: %v", err)
	}
	r := fa.Wait()
	if r.Err != nil {
		client.Close()
		t.Fatalf("AsyncAccept: %v", r.Err)
	}
	return client, r.Socket
}

// bbWantClosed checks that err is what an operation after Close returns: a *net.OpError of Go's
// net package wrapping net.ErrClosed.
func bbWantClosed(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, stdnet.ErrClosed) {
		t.Errorf("%s after Close: err = %v (%T), want one matching net.ErrClosed", what, err, err)
		return
	}
	var oe *stdnet.OpError
	if !errors.As(err, &oe) {
		t.Errorf("%s after Close: err = %v (%T) matches net.ErrClosed but is not a *net.OpError", what, err, err)
	}
}

// bbClosedOrAborted reports whether err is one a method racing Close may fail with.
func bbClosedOrAborted(err error) bool {
	return errors.Is(err, stdnet.ErrClosed) || errors.Is(err, completion.ErrOperationAborted)
}

// bbOnce is a handler that counts its calls and records the first result.
type bbOnce[R any] struct {
	mu    sync.Mutex
	calls int
	r     R
	done  chan struct{}
}

func bbNewOnce[R any]() *bbOnce[R] { return &bbOnce[R]{done: make(chan struct{})} }

func (o *bbOnce[R]) Complete(r R) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls++
	if o.calls == 1 {
		o.r = r
		close(o.done)
	}
}

func (o *bbOnce[R]) wait() R { <-o.done; o.mu.Lock(); defer o.mu.Unlock(); return o.r }

func (o *bbOnce[R]) count() int { o.mu.Lock(); defer o.mu.Unlock(); return o.calls }

// bbPattern returns n bytes of a pattern that shows misordering (a counter, not a repeat).
func bbPattern(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// bbCheckPeerClean checks a pair of Go connections that a closed socket may have shared a
// descriptor number with: each sends a sentinel and half-closes, and each must read exactly the
// other's sentinel and then EOF: no byte more, no early EOF, no reset.
func bbCheckPeerClean(t testing.TB, a, b *stdnet.TCPConn, tag string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	exchange := func(c *stdnet.TCPConn, send, want string) {
		defer wg.Done()
		if _, err := c.Write([]byte(send)); err != nil {
			errs <- fmt.Errorf("%s: write %q: %v", tag, send, err)
		}
		if err := c.CloseWrite(); err != nil {
			errs <- fmt.Errorf("%s: CloseWrite: %v", tag, err)
		}
		got, err := io.ReadAll(c)
		if err != nil || string(got) != want {
			errs <- fmt.Errorf("%s: read %q, %v; want %q then EOF", tag, got, err, want)
		}
	}
	wg.Add(2)
	go exchange(a, "ping-"+tag, "pong-"+tag)
	go exchange(b, "pong-"+tag, "ping-"+tag)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
