package net

// The tests of TCPSocket, TCPAcceptor and SteadyTimer that use only their exported API, so that
// they run on both paths: the Linux reactor (the default on Linux) and the portable path over Go's
// net package (off Linux, and on Linux with -tags beastgo_portable). The reactor's own tests are in
// tcp_linux_test.go, the portable path's in tcp_portable_test.go.

import (
	"bytes"
	"context"
	"errors"
	"io"
	stdnet "net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// listen returns an acceptor on a free loopback port.
func listen(t *testing.T, ex executor.Executor) *TCPAcceptor {
	t.Helper()
	a := NewTCPAcceptor(ex)
	if err := a.Listen(loopback, 0); err != nil {
		t.Fatal(err)
	}
	return a
}

// connectedPair returns a connected client and server socket on ctx, both made by running ctx.
func connectedPair(t *testing.T, ctx *executor.IOContext) (client, server *TCPSocket) {
	t.Helper()
	a := listen(t, ctx)
	defer a.Close()
	client = NewTCPSocket(ctx)
	var cerr, aerr error = errors.New("connect did not complete"), errors.New("accept did not complete")
	a.AsyncAccept(nil, completion.Callback(func(r AcceptResult) { server, aerr = r.Socket, r.Err }))
	client.AsyncConnect(a.Addr(), completion.Callback(func(err error) { cerr = err }))
	ctx.Run()
	ctx.Restart()
	if cerr != nil || aerr != nil {
		t.Fatalf("connect: %v, accept: %v", cerr, aerr)
	}
	return client, server
}

// writeAll writes b with AsyncWriteSome until done, then calls done.
func writeAll(s *TCPSocket, b []byte, done func(error)) {
	if len(b) == 0 {
		done(nil)
		return
	}
	s.AsyncWriteSome(b, completion.Callback(func(r IOResult) {
		if r.Err != nil {
			done(r.Err)
			return
		}
		writeAll(s, b[r.N:], done)
	}))
}

// waitRun runs ctx until ch has a value, and returns ch.
func waitRun[T any](ctx *executor.IOContext, ch chan T) chan T {
	ctx.Restart()
	for len(ch) == 0 {
		ctx.RunOne()
		ctx.Restart()
	}
	return ch
}

// echoUntilEOF makes server echo whatever it reads, 64 KiB at a time, until EOF, and then shut
// its sending side down.
func echoUntilEOF(server *TCPSocket) {
	buf := make([]byte, 64<<10)
	var echo func()
	echo = func() {
		server.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
			if r.Err != nil {
				server.Shutdown(ShutdownWrite)
				return
			}
			writeAll(server, buf[:r.N], func(err error) {
				if err == nil {
					echo()
				}
			})
		}))
	}
	echo()
}

