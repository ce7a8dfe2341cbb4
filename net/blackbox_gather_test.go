package net_test

// Black-box tests of gather writes (docs/net.md, "Gather writes"; AsyncBuffersWriteStream,
// TCPSocket.AsyncWriteSomeBuffers, AsyncWriteBuffers): every byte arrives in order, bufs are
// never modified, empty buffers are skipped, more buffers than one call takes are left for the
// next, and errors, faults and cancellation account for the bytes written.

import (
	"bytes"
	"context"
	"errors"
	"io"
	stdnet "net"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// bbBufs is a sequence of buffers with a record of what it held, to check it was not modified.
type bbBufs struct {
	bufs  [][]byte
	heads [][]byte // copies of the slice headers
	data  [][]byte // copies of the contents
	all   []byte
}

func bbMakeBufs(seed int, sizes []int) *bbBufs {
	b := &bbBufs{}
	for i, n := range sizes {
		var s []byte
		switch {
		case n < 0:
			s = nil
		default:
			// Slices of a larger array with spare capacity, so an append would show.
			s = bbPattern(seed*1000+i, n+8)[:n]
		}
		b.bufs = append(b.bufs, s)
	}
	b.heads = append([][]byte(nil), b.bufs...)
	for _, s := range b.bufs {
		b.data = append(b.data, append([]byte(nil), s...))
		b.all = append(b.all, s...)
	}
	return b
}

func (b *bbBufs) checkUntouched(t testing.TB) {
	t.Helper()
	for i := range b.bufs {
		s, h := b.bufs[i], b.heads[i]
		if len(s) != len(h) || cap(s) != cap(h) || (cap(s) > 0 && &s[:cap(s)][0] != &h[:cap(h)][0]) {
			t.Errorf("bufs[%d]'s slice header was modified", i)
		}
		if !bytes.Equal(s, b.data[i]) {
			t.Errorf("bufs[%d]'s contents were modified", i)
		}
	}
}

// bbSizes returns n buffer sizes, with empty and nil buffers mixed in.
func bbSizes(n, max int) []int {
	out := make([]int, n)
	x := uint32(n*7 + max)
	for i := range out {
		x = x*1664525 + 1013904223
		switch {
		case i%7 == 3:
			out[i] = 0
		case i%11 == 5:
			out[i] = -1 // nil
		default:
			out[i] = 1 + int(x>>8)%max
		}
	}
	return out
}

// bbReadAllAsync reads c to its EOF on a goroutine.
func bbReadAllAsync(c stdnet.Conn) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		ch <- b
	}()
	return ch
}

func TestBlackboxGatherWriteOverLoopbackInOrder(t *testing.T) {
	for _, runners := range []int{1, 2} {
		r := bbRun(t, runners)
		ln := bbStdListener(t)
		var ex executor.Executor = r.ioc
		if runners > 1 {
			ex = executor.NewStrand(r.ioc)
		}
		s, peer := bbDialStd(t, ex, ln)
		s.SetWriteBuffer(32 << 10) // short writes, so buffers are split across calls
		got := bbReadAllAsync(peer)
		b := bbMakeBufs(runners, bbSizes(300, 6000)) // ~0.9 MB, over 200 non-empty buffers
		res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWriteBuffers(s, b.bufs, h) })
		if res.Err != nil || res.N != len(b.all) {
			t.Errorf("AsyncWriteBuffers: %d of %d bytes, %v", res.N, len(b.all), res.Err)
		}
		if err := s.Shutdown(net.ShutdownWrite); err != nil {
			t.Fatal(err)
		}
		if g := <-got; !bytes.Equal(g, b.all) {
			t.Errorf("%d runners: the peer got %d bytes, want %d in order (first difference at %d)", runners, len(g), len(b.all), bbFirstDiff(g, b.all))
		}
		b.checkUntouched(t)
		s.Close()
		peer.Close()
	}
}

func bbFirstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// AsyncWriteSomeBuffers on a socket: each call writes at least one byte, at most the first 64
// non-empty buffers (on the epoll path), and the caller's loop that continues from the count
// delivers everything in order.
func TestBlackboxWriteSomeBuffersMoreThanOneCallTakes(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	s, peer := bbDialStd(t, r.ioc, ln)
	defer s.Close()
	defer peer.Close()
	got := bbReadAllAsync(peer)
	sizes := make([]int, 200)
	for i := range sizes {
		sizes[i] = 1 + i%3 // many small buffers: one call cannot take them all
		if i%5 == 0 {
			sizes[i] = 0
		}
	}
	b := bbMakeBufs(7, sizes)
	rest := append([][]byte(nil), b.bufs...) // our own view, advanced as bytes are written
	written := 0
	for calls := 0; written < len(b.all); calls++ {
		limit := 0 // the bytes of the first 64 non-empty buffers of rest
		nonEmpty := 0
		for _, x := range rest {
			if len(x) > 0 && nonEmpty < 64 {
				limit += len(x)
				nonEmpty++
			}
		}
		view := append([][]byte(nil), rest...)
		res := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncWriteSomeBuffers(view, h) })
		if res.Err != nil || res.N < 1 {
			t.Fatalf("call %d: N %d, %v", calls, res.N, res.Err)
		}
		if !bbPortable && res.N > limit {
			t.Errorf("call %d wrote %d bytes, more than the first 64 non-empty buffers hold (%d)", calls, res.N, limit)
		}
		for i := range view {
			if len(view[i]) != len(rest[i]) || (len(view[i]) > 0 && &view[i][0] != &rest[i][0]) {
				t.Fatalf("call %d modified bufs[%d]", calls, i)
			}
		}
		written += res.N
		for n := res.N; n > 0; {
			k := min(n, len(rest[0]))
			rest[0] = rest[0][k:]
			n -= k
			if len(rest[0]) == 0 {
				rest = rest[1:]
			}
		}
		for len(rest) > 0 && len(rest[0]) == 0 {
			rest = rest[1:]
		}
	}
	s.Shutdown(net.ShutdownWrite)
	if g := <-got; !bytes.Equal(g, b.all) {
		t.Errorf("the peer got %d bytes, want %d in order", len(g), len(b.all))
	}
	b.checkUntouched(t)
}

// All buffers empty (or none) completes at once, posted, with N == 0, on a socket and on nettest,
// for the gather write and for AsyncWriteBuffers; nothing reaches the peer.
func TestBlackboxGatherWriteAllEmpty(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	s, peer := bbDialStd(t, r.ioc, ln)
	defer peer.Close()
	a, bEnd := nettest.NewPair(r.ioc, nettest.Options{}, nettest.Options{})
	defer a.Close()
	defer bEnd.Close()
	empties := [][][]byte{nil, {}, {nil}, {{}, nil, []byte{}}}
	for _, st := range []net.AsyncBuffersWriteStream{s, a} {
		for i, bufs := range empties {
			for _, composed := range []bool{false, true} {
				inCall := true
				var mu sync.Mutex
				h := bbNewOnce[net.IOResult]()
				wrapped := completion.Callback(func(res net.IOResult) {
					mu.Lock()
					if inCall {
						t.Errorf("%T case %d (composed %v): handler ran inside the call", st, i, composed)
					}
					mu.Unlock()
					h.Complete(res)
				})
				// Run the call on the Run goroutine, where an inline completion would show.
				started := make(chan struct{})
				r.ioc.Post(func() {
					mu.Lock()
					if composed {
						net.AsyncWriteBuffers(st, bufs, wrapped)
					} else {
						st.AsyncWriteSomeBuffers(bufs, wrapped)
					}
					inCall = false
					mu.Unlock()
					close(started)
				})
				<-started
				if res := h.wait(); res.N != 0 || res.Err != nil {
					t.Errorf("%T case %d (composed %v): N %d, %v; want 0, nil", st, i, composed, res.N, res.Err)
				}
			}
		}
	}
	s.Shutdown(net.ShutdownWrite)
	if g, _ := io.ReadAll(peer); len(g) != 0 {
		t.Errorf("the peer got %q from empty writes", g)
	}
	s.Close()
	if u := bEnd.Unread(); len(u) != 0 {
		t.Errorf("the nettest peer got %q from empty writes", u)
	}
}

