package net_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

func TestAsyncRead(t *testing.T) {
	tests := []struct {
		name      string
		readSize  int
		available string
		closed    bool // the peer has closed after writing available
		bufLen    int
		want      net.IOResult
	}{
		{"fills the buffer in one read", 0, "hello, world", false, 5, net.IOResult{N: 5}},
		{"fills the buffer in many reads", 3, "hello, world", false, 12, net.IOResult{N: 12}},
		{"one byte at a time", 1, "hello, world", false, 12, net.IOResult{N: 12}},
		{"full buffer wins over the end of the stream", 0, "hello", true, 5, net.IOResult{N: 5}},
		{"EOF before any byte", 0, "", true, 5, net.IOResult{Err: io.EOF}},
		{"EOF after some bytes", 2, "hel", true, 5, net.IOResult{N: 3, Err: io.ErrUnexpectedEOF}},
		{"zero length", 0, "hello", false, 0, net.IOResult{}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				a, b := nettest.NewPair(ioc, nettest.Options{ReadSize: tt.readSize, Mode: m.mode}, nettest.Options{})
				a.Append([]byte(tt.available))
				if tt.closed {
					b.Close()
				}
				buf := make([]byte, tt.bufLen)
				got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, buf, h) })
				if diff := cmp.Diff(tt.want, got, cmpopts.EquateErrors()); diff != "" {
					t.Fatalf("result (-want +got):\n%s", diff)
				}
				if !bytes.Equal(buf[:got.N], []byte(tt.available)[:got.N]) {
					t.Fatalf("read %q", buf[:got.N])
				}
			})
		}
	}
}

func TestAsyncReadFaultInjection(t *testing.T) {
	msg := []byte("hello, composed world")
	for _, m := range modes {
		for _, readSize := range []int{0, 1, 4, 7} {
			t.Run(fmt.Sprintf("%s/ReadSize=%d", m.name, readSize), func(t *testing.T) {
				moved := func(n int) int { return movedBefore(n, len(msg), readSize) }
				sweepFailures(t, chunks(len(msg), readSize), moved, func(t *testing.T, fc *nettest.FailCount) net.IOResult {
					ioc := executor.NewIOContext()
					a, _ := nettest.NewPair(ioc, nettest.Options{ReadSize: readSize, Fail: fc, Mode: m.mode}, nettest.Options{})
					a.Append(msg)
					buf := make([]byte, len(msg))
					res := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, buf, h) })
					if !bytes.Equal(buf[:res.N], msg[:res.N]) {
						t.Fatalf("read %q", buf[:res.N])
					}
					return res
				})
			})
		}
	}
}

// Reads of one byte each, while the peer writes in pieces of another size: AsyncRead reassembles.
func TestAsyncReadOneByteAtATime(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 50)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			fc := nettest.NewFailCount(0, nil)
			a, b := nettest.NewPair(ioc,
				nettest.Options{ReadSize: 1, Fail: fc, Mode: m.mode},
				nettest.Options{WriteSize: 7, Mode: m.mode})
			got := make([]byte, len(msg))
			var rd, wr recorder
			ioc.Post(func() {
				rd.start(func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, got, h) })
				wr.start(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(b, msg, h) })
			})
			ioc.Run()
			if r := rd.once(t); r != (net.IOResult{N: len(msg)}) {
				t.Fatalf("read %+v", r)
			}
			if r := wr.once(t); r != (net.IOResult{N: len(msg)}) {
				t.Fatalf("write %+v", r)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("read %q", got)
			}
			if fc.Count() != len(msg) {
				t.Fatalf("%d reads for %d bytes", fc.Count(), len(msg))
			}
		})
	}
}

// A long chain of inner reads that all complete at once must not grow the stack, whichever way
// the stream completes them.
func TestAsyncReadLongChain(t *testing.T) {
	msg := bytes.Repeat([]byte{'x'}, 20_000)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			a, _ := nettest.NewPair(ioc, nettest.Options{ReadSize: 1, Mode: m.mode}, nettest.Options{})
			a.Append(msg)
			buf := make([]byte, len(msg))
			if r := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, buf, h) }); r.N != len(msg) || r.Err != nil {
				t.Fatalf("read %+v", r)
			}
		})
	}
}