func TestConnectRefused(t *testing.T) {
	ctx := executor.NewIOContext()
	a := listen(t, ctx)
	addr := a.Addr()
	a.Close() // nothing listens there now
	s := NewTCPSocket(ctx)
	var err error = errors.New("no completion")
	s.AsyncConnect(addr, completion.Callback(func(e error) { err = e }))
	ctx.Run()
	if !isRefused(err) {
		t.Fatalf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
	s.Close()
}

func TestAcceptMany(t *testing.T) {
	const n = 200
	ctx := executor.NewIOContext()
	a := listen(t, ctx)
	var accepted []*TCPSocket
	var accept func()
	accept = func() {
		a.AsyncAccept(nil, completion.Callback(func(r AcceptResult) {
			if r.Err != nil {
				t.Errorf("accept: %v", r.Err)
				return
			}
			accepted = append(accepted, r.Socket)
			if len(accepted) < n {
				accept()
			}
		}))
	}
	accept()
	clients := make([]*TCPSocket, n)
	connected := 0
	for i := range clients {
		clients[i] = NewTCPSocket(ctx)
		clients[i].AsyncConnect(a.Addr(), completion.Callback(func(err error) {
			if err != nil {
				t.Errorf("connect: %v", err)
			}
			connected++
		}))
	}
	ctx.Run()
	if len(accepted) != n || connected != n {
		t.Fatalf("accepted %d and connected %d of %d", len(accepted), connected, n)
	}
	for _, s := range accepted {
		remote, err := s.RemoteAddr()
		if err != nil || !remote.Addr().IsLoopback() {
			t.Fatalf("accepted socket's peer: %v, %v", remote, err)
		}
		s.Close()
	}
	for _, s := range clients {
		s.Close()
	}
	a.Close()
}

func TestCancelAbortsPendingOperations(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	reads := make(chan IOResult, 1)
	client.AsyncReadSome(make([]byte, 10), completion.Chan(reads))
	if n := client.Cancel(); n != 1 {
		t.Fatalf("Cancel reported %d, want 1", n)
	}
	ctx.Run()
	if r := <-reads; !errors.Is(r.Err, completion.ErrOperationAborted) {
		t.Fatalf("cancelled read: %v", r.Err)
	}
	// The socket still works after Cancel.
	ctx.Restart()
	writeAll(server, []byte("hi"), func(error) {})
	client.AsyncReadSome(make([]byte, 10), completion.Chan(reads))
	ctx.Run()
	if r := <-reads; r.Err != nil || r.N != 2 {
		t.Fatalf("read after Cancel: %+v", r)
	}
}

func TestReadInProgressIsAnError(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer server.Close()
	first, second := make(chan IOResult, 1), make(chan IOResult, 1)
	client.AsyncReadSome(make([]byte, 10), completion.Chan(first))
	client.AsyncReadSome(make([]byte, 10), completion.Chan(second))
	ctx.Poll()
	if r := <-second; !errors.Is(r.Err, ErrInProgress) {
		t.Fatalf("second read: %v, want ErrInProgress", r.Err)
	}
	client.Close()
	ctx.Restart()
	ctx.Run()
	<-first
}

func TestShutdownWriteIsEOFAtPeer(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	writeAll(client, []byte("last words"), func(error) { client.Shutdown(ShutdownWrite) })
	var got []byte
	var end error
	buf := make([]byte, 4)
	var read func()
	read = func() {
		server.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
			got = append(got, buf[:r.N]...)
			if r.Err != nil {
				end = r.Err
				return
			}
			read()
		}))
	}
	read()
	ctx.Run()
	if string(got) != "last words" || end != io.EOF {
		t.Fatalf("peer read %q then %v, want the data then io.EOF", got, end)
	}
}

func TestZeroLengthReadAndWriteCompleteAtOnce(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	var results []IOResult
	inside := true
	h := completion.Callback(func(r IOResult) {
		if inside {
			t.Error("completion ran inside the initiating call")
		}
		results = append(results, r)
	})
	client.AsyncReadSome(nil, h)
	client.AsyncWriteSome(nil, h)
	inside = false
	ctx.Run()
	if len(results) != 2 || results[0] != (IOResult{}) || results[1] != (IOResult{}) {
		t.Fatalf("zero-length operations: %+v", results)
	}
}

func TestSocketOptions(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	for _, s := range []*TCPSocket{client, server} {
		if on, err := s.NoDelay(); err != nil || !on {
			t.Fatalf("NoDelay by default: %v, %v", on, err)
		}
	}
	if err := client.SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	if on, _ := client.NoDelay(); on {
		t.Fatal("SetNoDelay(false) did not turn it off")
	}
	if err := client.SetKeepAlive(true); err != nil {
		t.Fatal(err)
	}
	if err := client.SetReadBuffer(1 << 16); err != nil {
		t.Fatal(err)
	}
	local, err := client.LocalAddr()
	if err != nil || !local.Addr().IsLoopback() || local.Port() == 0 {
		t.Fatalf("LocalAddr: %v, %v", local, err)
	}
	unconnected := NewTCPSocket(ctx)
	if _, err := unconnected.RemoteAddr(); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("RemoteAddr of an unconnected socket: %v", err)
	}
}