// Over nettest with a small WriteSize, in both modes: every byte in order, each gather write at
// most WriteSize bytes.
func TestBlackboxGatherWriteOverNettestSmallWrites(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		for _, ws := range []int{1, 3, 64} {
			r := bbRun(t, 1)
			a, b := nettest.NewPair(r.ioc, nettest.Options{WriteSize: ws, Mode: mode}, nettest.Options{})
			bb := bbMakeBufs(ws, bbSizes(90, 40))
			res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWriteBuffers(a, bb.bufs, h) })
			if res.Err != nil || res.N != len(bb.all) {
				t.Errorf("mode %v WriteSize %d: %d of %d, %v", mode, ws, res.N, len(bb.all), res.Err)
			}
			if u := b.Unread(); !bytes.Equal(u, bb.all) {
				t.Errorf("mode %v WriteSize %d: the peer has %d bytes, want %d in order", mode, ws, len(u), len(bb.all))
			}
			bb.checkUntouched(t)
			one := completion.Await(func(h completion.Handler[net.IOResult]) { a.AsyncWriteSomeBuffers(bb.bufs, h) })
			if one.Err != nil || one.N < 1 || one.N > ws {
				t.Errorf("mode %v WriteSize %d: one gather write took %d, %v", mode, ws, one.N, one.Err)
			}
			a.Close()
			b.Close()
			r.stop()
		}
	}
}

// A fault on the Nth operation: AsyncWriteBuffers completes with the injected error and the
// count of the bytes the earlier writes took, which are exactly what the peer has. A FailCount of
// 0 first counts the operations the whole write takes (the way nettest's doc gives).
func TestBlackboxGatherWriteFaultOnTheNthOperation(t *testing.T) {
	const ws = 5
	sizes := []int{3, 0, 7, -1, 1, 12, 0, 4, 9, 1}
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		r := bbRun(t, 1)
		counter := nettest.NewFailCount(0, nil)
		a, b := nettest.NewPair(r.ioc, nettest.Options{WriteSize: ws, Fail: counter, Mode: mode}, nettest.Options{})
		bb := bbMakeBufs(0, sizes)
		res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWriteBuffers(a, bb.bufs, h) })
		if res.Err != nil || res.N != len(bb.all) || !bytes.Equal(b.Unread(), bb.all) {
			t.Fatalf("mode %v, no fault: N %d of %d, %v", mode, res.N, len(bb.all), res.Err)
		}
		ops := counter.Count()
		if ops < (len(bb.all)+ws-1)/ws || ops > len(bb.all) {
			t.Errorf("mode %v: %d operations for %d bytes %d at a time", mode, ops, len(bb.all), ws)
		}
		a.Close()
		b.Close()
		prev := -1
		for n := 1; n <= ops+1; n++ {
			fc := nettest.NewFailCount(n, nil)
			a, b := nettest.NewPair(r.ioc, nettest.Options{WriteSize: ws, Fail: fc, Mode: mode}, nettest.Options{})
			bb := bbMakeBufs(n, sizes)
			res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWriteBuffers(a, bb.bufs, h) })
			if n <= ops {
				if !errors.Is(res.Err, nettest.ErrInjected) || res.N <= prev || res.N > ws*(n-1) {
					t.Errorf("mode %v fault on op %d: N %d (before: %d), %v; want ErrInjected after at most %d bytes", mode, n, res.N, prev, res.Err, ws*(n-1))
				}
				if fc.Count() != n {
					t.Errorf("mode %v fault on op %d: %d operations counted, want %d (a broken stream is not retried)", mode, n, fc.Count(), n)
				}
				prev = res.N
			} else if res.Err != nil || res.N != len(bb.all) {
				t.Errorf("mode %v no fault (op %d of %d): N %d, %v", mode, n, ops, res.N, res.Err)
			}
			if u := b.Unread(); !bytes.Equal(u, bb.all[:res.N]) {
				t.Errorf("mode %v fault on op %d: the peer has %q, want the first %d bytes %q", mode, n, u, res.N, bb.all[:res.N])
			}
			bb.checkUntouched(t)
			a.Close()
			b.Close()
		}
		r.stop()
	}
}

