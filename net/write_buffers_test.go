package net_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// bufferShapes are the buffer sequences AsyncWriteBuffers is tried with: none, only empty ones,
// one, a header and a payload, empty ones among others, and large ones.
var bufferShapes = []struct {
	name string
	bufs []string
}{
	{"none", nil},
	{"empty", []string{""}},
	{"empties", []string{"", "", ""}},
	{"one", []string{"hello"}},
	{"header and payload", []string{"\x82\x05", "hello"}},
	{"empties among", []string{"", "abc", "", "", "de", ""}},
	{"three", []string{"hello", ", ", "world"}},
	{"large", []string{strings.Repeat("a", 70000), strings.Repeat("b", 3), strings.Repeat("c", 100000)}},
}

// byteBuffers returns bufs as byte slices, and a deep copy to check later that none was changed.
func byteBuffers(bufs []string) (b, saved [][]byte) {
	for _, s := range bufs {
		b = append(b, []byte(s))
		saved = append(saved, []byte(s))
	}
	return b, saved
}

// nonEmpty returns how many of bufs are not empty.
func nonEmpty(bufs []string) int {
	n := 0
	for _, s := range bufs {
		if s != "" {
			n++
		}
	}
	return n
}

// plain wraps a stream with its AsyncWriteSome only, so that AsyncWriteBuffers cannot gather.
func plain(s *nettest.Stream) net.AsyncWriteStream { return writeOnly{s} }

// The stream written to, with and without gather writes.
var gatherKinds = []struct {
	name   string
	gather bool
}{{"gather", true}, {"buffer after buffer", false}}

func writeStream(s *nettest.Stream, gather bool) net.AsyncWriteStream {
	if gather {
		return s
	}
	return plain(s)
}

func TestAsyncWriteBuffers(t *testing.T) {
	for _, m := range modes {
		for _, kind := range gatherKinds {
			for _, writeSize := range []int{0, 1, 3, 4096} {
				for _, shape := range bufferShapes {
					if writeSize > 0 && writeSize < 1000 && shape.name == "large" {
						continue // 170,000 operations prove nothing the others do not
					}
					t.Run(fmt.Sprintf("%s/%s/WriteSize=%d/%s", m.name, kind.name, writeSize, shape.name), func(t *testing.T) {
						ioc := executor.NewIOContext()
						fc := nettest.NewFailCount(0, nil)
						a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: writeSize, Fail: fc, Mode: m.mode}, nettest.Options{})
						bufs, saved := byteBuffers(shape.bufs)
						want := strings.Join(shape.bufs, "")
						got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
							net.AsyncWriteBuffers(writeStream(a, kind.gather), bufs, h)
						})
						if got != (net.IOResult{N: len(want)}) {
							t.Fatalf("result %+v, want N == %d", got, len(want))
						}
						if string(b.Unread()) != want {
							t.Fatalf("the peer received %d bytes, not the concatenation", len(b.Unread()))
						}
						if !sameBuffers(saved, bufs) {
							t.Fatal("the buffers were modified")
						}
						if writeSize == 0 {
							wantOps := nonEmpty(shape.bufs)
							if kind.gather {
								wantOps = min(wantOps, 1)
							}
							if fc.Count() != wantOps {
								t.Fatalf("%d write operations, want %d", fc.Count(), wantOps)
							}
						}
					})
				}
			}
		}
	}
}