func TestCompletionsRunOnTheRunGoroutine(t *testing.T) {
	// One goroutine in Run serves the socket: the read's handler runs on it.
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	var onRunner bool
	runner := goroutineID()
	client.AsyncReadSome(make([]byte, 8), completion.Callback(func(r IOResult) { onRunner = goroutineID() == runner }))
	go writeAll(server, []byte("x"), func(error) {}) // from another goroutine: posts, wakes the reactor
	ctx.Run()
	if !onRunner {
		t.Fatal("the read's handler did not run on the Run goroutine")
	}
}

func TestTimersFireInDeadlineOrderAndCancel(t *testing.T) {
	ctx := executor.NewIOContext()
	var order []int
	base := time.Now()
	timers := make([]*SteadyTimer, 5)
	for i, ms := range []int{40, 10, 30, 20, 50} {
		timers[i] = NewSteadyTimer(ctx)
		timers[i].ExpiresAt(base.Add(time.Duration(ms) * time.Millisecond))
		timers[i].AsyncWait(completion.Callback(func(err error) {
			if err != nil {
				order = append(order, -ms)
				return
			}
			if time.Now().Before(timers[i].Expiry()) {
				t.Errorf("timer %d fired early", ms)
			}
			order = append(order, ms)
		}))
	}
	if n := timers[2].Cancel(); n != 1 { // the 30 ms timer
		t.Fatalf("Cancel returned %d", n)
	}
	ctx.Run()
	want := []int{-30, 10, 20, 40, 50}
	if len(order) != len(want) {
		t.Fatalf("completions %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("completions %v, want %v", order, want)
		}
	}
}

func TestTimerExpiredWaitIsPostedAndExpiresAfterCancels(t *testing.T) {
	ctx := executor.NewIOContext()
	tm := NewSteadyTimer(ctx)
	inside := true
	var got []error
	tm.AsyncWait(completion.Callback(func(err error) {
		if inside {
			t.Error("an expired timer's wait completed inside AsyncWait")
		}
		got = append(got, err)
	}))
	inside = false
	ctx.Run()
	tm.ExpiresAfter(time.Hour)
	tm.AsyncWait(completion.Callback(func(err error) { got = append(got, err) }))
	if n := tm.ExpiresAfter(time.Hour); n != 1 {
		t.Fatalf("ExpiresAfter cancelled %d waits, want 1", n)
	}
	ctx.Restart()
	ctx.Run()
	if len(got) != 2 || got[0] != nil || !errors.Is(got[1], completion.ErrOperationAborted) {
		t.Fatalf("completions %v", got)
	}
}

// isRefused reports whether err is a refused connection's: ECONNREFUSED, which Windows numbers
// WSAECONNREFUSED (10061) and Go's syscall package does not map.
func isRefused(err error) bool {
	var errno syscall.Errno
	return errors.Is(err, syscall.ECONNREFUSED) ||
		runtime.GOOS == "windows" && errors.As(err, &errno) && errno == 10061
}

func TestEchoOverLoopback(t *testing.T) {
	size := 8 << 20
	if raceEnabled || testing.Short() {
		size = 1 << 20
	}
	echoThrough(t, size, 32<<10, func(client *TCPSocket, data []byte, done func(error)) {
		AsyncWrite(client, data, completion.Callback(func(r IOResult) { done(r.Err) }))
	})
}

// echoThrough sends size bytes through an echo server on a new loopback connection, written by
// write and read back readSize bytes at a time, and checks that they all come back, then io.EOF.
func echoThrough(t *testing.T, size, readSize int, write func(client *TCPSocket, data []byte, done func(error))) {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()

	echoUntilEOF(server)

	var writeErr error
	write(client, data, func(err error) {
		writeErr = err
		client.Shutdown(ShutdownWrite)
	})
	got := make([]byte, 0, size)
	buf := make([]byte, readSize)
	var readErr error
	var read func()
	read = func() {
		client.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
			got = append(got, buf[:r.N]...)
			if r.Err != nil {
				readErr = r.Err
				return
			}
			read()
		}))
	}
	read()
	ctx.Run()
	if writeErr != nil {
		t.Fatal(writeErr)
	}
	if readErr != io.EOF {
		t.Fatalf("the read loop ended with %v, want io.EOF", readErr)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo returned %d bytes, differing from the %d sent", len(got), len(data))
	}
}

