package net_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
)

// A TCPSocket waits for something to read without reading it (Asio's async_wait(wait_read)).
var _ net.AsyncReadWaiter = (*net.TCPSocket)(nil)

// waitResult waits for a wait's handler, failing the test after 10 s.
func waitResult(t *testing.T, o *bbOnce[error], what string) error {
	t.Helper()
	select {
	case <-o.done:
		return o.wait()
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the wait did not complete", what)
		return nil
	}
}

// readAll reads from s until n bytes have arrived or an error.
func readAll(t *testing.T, s *net.TCPSocket, n int) ([]byte, error) {
	t.Helper()
	var got []byte
	buf := make([]byte, 64)
	for len(got) < n {
		res := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(buf, h) })
		got = append(got, buf[:res.N]...)
		if res.Err != nil {
			return got, res.Err
		}
	}
	return got, nil
}

// TestWaitReadThenRead: a wait completes with nil once bytes arrive, whether they came before or
// after it started, never inside the call, and leaves every byte for the read that follows.
func TestWaitReadThenRead(t *testing.T) {
	r := bbRun(t, 1)
	for _, before := range []bool{false, true} {
		client, server := bbSocketPair(t, r.ioc, r.ioc)
		send := func() {
			if err := completion.Await(func(h completion.Handler[net.IOResult]) {
				net.AsyncWrite(client, []byte("hello"), h)
			}).Err; err != nil {
				t.Fatal(err)
			}
		}
		if before {
			send()
		}
		w := bbNewOnce[error]()
		inside := true
		r.ioc.Post(func() {
			server.AsyncWaitRead(w)
			inside = w.count() != 0
		})
		if !before {
			send()
		}
		if err := waitResult(t, w, "wait"); err != nil {
			t.Fatalf("data sent before %v: wait %v", before, err)
		}
		done := make(chan struct{})
		r.ioc.Post(func() { close(done) })
		<-done
		if inside {
			t.Fatalf("data sent before %v: the handler ran inside AsyncWaitRead", before)
		}
		if got, err := readAll(t, server, 5); err != nil || string(got) != "hello" {
			t.Fatalf("data sent before %v: read %q, %v after the wait; want every byte", before, got, err)
		}
		client.Close()
		server.Close()
	}
}

// TestWaitReadAtEndOfStream: a wait completes with nil when the peer shuts down its sending side,
// and the read that follows reports io.EOF.
func TestWaitReadAtEndOfStream(t *testing.T) {
	r := bbRun(t, 1)
	client, server := bbSocketPair(t, r.ioc, r.ioc)
	defer client.Close()
	defer server.Close()
	w := bbNewOnce[error]()
	server.AsyncWaitRead(w)
	if err := client.Shutdown(net.ShutdownWrite); err != nil {
		t.Fatal(err)
	}
	if err := waitResult(t, w, "wait"); err != nil {
		t.Fatalf("wait %v at the end of the stream, want nil", err)
	}
	if _, err := readAll(t, server, 1); err != io.EOF {
		t.Fatalf("read after the wait: %v, want io.EOF", err)
	}
}

// TestWaitReadCancelAndClose: a wait's context ending, or Close, ends it as it ends a read, with
// nothing consumed; a read started while a wait is pending fails with ErrInProgress and leaves
// the wait alone; a wait on a socket with no connection, or a closed one, fails.
func TestWaitReadCancelAndClose(t *testing.T) {
	r := bbRun(t, 1)
	client, server := bbSocketPair(t, r.ioc, r.ioc)
	defer client.Close()

	ctx, cancel := context.WithCancel(context.Background())
	w := bbNewOnce[error]()
	server.AsyncWaitRead(completion.WithContext(ctx, completion.Handler[error](w)))
	second := completion.Await(func(h completion.Handler[net.IOResult]) { server.AsyncReadSome(make([]byte, 4), h) })
	if !errors.Is(second.Err, net.ErrInProgress) || w.count() != 0 {
		t.Fatalf("read during a wait: %+v (wait done %v), want ErrInProgress and the wait pending", second, w.count() != 0)
	}
	cancel()
	if err := waitResult(t, w, "cancelled wait"); !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("cancelled wait: %v, want context.Canceled and ErrOperationAborted", err)
	}
	if err := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(client, []byte("x"), h) }).Err; err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, server, 1); err != nil || string(got) != "x" {
		t.Fatalf("read after a cancelled wait: %q, %v", got, err)
	}

	w = bbNewOnce[error]()
	server.AsyncWaitRead(w)
	server.Close()
	if err := waitResult(t, w, "wait at Close"); !bbClosedOrAborted(err) {
		t.Fatalf("wait pending at Close: %v, want an abort", err)
	}
	if err := completion.Await(func(h completion.Handler[error]) { server.AsyncWaitRead(h) }); !bbClosedOrAborted(err) {
		t.Fatalf("wait after Close: %v, want net.ErrClosed", err)
	}
	if err := completion.Await(func(h completion.Handler[error]) { net.NewTCPSocket(r.ioc).AsyncWaitRead(h) }); !errors.Is(err, net.ErrNotConnected) {
		t.Fatalf("wait on an unconnected socket: %v, want ErrNotConnected", err)
	}
}