func TestAsyncReadZeroLengthReadsNothing(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			fc := nettest.NewFailCount(0, nil)
			a, _ := nettest.NewPair(ioc, nettest.Options{Fail: fc, Mode: m.mode}, nettest.Options{})
			a.Append([]byte("data"))
			if r := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, nil, h) }); r != (net.IOResult{}) {
				t.Fatalf("zero-length read: %+v", r)
			}
			if fc.Count() != 0 || string(a.Unread()) != "data" {
				t.Fatalf("zero-length read made %d operations, left %q", fc.Count(), a.Unread())
			}
		})
	}
}

// Cancelling through the handler's context reaches the read in flight; the result counts what the
// reads before it delivered.
func TestAsyncReadCancel(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			a, _ := nettest.NewPair(ioc, nettest.Options{Mode: m.mode}, nettest.Options{})
			a.Append([]byte("abcd")) // half of what the read wants; then the peer falls silent
			ctx, cancel := context.WithCancel(context.Background())
			buf := make([]byte, 8)
			var r recorder
			r.start(func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, buf, completion.WithContext(ctx, h)) })
			ioc.Poll() // the first read completes, the second waits
			if len(r.got) != 0 {
				t.Fatalf("completed before the cancel: %+v", r.got)
			}
			cancel()
			ioc.Run()
			got := r.once(t)
			if got.N != 4 || !errors.Is(got.Err, context.Canceled) || !errors.Is(got.Err, completion.ErrOperationAborted) {
				t.Fatalf("cancelled read: %+v", got)
			}
		})
	}
}

// helpers starts each composed helper on s with a small job: reading 4 bytes, writing 4 bytes,
// reading a line.
var helpers = map[string]func(s net.AsyncStream, h completion.Handler[net.IOResult]){
	"AsyncRead":  func(s net.AsyncStream, h completion.Handler[net.IOResult]) { net.AsyncRead(s, make([]byte, 4), h) },
	"AsyncWrite": func(s net.AsyncStream, h completion.Handler[net.IOResult]) { net.AsyncWrite(s, []byte("data"), h) },
	"AsyncReadUntil": func(s net.AsyncStream, h completion.Handler[net.IOResult]) {
		net.AsyncReadUntil(s, new(net.FlatBuffer), []byte("\n"), h)
	},
}

// A context already done completes the helper at once, without an inner operation.
func TestHelpersWithDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, start := range helpers {
		t.Run(name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			fc := nettest.NewFailCount(0, nil)
			a, _ := nettest.NewPair(ioc, nettest.Options{Fail: fc}, nettest.Options{})
			a.Append([]byte("data\n"))
			got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { start(a, completion.WithContext(ctx, h)) })
			if !errors.Is(got.Err, context.Canceled) || got.N != 0 || fc.Count() != 0 {
				t.Fatalf("got %+v after %d operations", got, fc.Count())
			}
		})
	}
}

// The helpers' handlers run on their associated executor; the inner steps on the stream's.
func TestHelpersCompleteOnHandlerExecutor(t *testing.T) {
	for name, start := range helpers {
		for _, m := range modes {
			t.Run(name+"/"+m.name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				strand := executor.NewStrand(ioc)
				a, _ := nettest.NewPair(ioc, nettest.Options{ReadSize: 2, WriteSize: 2, Mode: m.mode}, nettest.Options{})
				a.Append([]byte("data\n"))
				var got []net.IOResult
				onStrand := false
				start(a, completion.Bind(strand, completion.Callback(func(r net.IOResult) {
					onStrand = strand.RunningInThisThread()
					got = append(got, r)
				})))
				ioc.Run()
				if len(got) != 1 || got[0].Err != nil {
					t.Fatalf("results %+v", got)
				}
				if gid.Known && !onStrand {
					t.Fatal("handler did not run on its bound strand")
				}
			})
		}
	}
}

// BenchmarkAsyncRead reads 4 KiB in reads of 1 KiB over nettest, each round a Run of the
// context: it shows what a composed operation costs per call, Run's own allocation included.
func BenchmarkAsyncRead(b *testing.B) {
	msg := make([]byte, 4096)
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			ioc := executor.NewIOContext()
			a, _ := nettest.NewPair(ioc, nettest.Options{ReadSize: 1024, Mode: m.mode}, nettest.Options{})
			buf := make([]byte, len(msg))
			h := completion.Callback(func(r net.IOResult) {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
			})
			b.ReportAllocs()
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				a.Append(msg)
				net.AsyncRead(a, buf, h)
				ioc.Run()
				ioc.Restart()
			}
		})
	}
}