func TestCloseWithReadPending(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer server.Close()
	reads := make(chan IOResult, 1)
	client.AsyncReadSome(make([]byte, 10), completion.Chan(reads))
	ctx.Poll()
	if len(reads) != 0 {
		t.Fatalf("read completed with nothing sent: %+v", <-reads)
	}
	ctx.Restart()
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	ctx.Run()
	if r := <-reads; !errors.Is(r.Err, completion.ErrOperationAborted) {
		t.Fatalf("pending read after Close: %+v, want ErrOperationAborted", r)
	}
	// Everything after Close fails clearly, and is still posted.
	if n := client.Cancel(); n != 0 {
		t.Fatalf("Cancel after Close cancelled %d", n)
	}
	after := make(chan IOResult, 2)
	inside := true
	h := completion.Callback(func(r IOResult) {
		if inside {
			t.Error("completion ran inside the initiating call")
		}
		after <- r
	})
	client.AsyncReadSome(make([]byte, 1), h)
	client.AsyncWriteSome([]byte("x"), h)
	inside = false
	ctx.Restart()
	ctx.Run()
	for range 2 {
		if r := <-after; !errors.Is(r.Err, stdnet.ErrClosed) {
			t.Fatalf("operation after Close: %+v, want net.ErrClosed", r)
		}
	}
	if err := client.Close(); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
	if err := NewTCPSocket(ctx).Close(); err != nil {
		t.Fatalf("Close of a socket never opened: %v", err)
	}
}

// A pending read whose handler's context ends completes with an error that is both the context's
// and ErrOperationAborted, and the socket stays usable; a context already done reads nothing.
func TestContextCancelsPendingRead(t *testing.T) {
	ioc := executor.NewIOContext()
	client, server := connectedPair(t, ioc)
	defer client.Close()
	defer server.Close()
	ctx, cancel := context.WithCancel(context.Background())
	reads := make(chan IOResult, 1)
	buf := make([]byte, 10)
	client.AsyncReadSome(buf, completion.WithContext(ctx, completion.Chan(reads)))
	ioc.Poll()
	ioc.Restart()
	cancel()
	ioc.Run()
	if r := <-reads; !errors.Is(r.Err, context.Canceled) || !errors.Is(r.Err, completion.ErrOperationAborted) {
		t.Fatalf("cancelled read: %+v", r)
	}

	ioc.Restart()
	writeAll(server, []byte("hi"), func(error) {})
	client.AsyncReadSome(buf, completion.WithContext(ctx, completion.Chan(reads))) // ctx is done
	ioc.Run()
	if r := <-reads; !errors.Is(r.Err, context.Canceled) || r.N != 0 {
		t.Fatalf("read with a context already done: %+v", r)
	}
	ioc.Restart()
	client.AsyncReadSome(buf, completion.Chan(reads))
	ioc.Run()
	if r := <-reads; r.Err != nil || string(buf[:r.N]) != "hi" {
		t.Fatalf("read after the cancelled ones: %+v %q", r, buf[:r.N])
	}
}

// The completion runs on the handler's associated executor, and the pending operation counts work
// on both executors: neither Run returns while the read waits.
func TestCompletionOnTheHandlersExecutor(t *testing.T) {
	io1, io2 := executor.NewIOContext(), executor.NewIOContext()
	client, server := connectedPair(t, io1)
	defer client.Close()
	defer server.Close()
	done := make(chan bool, 2)
	var io2Runner atomic.Uint64 // the goroutine running io2, set before it runs anything
	client.AsyncReadSome(make([]byte, 1), completion.Bind(io2, completion.Callback(func(r IOResult) {
		done <- goroutineID() == io2Runner.Load() && r.N == 1
	})))
	tm := NewSteadyTimer(io1)
	tm.ExpiresAfter(time.Millisecond)
	tm.AsyncWait(completion.Bind(io2, completion.Callback(func(err error) {
		done <- goroutineID() == io2Runner.Load() && err == nil
	})))
	var wg sync.WaitGroup
	wg.Go(func() { io1.Run() })
	wg.Go(func() { io2Runner.Store(goroutineID()); io2.Run() })
	time.Sleep(10 * time.Millisecond) // both Run calls must wait for the read
	server.AsyncWriteSome([]byte("x"), completion.Detached[IOResult]())
	wg.Wait()
	for range 2 {
		select {
		case ok := <-done:
			if !ok {
				t.Fatal("a handler did not run on its executor with its result")
			}
		default:
			t.Fatal("a handler never ran: its executor's Run returned without waiting for it")
		}
	}
}

