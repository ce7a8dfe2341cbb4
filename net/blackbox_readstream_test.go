package net_test

// Black-box tests of the read-stream concept: AsyncRead and AsyncReadUntil "need nothing more"
// than AsyncReadSome and Executor, so they run over a type that has only those two methods.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// bbReadOnly has AsyncReadSome and Executor and nothing else; it checks that its reads are one at
// a time.
type bbReadOnly struct {
	next    net.AsyncReadStream
	ex      executor.Executor
	reads   atomic.Int64
	pending atomic.Int32
	overlap atomic.Int32
}

func (r *bbReadOnly) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	r.reads.Add(1)
	if r.pending.Add(1) > 1 {
		r.overlap.Add(1)
	}
	// Forward h's associations (its executor and its context), as a layer must for the read below
	// to complete where h must and to be cancelled by h's context.
	ex, ctx := completion.Associated(h, r.ex)
	var inner completion.Handler[net.IOResult] = completion.Bind(ex, completion.Callback(func(res net.IOResult) {
		r.pending.Add(-1)
		h.Complete(res)
	}))
	if ctx != nil {
		inner = completion.WithContext(ctx, inner)
	}
	r.next.AsyncReadSome(b, inner)
}

func (r *bbReadOnly) Executor() executor.Executor { return r.ex }

var _ net.AsyncReadStream = (*bbReadOnly)(nil)

func TestBlackboxAsyncReadOverAReadOnlyStream(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		r := bbRun(t, 1)
		a, b := nettest.NewPair(r.ioc, nettest.Options{ReadSize: 1, Mode: mode}, nettest.Options{})
		ro := &bbReadOnly{next: a, ex: r.ioc}
		msg := bbPattern(1, 300)
		b.AsyncWriteSome(msg, completion.Detached[net.IOResult]())
		got := make([]byte, 200)
		res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncRead(ro, got, h) })
		if res.Err != nil || res.N != 200 || !bytes.Equal(got, msg[:200]) {
			t.Errorf("mode %v: AsyncRead %d, %v (in order: %v)", mode, res.N, res.Err, bytes.Equal(got, msg[:200]))
		}
		if ro.reads.Load() != 200 {
			t.Errorf("mode %v: %d reads of one byte for 200 bytes", mode, ro.reads.Load())
		}
		// The stream ends after 100 more bytes: an unexpected EOF with the count.
		b.Close()
		got = make([]byte, 150)
		res = completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncRead(ro, got, h) })
		if !errors.Is(res.Err, io.ErrUnexpectedEOF) || res.N != 100 || !bytes.Equal(got[:100], msg[200:]) {
			t.Errorf("mode %v: AsyncRead at the end: %d, %v; want 100, io.ErrUnexpectedEOF", mode, res.N, res.Err)
		}
		res = completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncRead(ro, got, h) })
		if res.Err != io.EOF || res.N != 0 {
			t.Errorf("mode %v: AsyncRead after the end: %d, %v; want 0, io.EOF", mode, res.N, res.Err)
		}
		if ro.overlap.Load() != 0 {
			t.Errorf("mode %v: AsyncRead started a read while one was pending", mode)
		}
		a.Close()
		r.stop()
	}
}

func TestBlackboxAsyncReadUntilOverAReadOnlyStream(t *testing.T) {
	for _, mk := range []func() net.DynamicBuffer{
		func() net.DynamicBuffer { return net.NewFlatBuffer(0) },
		func() net.DynamicBuffer { return net.NewMultiBuffer(0) },
	} {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			r := bbRun(t, 1)
			a, b := nettest.NewPair(r.ioc, nettest.Options{ReadSize: 3, Mode: mode}, nettest.Options{})
			ro := &bbReadOnly{next: a, ex: r.ioc}
			buf := mk()
			input := "first line\r\nsecond\r\n\r\ntail"
			b.AsyncWriteSome([]byte(input), completion.Detached[net.IOResult]())
			var lines []string
			for range 3 {
				res := completion.Await(func(h completion.Handler[net.IOResult]) {
					net.AsyncReadUntil(ro, buf, []byte("\r\n"), h)
				})
				if res.Err != nil {
					t.Fatalf("%T mode %v: %v", buf, mode, res.Err)
				}
				lines = append(lines, string(bytes.Join(buf.Data(), nil)[:res.N]))
				buf.Consume(res.N)
			}
			if want := []string{"first line\r\n", "second\r\n", "\r\n"}; !slicesEqual(lines, want) {
				t.Errorf("%T mode %v: lines %q, want %q", buf, mode, lines, want)
			}
			// The stream ends without the delimiter: io.EOF, the bytes kept.
			b.Close()
			res := completion.Await(func(h completion.Handler[net.IOResult]) {
				net.AsyncReadUntil(ro, buf, []byte("\r\n"), h)
			})
			if res.Err != io.EOF || string(bytes.Join(buf.Data(), nil)) != "tail" {
				t.Errorf("%T mode %v: at the end: N %d, %v, buffer %q", buf, mode, res.N, res.Err, bytes.Join(buf.Data(), nil))
			}
			if ro.overlap.Load() != 0 {
				t.Errorf("%T mode %v: overlapping reads", buf, mode)
			}
			a.Close()
			r.stop()
		}
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Over a read-only view of a loopback socket, with the read's context cancelled from another
// goroutine at once: AsyncRead and AsyncReadUntil complete once with the bytes so far and the
// cancellation error, or with success.
func TestBlackboxReadHelpersOverAReadOnlySocketCancelled(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	s, peer := bbDialStd(t, r.ioc, ln)
	defer s.Close()
	defer peer.Close()
	ro := &bbReadOnly{next: s, ex: r.ioc}
	if _, err := peer.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	if res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncRead(ro, got, h) }); res.Err != nil || string(got) != "abc" {
		t.Fatalf("AsyncRead: %q, %v", got, res.Err)
	}
	for i := range 40 {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() { <-start; cancel() })
		h := bbNewOnce[net.IOResult]()
		close(start)
		if i%2 == 0 {
			net.AsyncRead(ro, make([]byte, 10), completion.WithContext(ctx, h))
		} else {
			net.AsyncReadUntil(ro, net.NewFlatBuffer(0), []byte("\n"), completion.WithContext(ctx, h))
		}
		wg.Wait()
		res := h.wait()
		if !errors.Is(res.Err, completion.ErrOperationAborted) || !errors.Is(res.Err, context.Canceled) || res.N != 0 {
			t.Fatalf("iteration %d: a read of a silent peer, cancelled: N %d, %v", i, res.N, res.Err)
		}
		if h.count() != 1 {
			t.Fatalf("handler ran %d times", h.count())
		}
	}
}