// A peer that closes mid-write: the write completes once with an error and a count no larger
// than what was sent; over loopback the peer reset us (it closed with unread data), over nettest
// the write meets io.ErrClosedPipe.
func TestBlackboxGatherWritePeerClosesMidWrite(t *testing.T) {
	t.Run("loopback", func(t *testing.T) {
		r := bbRun(t, 1)
		ln := bbStdListener(t)
		s, peer := bbDialStd(t, r.ioc, ln)
		defer s.Close()
		s.SetWriteBuffer(16 << 10)
		peer.SetReadBuffer(16 << 10)
		bb := bbMakeBufs(3, bbSizes(200, 40000)) // ~4 MB: far more than the buffers hold
		h := bbNewOnce[net.IOResult]()
		net.AsyncWriteBuffers(s, bb.bufs, h)
		// Read the first bytes (so the write is surely under way), then vanish with the rest
		// unread.
		first := make([]byte, 1000)
		if _, err := io.ReadFull(peer, first); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, bb.all[:1000]) {
			t.Errorf("the peer's first bytes are out of order")
		}
		peer.Close()
		res := h.wait()
		if res.Err == nil || res.N >= len(bb.all) {
			t.Errorf("write to a vanished peer: N %d of %d, %v", res.N, len(bb.all), res.Err)
		}
		var oe *stdnet.OpError
		if !errors.As(res.Err, &oe) {
			t.Errorf("write to a vanished peer: %v (%T), want a *net.OpError", res.Err, res.Err)
		}
		bb.checkUntouched(t)
		s.Close()
		r.stop()
		if h.count() != 1 {
			t.Errorf("handler ran %d times", h.count())
		}
	})
	t.Run("nettest", func(t *testing.T) {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			r := bbRun(t, 1)
			a, b := nettest.NewPair(r.ioc, nettest.Options{WriteSize: 4, Mode: mode}, nettest.Options{})
			bb := bbMakeBufs(4, bbSizes(50, 30))
			h := bbNewOnce[net.IOResult]()
			var unread []byte
			r.ioc.Post(func() {
				net.AsyncWriteBuffers(a, bb.bufs, h)
				// The peer closes while the write is in its first steps.
				r.ioc.Post(func() { unread = b.Unread(); b.Close() })
			})
			res := h.wait()
			if !errors.Is(res.Err, io.ErrClosedPipe) || res.N >= len(bb.all) || res.N%4 != 0 {
				t.Errorf("mode %v: N %d of %d, %v; want a multiple of 4 short of the end, io.ErrClosedPipe", mode, res.N, len(bb.all), res.Err)
			}
			if !bytes.Equal(unread, bb.all[:len(unread)]) || len(unread) > res.N {
				t.Errorf("mode %v: the peer had %d bytes (%v in order), the write reported %d", mode, len(unread), bytes.Equal(unread, bb.all[:len(unread)]), res.N)
			}
			bb.checkUntouched(t)
			a.Close()
			r.stop()
		}
	})
}

// Cancellation as the write starts: a context already done writes nothing; one cancelled from
// another goroutine at once stops the write with the cancellation error (or lets it finish), and
// its count is exactly what the peer gets.
func TestBlackboxGatherWriteCancelledAsItStarts(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	for i := range 30 {
		s, peer := bbDialStd(t, r.ioc, ln)
		s.SetWriteBuffer(16 << 10)
		got := bbReadAllAsync(peer)
		bb := bbMakeBufs(i, bbSizes(40, 10000))
		ctx, cancel := context.WithCancel(context.Background())
		if i%3 == 0 {
			cancel()
		}
		h := bbNewOnce[net.IOResult]()
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { <-start; cancel() })
		close(start)
		net.AsyncWriteBuffers(s, bb.bufs, completion.WithContext(ctx, h))
		wg.Wait()
		res := h.wait()
		if i%3 == 0 && (res.N != 0 || !errors.Is(res.Err, completion.ErrOperationAborted) || !errors.Is(res.Err, context.Canceled)) {
			t.Errorf("write with a done context: N %d, %v; want 0 and the abort error", res.N, res.Err)
		}
		if res.Err != nil && (!errors.Is(res.Err, completion.ErrOperationAborted) || !errors.Is(res.Err, context.Canceled)) {
			t.Errorf("cancelled write: %v, want the abort error", res.Err)
		}
		if res.Err == nil && res.N != len(bb.all) {
			t.Errorf("write without error: %d of %d bytes", res.N, len(bb.all))
		}
		s.Shutdown(net.ShutdownWrite)
		if g := <-got; !bytes.Equal(g, bb.all[:res.N]) {
			t.Errorf("iteration %d: the write reported %d bytes (%v), the peer got %d (in order: %v)", i, res.N, res.Err, len(g), bytes.Equal(g, bb.all[:min(len(g), len(bb.all))]))
		}
		bb.checkUntouched(t)
		s.Close()
		peer.Close()
	}
}