func TestAcceptorCancelCloseAndMisuse(t *testing.T) {
	ioc := executor.NewIOContext()
	var results []AcceptResult
	record := completion.Callback(func(r AcceptResult) { results = append(results, r) })
	unlistened := NewTCPAcceptor(ioc)
	unlistened.AsyncAccept(nil, record)
	if err := unlistened.Close(); err != nil {
		t.Fatalf("Close of an acceptor never listening: %v", err)
	}
	ioc.Run()
	if len(results) != 1 || !errors.Is(results[0].Err, ErrNotConnected) {
		t.Fatalf("accept on an acceptor not listening: %+v", results)
	}

	a := listen(t, ioc)
	results = nil
	a.AsyncAccept(nil, record)
	a.AsyncAccept(nil, record)
	if n := a.Cancel(); n != 1 {
		t.Fatalf("Cancel reported %d, want 1", n)
	}
	ioc.Restart()
	ioc.Run()
	// Both completions are posted; in which order they reach the handler depends on whether the
	// posted wrapper may dispatch inline (it may where goroutines can be identified), so only the
	// set of results is promised.
	if len(results) != 2 || !errors.Is(results[0].Err, ErrInProgress) && !errors.Is(results[1].Err, ErrInProgress) ||
		!errors.Is(results[0].Err, completion.ErrOperationAborted) && !errors.Is(results[1].Err, completion.ErrOperationAborted) {
		t.Fatalf("the second accept and the cancelled one: %+v, want ErrInProgress and ErrOperationAborted", results)
	}

	// A connection made after the cancel is not lost: the next accept takes it.
	results = nil
	c := NewTCPSocket(ioc)
	defer c.Close()
	connected := make(chan error, 1)
	c.AsyncConnect(a.Addr(), completion.Chan(connected))
	a.AsyncAccept(nil, record)
	ioc.Restart()
	ioc.Run()
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Err != nil {
		t.Fatalf("accept after a cancelled one: %+v", results)
	}
	remote, _ := results[0].Socket.RemoteAddr()
	local, _ := c.LocalAddr()
	if remote != local {
		t.Fatalf("accepted a connection from %v, want %v", remote, local)
	}
	results[0].Socket.Close()

	// Close completes a pending accept with ErrOperationAborted; accepts after it fail.
	results = nil
	a.AsyncAccept(nil, record)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	ioc.Restart()
	ioc.Run()
	a.AsyncAccept(nil, record)
	ioc.Restart()
	ioc.Run()
	if len(results) != 2 || !errors.Is(results[0].Err, completion.ErrOperationAborted) || !errors.Is(results[1].Err, stdnet.ErrClosed) {
		t.Fatalf("accept pending at Close, then one after: %+v", results)
	}
	if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestAcceptContextCancel(t *testing.T) {
	ioc := executor.NewIOContext()
	a := listen(t, ioc)
	defer a.Close()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan AcceptResult, 1)
	a.AsyncAccept(nil, completion.WithContext(ctx, completion.Chan(res)))
	ioc.Poll()
	ioc.Restart()
	cancel()
	ioc.Run()
	if r := <-res; !errors.Is(r.Err, context.Canceled) || !errors.Is(r.Err, completion.ErrOperationAborted) {
		t.Fatalf("cancelled accept: %+v", r)
	}
}

