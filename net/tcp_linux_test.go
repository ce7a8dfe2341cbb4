//go:build linux && !beastgo_portable

package net

// The tests of what only the reactor does, or what only it can be made to show (a write left
// pending by a full send buffer, a reset, its goroutine-free idle sockets). The tests of the
// exported API that hold on both paths are in tcp_test.go.

import (
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// TestEchoThroughOneByteReads echoes through reads of one byte each: millions of operations, most of
// them completing at once, the rest after waiting in the reactor.
func TestEchoThroughOneByteReads(t *testing.T) {
	size := 2 << 20 // each byte is a read and a write: 2 MiB is four million operations
	if raceEnabled || testing.Short() {
		size = 1 << 20
	}
	echoThrough(t, size, 1, writeAll)
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

func TestPeerResetMidWrite(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	// SO_LINGER 0 makes close send RST instead of FIN.
	if err := unix.SetsockoptLinger(server.d.Load().fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
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

// A read that drains the socket (fewer bytes than its buffer holds) leaves the next read waiting
// for a readiness edge without trying its system call. These make sure no edge is missed: data
// sent after the short read, and an end of stream that arrived together with the data, which no
// further edge follows.
func TestReadAfterAShortRead(t *testing.T) {
	readTwice := func(t *testing.T, ctx *executor.IOContext, s *TCPSocket, between func()) (first, second IOResult, data string) {
		t.Helper()
		buf := make([]byte, 100)
		got := make(chan struct{}, 1)
		s.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
			first, data = r, string(buf[:r.N])
			between()
			s.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
				second = r
				if r.Err == nil {
					data += string(buf[:r.N])
				}
				got <- struct{}{}
			}))
		}))
		ctx.Restart()
		ctx.RunFor(5 * time.Second)
		if len(got) == 0 {
			t.Fatal("the read after a short read never completed")
		}
		return first, second, data
	}

	t.Run("more data later", func(t *testing.T) {
		ctx := executor.NewIOContext()
		client, server := connectedPair(t, ctx)
		defer client.Close()
		defer server.Close()
		writeAll(client, []byte("abc"), func(error) {})
		ctx.Run()
		first, second, data := readTwice(t, ctx, server, func() {
			writeAll(client, []byte("def"), func(error) {})
		})
		if first.Err != nil || second.Err != nil || data != "abcdef" {
			t.Fatalf("reads %+v, %+v of %q; want abcdef", first, second, data)
		}
	})

	t.Run("end of stream with the data", func(t *testing.T) {
		ctx := executor.NewIOContext()
		client, server := connectedPair(t, ctx)
		defer client.Close()
		defer server.Close()
		writeAll(client, []byte("abc"), func(error) { client.Shutdown(ShutdownWrite) })
		ctx.Run()
		ctx.Restart()
		ctx.OnWorkStarted() // so that Poll waits in the reactor rather than return out of work
		ctx.Poll()          // the reactor sees the data and the end together, before any read
		ctx.OnWorkFinished()
		first, second, data := readTwice(t, ctx, server, func() {})
		if first.Err != nil || data != "abc" || second.Err != io.EOF {
			t.Fatalf("reads %+v, %+v of %q; want abc then io.EOF", first, second, data)
		}
	})
}

// A handler on one Run goroutine starts a read that completes on the other while the handler
// still runs: the context must not judge itself out of work under it (the work the read's
// completion releases is settled late, and must not cancel out the handler's own).
func TestReadCompletedOnAnotherRunnerWhileItsStarterRuns(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	var readDone, after atomic.Bool
	buf := make([]byte, 16)
	ctx.Post(func() {
		client.AsyncReadSome(buf, completion.Callback(func(IOResult) { readDone.Store(true) }))
		unix.Write(server.d.Load().fd, []byte("x"))
		time.Sleep(100 * time.Millisecond) // the handler's own work, while the other runner reads
		ctx.Post(func() { after.Store(true) })
	})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { ctx.Run() })
	}
	wg.Wait()
	if !readDone.Load() || !after.Load() {
		t.Fatalf("Run returned with the read done %v and the handler's later post run %v", readDone.Load(), after.Load())
	}
}