// A failure of any write ends AsyncWriteBuffers with that error and the bytes the writes before
// it moved, which are the first bytes of the concatenation.
func TestAsyncWriteBuffersFaultInjection(t *testing.T) {
	shape := []string{"\x81\x7e\x00\x10", "", "sixteen bytes!!!", "", "tail"}
	want := strings.Join(shape, "")
	for _, m := range modes {
		for _, kind := range gatherKinds {
			for _, writeSize := range []int{0, 1, 3, 5} {
				t.Run(fmt.Sprintf("%s/%s/WriteSize=%d", m.name, kind.name, writeSize), func(t *testing.T) {
					run := func(fc *nettest.FailCount) net.IOResult {
						ioc := executor.NewIOContext()
						a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: writeSize, Fail: fc, Mode: m.mode}, nettest.Options{})
						bufs, _ := byteBuffers(shape)
						res := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
							net.AsyncWriteBuffers(writeStream(a, kind.gather), bufs, h)
						})
						if got := string(b.Unread()); got != want[:min(res.N, len(want))] {
							t.Fatalf("after %+v the peer received %q", res, got)
						}
						return res
					}
					counter := nettest.NewFailCount(0, nil)
					if res := run(counter); res != (net.IOResult{N: len(want)}) {
						t.Fatalf("without failures: %+v", res)
					}
					k := counter.Count()
					prev := -1
					for n := 1; n <= k; n++ {
						res := run(nettest.NewFailCount(n, errBoom))
						if !errors.Is(res.Err, errBoom) || res.N <= prev || res.N >= len(want) || (n == 1 && res.N != 0) {
							t.Fatalf("failing write %d of %d: %+v after %d bytes before", n, k, res, prev)
						}
						prev = res.N
					}
				})
			}
		}
	}
}

// cancelOnWrite is a write stream that cancels a context when its nth write starts, before
// passing the write on: the cancellation arrives between two writes of a composed operation.
type cancelOnWrite struct {
	net.AsyncWriteStream
	n, count int
	cancel   context.CancelFunc
}

func (c *cancelOnWrite) AsyncWriteSome(b []byte, h completion.Handler[net.IOResult]) {
	c.note()
	c.AsyncWriteStream.AsyncWriteSome(b, h)
}

func (c *cancelOnWrite) AsyncWriteSomeBuffers(bufs [][]byte, h completion.Handler[net.IOResult]) {
	c.note()
	c.AsyncWriteStream.(net.AsyncBuffersWriteStream).AsyncWriteSomeBuffers(bufs, h)
}

func (c *cancelOnWrite) note() {
	if c.count++; c.count == c.n {
		c.cancel()
	}
}

// notGathering hides AsyncWriteSomeBuffers of a cancelOnWrite.
type notGathering struct{ *cancelOnWrite }

func (s notGathering) AsyncWriteSome(b []byte, h completion.Handler[net.IOResult]) {
	s.cancelOnWrite.AsyncWriteSome(b, h)
}

// A handler's context ends AsyncWriteBuffers with the cancellation error and the bytes written
// before it.
func TestAsyncWriteBuffersCancelled(t *testing.T) {
	shape := []string{"head", "payload", "tail"}
	for _, kind := range gatherKinds {
		t.Run(kind.name, func(t *testing.T) {
			// The first write takes 6 bytes of the gather, or the first buffer alone.
			wantSent := map[bool]string{true: "headpa", false: "head"}[kind.gather]
			ioc := executor.NewIOContext()
			a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: 6}, nettest.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := &cancelOnWrite{AsyncWriteStream: a, n: 2, cancel: cancel}
			var s net.AsyncWriteStream = c
			if !kind.gather {
				s = struct{ net.AsyncWriteStream }{notGathering{c}}
			}
			bufs, _ := byteBuffers(shape)
			got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
				net.AsyncWriteBuffers(s, bufs, completion.WithContext(ctx, h))
			})
			if got.N != len(wantSent) || !errors.Is(got.Err, context.Canceled) || !errors.Is(got.Err, completion.ErrOperationAborted) {
				t.Fatalf("cancelled write: %+v", got)
			}
			if !bytes.Equal(b.Unread(), []byte(wantSent)) {
				t.Fatalf("the peer received %q", b.Unread())
			}
		})
	}
}

// AsyncWrite and AsyncWriteBuffers of one buffer make the same writes.
func TestAsyncWriteIsOneBuffer(t *testing.T) {
	ioc := executor.NewIOContext()
	fc := nettest.NewFailCount(0, nil)
	a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: 4, Fail: fc}, nettest.Options{})
	got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(a, []byte("0123456789"), h) })
	if got != (net.IOResult{N: 10}) || string(b.Unread()) != "0123456789" || fc.Count() != 3 {
		t.Fatalf("%+v, %q in %d writes", got, b.Unread(), fc.Count())
	}
}

// sameBuffers reports whether a and b hold the same buffers with the same bytes.
func sameBuffers(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
