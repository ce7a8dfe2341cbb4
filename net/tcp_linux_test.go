//go:build linux

package net

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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

func TestEchoThroughOneByteReads(t *testing.T) {
	size := 16 << 20
	if raceEnabled || testing.Short() {
		size = 1 << 20
	}
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>8)
	}
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)

	// The server echoes whatever it reads, 64 KiB at a time, until EOF.
	sbuf := make([]byte, 64<<10)
	var echo func()
	echo = func() {
		server.AsyncReadSome(sbuf, completion.Callback(func(r IOResult) {
			if r.Err != nil {
				server.Shutdown(ShutdownWrite)
				return
			}
			writeAll(server, sbuf[:r.N], func(err error) {
				if err == nil {
					echo()
				}
			})
		}))
	}
	echo()

	var writeErr error
	writeAll(client, data, func(err error) {
		writeErr = err
		client.Shutdown(ShutdownWrite)
	})
	got := make([]byte, 0, size)
	var one [1]byte
	var readErr error
	var read func()
	read = func() {
		client.AsyncReadSome(one[:], completion.Callback(func(r IOResult) {
			if r.Err != nil {
				readErr = r.Err
				return
			}
			got = append(got, one[:r.N]...)
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
	client.Close()
	server.Close()
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
	if !errors.Is(err, syscall.ECONNREFUSED) {
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

// fillSendBuffer writes until a write is left pending, and returns its result channel.
func pendingWrite(t *testing.T, ctx *executor.IOContext, s *TCPSocket) chan IOResult {
	t.Helper()
	if err := s.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for range 1000 {
		res := make(chan IOResult, 1)
		s.AsyncWriteSome(chunk, completion.Chan(res))
		ctx.Poll()
		ctx.Restart()
		select {
		case r := <-res:
			if r.Err != nil {
				t.Fatal(r.Err)
			}
		default:
			return res // the kernel's buffers are full: this write waits in the reactor
		}
	}
	t.Fatal("writes never blocked")
	return nil
}

func TestCloseWithReadAndWritePending(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer server.Close()
	reads := make(chan IOResult, 1)
	client.AsyncReadSome(make([]byte, 10), completion.Chan(reads))
	writes := pendingWrite(t, ctx, client)
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	ctx.Run()
	for name, ch := range map[string]chan IOResult{"read": reads, "write": writes} {
		r := <-ch
		if !errors.Is(r.Err, completion.ErrOperationAborted) {
			t.Errorf("pending %s after Close: %v, want ErrOperationAborted", name, r.Err)
		}
	}
	// Operations after Close fail at once, clearly.
	after := make(chan IOResult, 1)
	client.AsyncReadSome(make([]byte, 1), completion.Chan(after))
	ctx.Restart()
	ctx.Run()
	if r := <-after; !errors.Is(r.Err, errClosed()) {
		t.Fatalf("read after Close: %v, want net.ErrClosed", r.Err)
	}
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

func TestPeerResetMidWrite(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	// SO_LINGER 0 makes close send RST instead of FIN.
	if err := unix.SetsockoptLinger(server.d.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
		t.Fatal(err)
	}
	writes := pendingWrite(t, ctx, client)
	server.Close()
	var err error
	r := <-waitRun(ctx, writes)
	err = r.Err
	for err == nil { // the pending write may still have gone out before the reset arrived
		more := make(chan IOResult, 1)
		client.AsyncWriteSome(make([]byte, 1<<16), completion.Chan(more))
		err = (<-waitRun(ctx, more)).Err
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a reset peer: %v, want ECONNRESET or EPIPE", err)
	}
	client.Close()
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
	client.AsyncReadSome(make([]byte, 8), completion.Callback(func(r IOResult) { onRunner = ctx.RunningInThisThread() }))
	go writeAll(server, []byte("x"), func(error) {}) // from another goroutine: posts, wakes the reactor
	ctx.Run()
	if !onRunner {
		t.Fatal("the read's handler did not run on the Run goroutine")
	}
}

func TestSocketOnNonIOContextExecutorUsesOwnLoop(t *testing.T) {
	pool := executor.NewThreadPool(1)
	defer pool.Join()
	var sys executor.Executor = executor.System{}
	a := listen(t, sys)
	done := make(chan AcceptResult, 1)
	a.AsyncAccept(nil, completion.Chan(done))
	c := NewTCPSocket(sys)
	connected := make(chan error, 1)
	c.AsyncConnect(a.Addr(), completion.Chan(connected))
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	msg := make(chan IOResult, 1)
	buf := make([]byte, 5)
	r.Socket.AsyncReadSome(buf, completion.Chan(msg))
	writeAll(c, []byte("hello"), func(error) {})
	if m := <-msg; m.Err != nil || string(buf[:m.N]) != "hello" {
		t.Fatalf("read %q, %v", buf[:m.N], m.Err)
	}
	r.Socket.Close()
	c.Close()
	a.Close()
	shared.r.owned.idle() // the loop's goroutine ends when nothing is registered
}

func TestManyIdleConnectionsNeedNoGoroutines(t *testing.T) {
	n := 4000
	if raceEnabled || testing.Short() {
		n = 500
	}
	ctx := executor.NewIOContext()
	a := listen(t, ctx)
	defer a.Close()
	before := runtime.NumGoroutine()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	var sockets []*TCPSocket
	var accept func()
	accept = func() {
		a.AsyncAccept(nil, completion.Callback(func(r AcceptResult) {
			if r.Err != nil {
				t.Errorf("accept: %v", r.Err)
				return
			}
			sockets = append(sockets, r.Socket)
			if len(sockets) < 2*n {
				accept()
			}
		}))
	}
	var buf [1]byte // every read shares one byte: the test measures the library, not buffers
	pending := 0
	for range n {
		c := NewTCPSocket(ctx)
		c.AsyncConnect(a.Addr(), completion.Callback(func(err error) {
			if err != nil {
				t.Errorf("connect: %v", err)
			}
		}))
		sockets = append(sockets, c)
	}
	accept()
	for len(sockets) < 2*n {
		if ctx.RunOne() == 0 {
			t.Fatal("context ran out of work before every connection was accepted")
		}
	}
	for _, s := range sockets {
		s.AsyncReadSome(buf[:], completion.Callback(func(r IOResult) { pending-- }))
		pending++
	}
	ctx.Poll()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	if g := runtime.NumGoroutine(); g > before+2 {
		t.Fatalf("%d goroutines with %d sockets reading, %d before: the reactor should need none", g, 2*n, before)
	}
	t.Logf("%d sockets with a read pending: %d bytes of heap per connection (both ends), %d goroutines",
		2*n, int64(ms1.HeapAlloc-ms0.HeapAlloc)/int64(n), runtime.NumGoroutine())
	var wg sync.WaitGroup
	for _, s := range sockets {
		s.Close()
	}
	ctx.Restart()
	ctx.Run()
	wg.Wait()
	if pending != 0 {
		t.Fatalf("%d reads never completed after Close", pending)
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
