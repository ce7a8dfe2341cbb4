//go:build !linux || beastgo_portable

package net

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// The tests of what only the portable path does: its goroutines, and its Cancel, which leaves
// writes alone.

// portableGoroutines counts the goroutines of the portable path's sockets and acceptors, by their
// creators (a goroutine not yet started shows no frame of the function it will run).
func portableGoroutines() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	count := 0
	for _, creator := range []string{"net.FromConn", "net.(*TCPSocket).AsyncConnect", "net.(*TCPAcceptor).AsyncAccept"} {
		count += bytes.Count(buf[:n], []byte("created by github.com/beastgo/beast/"+creator+" in goroutine"))
	}
	return count
}

// checkNoGoroutines checks, without the retries goleak allows, that Close left none of the
// portable path's goroutines: Close waits for them, though one may still be unwinding its last
// frame for a moment after it signalled that it was done.
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	n := portableGoroutines()
	for n != 0 && time.Now().Before(deadline) {
		runtime.Gosched()
		n = portableGoroutines()
	}
	if n != 0 {
		t.Fatalf("%d goroutines of sockets and acceptors left after Close", n)
	}
}

func TestPortableCloseStopsTheGoroutines(t *testing.T) {
	checkNoGoroutines(t) // none left by earlier tests
	ioc := executor.NewIOContext()
	client, server := connectedPair(t, ioc)
	a := listen(t, ioc)
	closers := []interface{ Close() error }{client, server, a}
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	if n := portableGoroutines(); n != 4 {
		t.Fatalf("%d goroutines serve two sockets, want 4", n)
	}
	// An acceptor whose accept was cancelled keeps its goroutine in Accept until Close.
	a.AsyncAccept(nil, completion.Detached[AcceptResult]())
	a.Cancel()
	ioc.Run()
	if n := portableGoroutines(); n != 5 {
		t.Fatalf("%d goroutines, want the sockets' 4 and the acceptor's", n)
	}
	client.AsyncReadSome(make([]byte, 1), completion.Detached[IOResult]())
	for _, c := range closers {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	checkNoGoroutines(t)
	ioc.Restart()
	ioc.Run()
}

// Cancel does not abort a pending write on this path; Close does.
func TestPortableCancelLeavesWritesToClose(t *testing.T) {
	ioc := executor.NewIOContext()
	client, server := connectedPair(t, ioc)
	defer server.Close()
	if err := client.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	writes := make(chan IOResult, 1)
	client.AsyncWriteSome(make([]byte, 64<<20), completion.Chan(writes)) // more than the kernel holds
	time.Sleep(20 * time.Millisecond)
	ioc.Poll()
	ioc.Restart()
	if len(writes) != 0 {
		t.Fatalf("a write larger than the kernel's buffers completed: %+v", <-writes)
	}
	if n := client.Cancel(); n != 0 {
		t.Fatalf("Cancel reported %d with only a write pending, want 0", n)
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	ioc.Run()
	if r := <-writes; !errors.Is(r.Err, completion.ErrOperationAborted) {
		t.Fatalf("write pending at Close: %+v", r)
	}
}

// Sockets on an executor that is not an IOContext work the same.
func TestPortableSocketOnSystemExecutor(t *testing.T) {
	var sys executor.Executor = executor.System{}
	a := listen(t, sys)
	defer a.Close()
	done := make(chan AcceptResult, 1)
	a.AsyncAccept(nil, completion.Chan(done))
	c := NewTCPSocket(sys)
	defer c.Close()
	connected := make(chan error, 1)
	c.AsyncConnect(a.Addr(), completion.Chan(connected))
	if err := <-connected; err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	defer r.Socket.Close()
	msg := make(chan IOResult, 1)
	buf := make([]byte, 5)
	r.Socket.AsyncReadSome(buf, completion.Chan(msg))
	writeAll(c, []byte("hello"), func(error) {})
	if m := <-msg; m.Err != nil || string(buf[:m.N]) != "hello" {
		t.Fatalf("read %q, %v", buf[:m.N], m.Err)
	}
}