func TestTimerContextCancel(t *testing.T) {
	ioc := executor.NewIOContext()
	tm := NewSteadyTimer(ioc)
	tm.ExpiresAfter(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	waits, others := make(chan error, 2), make(chan error, 1)
	tm.AsyncWait(completion.WithContext(ctx, completion.Chan(waits)))
	tm.AsyncWait(completion.Chan(others)) // without the context: not cancelled by it
	cancel()
	if err := <-waitRun(ioc, waits); !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("wait whose context ended: %v", err)
	}
	// A context already done completes the wait at once (posted), even on an expired timer.
	tm2 := NewSteadyTimer(ioc)
	inside := true
	tm2.AsyncWait(completion.WithContext(ctx, completion.Callback(func(err error) {
		if inside {
			t.Error("completion ran inside AsyncWait")
		}
		waits <- err
	})))
	inside = false
	if err := <-waitRun(ioc, waits); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with a context already done: %v", err)
	}
	if n := tm.Cancel(); n != 1 {
		t.Fatalf("Cancel found %d waits, want the one without the context", n)
	}
	ioc.Restart()
	ioc.Run()
	if err := <-others; !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("the other wait: %v", err)
	}
}

func TestListenTwiceAndOperationsAfterCloseFailClearly(t *testing.T) {
	ctx := executor.NewIOContext()
	a := listen(t, ctx)
	if err := a.Listen(loopback, 0); !errors.Is(err, ErrListening) {
		t.Fatalf("second Listen: %v, want ErrListening", err)
	}
	pending := make(chan AcceptResult, 1)
	a.AsyncAccept(nil, completion.Chan(pending))
	a.Close()
	// Started before the aborted accept's handler has run: closed, not in progress.
	after := make(chan AcceptResult, 1)
	a.AsyncAccept(nil, completion.Chan(after))
	ctx.Run()
	if r := <-pending; !errors.Is(r.Err, completion.ErrOperationAborted) {
		t.Fatalf("pending accept at Close: %v", r.Err)
	}
	if r := <-after; !errors.Is(r.Err, stdnet.ErrClosed) {
		t.Fatalf("accept after Close: %v, want net.ErrClosed", r.Err)
	}
}

func TestSeveralRunGoroutinesShareTheReactor(t *testing.T) {
	// Sixteen connections on one IOContext run by three goroutines, each connection on a strand
	// (its handlers one at a time, as Asio requires on a multi-threaded context): every echo
	// must come back whole, under -race.
	const conns, rounds, size = 16, 50, 3000
	ctx := executor.NewIOContext()
	a := listen(t, ctx)
	defer a.Close()
	guard := executor.MakeWorkGuard(ctx)
	var runners sync.WaitGroup
	for range 3 {
		runners.Go(func() { ctx.Run() })
	}
	var done sync.WaitGroup
	var failures atomic.Int32
	for i := range conns {
		done.Add(1)
		server := make(chan AcceptResult, 1)
		a.AsyncAccept(executor.NewStrand(ctx), completion.Chan(server)) // the accepted socket's strand
		s := executor.NewStrand(ctx)
		c := NewTCPSocket(s)
		connected := make(chan error, 1)
		c.AsyncConnect(a.Addr(), completion.Chan(connected))
		if err := <-connected; err != nil {
			t.Fatal(err)
		}
		sr := <-server
		if sr.Err != nil {
			t.Fatal(sr.Err)
		}
		sock := sr.Socket
		echoBuf := make([]byte, size)
		var echo func()
		echo = func() {
			AsyncRead(sock, echoBuf, completion.Callback(func(r IOResult) {
				if r.Err == nil {
					AsyncWrite(sock, echoBuf, completion.Callback(func(IOResult) { echo() }))
				}
			}))
		}
		echo()
		msg := bytes.Repeat([]byte{byte(i)}, size)
		back := make([]byte, size)
		left := rounds
		var round func()
		round = func() {
			AsyncWrite(c, msg, completion.Callback(func(r IOResult) {
				AsyncRead(c, back, completion.Callback(func(r IOResult) {
					if r.Err != nil || !bytes.Equal(back, msg) {
						failures.Add(1)
					}
					if left--; left > 0 && r.Err == nil {
						round()
						return
					}
					c.Close()
					sock.Close()
					done.Done()
				}))
			}))
		}
		s.Post(round)
	}
	done.Wait()
	guard.Reset()
	runners.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d echoes came back wrong", n)
	}
}
