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
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// Successive calls read successive lines: each finds its delimiter, and the bytes after it stay in
// the buffer for the next call.
func TestAsyncReadUntilLines(t *testing.T) {
	input := "GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"
	wantLines := []string{"GET / HTTP/1.1\r\n", "Host: x\r\n", "\r\n"}
	for _, kind := range bufferKinds {
		for _, m := range modes {
			for _, readSize := range []int{0, 1, 5} {
				t.Run(fmt.Sprintf("%s/%s/ReadSize=%d", kind.name, m.name, readSize), func(t *testing.T) {
					ioc := executor.NewIOContext()
					a, b := nettest.NewPair(ioc, nettest.Options{ReadSize: readSize, Mode: m.mode}, nettest.Options{})
					a.Append([]byte(input))
					b.Close() // EOF after the input
					buf := kind.new(0)
					var lines []string
					for range wantLines {
						res := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
							net.AsyncReadUntil(a, buf, []byte("\r\n"), h)
						})
						if res.Err != nil {
							t.Fatalf("line %d: %+v", len(lines), res)
						}
						lines = append(lines, string(joined(buf)[:res.N]))
						buf.Consume(res.N)
					}
					if diff := cmp.Diff(wantLines, lines); diff != "" {
						t.Fatalf("lines (-want +got):\n%s", diff)
					}
					// No delimiter before the end of the stream: io.EOF, the rest in the buffer.
					res := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
						net.AsyncReadUntil(a, buf, []byte("\r\n"), h)
					})
					if res.Err != io.EOF || string(joined(buf)) != "body" {
						t.Fatalf("at the end: %+v, buffer %q", res, joined(buf))
					}
				})
			}
		}
	}
}

func TestAsyncReadUntil(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		preloaded string // in the buffer before the call
		available string // on the stream
		delim     string
		want      net.IOResult
		wantOps   int    // inner operations made
		wantBuf   string // the buffer's readable bytes after the call
	}{
		{"delimiter already in the buffer", 0, "ab\ncd", "ef\n", "\n", net.IOResult{N: 3}, 0, "ab\ncd"},
		{"empty delimiter", 0, "ab", "cd", "", net.IOResult{N: 0}, 0, "ab"},
		{"counts preloaded bytes", 0, "ab", "c\nd", "\n", net.IOResult{N: 4}, 1, "abc\nd"},
		{"delimiter split between preloaded and read bytes", 0, "ab\r", "\nc", "\r\n", net.IOResult{N: 4}, 1, "ab\r\nc"},
		{"fits exactly at max", 4, "", "abc\n", "\n", net.IOResult{N: 4}, 1, "abc\n"},
		{"overflow at max", 8, "", "0123456789\n", "\n", net.IOResult{N: 8, Err: net.ErrBufferOverflow}, 1, "01234567"},
		{"overflow counts only this call's bytes", 8, "012", "3456789\n", "\n", net.IOResult{N: 5, Err: net.ErrBufferOverflow}, 1, "01234567"},
		{"preloaded full buffer overflows without reading", 4, "0123", "\n", "\n", net.IOResult{Err: net.ErrBufferOverflow}, 0, "0123"},
	}
	for _, kind := range bufferKinds {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				fc := nettest.NewFailCount(0, nil)
				a, _ := nettest.NewPair(ioc, nettest.Options{Fail: fc}, nettest.Options{})
				a.Append([]byte(tt.available))
				buf := kind.new(tt.max)
				p, _ := buf.Prepare(len(tt.preloaded))
				buf.Commit(copy(p, tt.preloaded))
				got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
					net.AsyncReadUntil(a, buf, []byte(tt.delim), h)
				})
				if diff := cmp.Diff(tt.want, got, cmpopts.EquateErrors()); diff != "" {
					t.Fatalf("result (-want +got):\n%s", diff)
				}
				if fc.Count() != tt.wantOps {
					t.Fatalf("%d inner operations, want %d", fc.Count(), tt.wantOps)
				}
				if string(joined(buf)) != tt.wantBuf {
					t.Fatalf("buffer holds %q, want %q", joined(buf), tt.wantBuf)
				}
			})
		}
	}
}

// A delimiter that straddles two blocks of a MultiBuffer is found.
func TestAsyncReadUntilDelimiterAcrossBlocks(t *testing.T) {
	input := append(bytes.Repeat([]byte{'x'}, 511), "\r\nrest"...) // \r ends the first 512-byte block
	ioc := executor.NewIOContext()
	a, _ := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	a.Append(input)
	buf := net.NewMultiBuffer(0)
	got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
		net.AsyncReadUntil(a, buf, []byte("\r\n"), h)
	})
	if got != (net.IOResult{N: 513}) {
		t.Fatalf("result %+v", got)
	}
	if n := len(buf.Data()); n != 2 {
		t.Fatalf("data in %d blocks, want the delimiter split over 2", n)
	}
}

func TestAsyncReadUntilFaultInjection(t *testing.T) {
	input := []byte("a first line\nand more")
	upTo := bytes.IndexByte(input, '\n') + 1
	for _, kind := range bufferKinds {
		for _, m := range modes {
			for _, readSize := range []int{0, 1, 4, 7} {
				t.Run(fmt.Sprintf("%s/%s/ReadSize=%d", kind.name, m.name, readSize), func(t *testing.T) {
					moved := func(n int) int { return movedBefore(n, len(input), readSize) }
					sweepFailures(t, chunks(upTo, readSize), moved, func(t *testing.T, fc *nettest.FailCount) net.IOResult {
						ioc := executor.NewIOContext()
						a, _ := nettest.NewPair(ioc, nettest.Options{ReadSize: readSize, Fail: fc, Mode: m.mode}, nettest.Options{})
						a.Append(input)
						buf := kind.new(0)
						res := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
							net.AsyncReadUntil(a, buf, []byte("\n"), h)
						})
						if res.Err == nil {
							if res.N != upTo {
								t.Fatalf("N = %d, want %d", res.N, upTo)
							}
						} else if !bytes.Equal(joined(buf), input[:res.N]) {
							t.Fatalf("failed after %d bytes; the buffer holds %q", res.N, joined(buf))
						}
						return res
					})
				})
			}
		}
	}
}

func TestAsyncReadUntilCancel(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			a, _ := nettest.NewPair(ioc, nettest.Options{Mode: m.mode}, nettest.Options{})
			a.Append([]byte("no delimiter yet"))
			ctx, cancel := context.WithCancel(context.Background())
			buf := net.NewFlatBuffer(0)
			var r recorder
			r.start(func(h completion.Handler[net.IOResult]) {
				net.AsyncReadUntil(a, buf, []byte("\n"), completion.WithContext(ctx, h))
			})
			ioc.Poll()
			cancel()
			ioc.Run()
			got := r.once(t)
			if got.N != 16 || !errors.Is(got.Err, context.Canceled) || string(buf.Bytes()) != "no delimiter yet" {
				t.Fatalf("cancelled: %+v, buffer %q", got, buf.Bytes())
			}
		})
	}
}

// Reading lines: each call reads until the delimiter, and the bytes after it stay in the buffer
// for the next call.
func ExampleAsyncReadUntil() {
	ioc := executor.NewIOContext()
	s, peer := nettest.NewPair(ioc, nettest.Options{ReadSize: 3}, nettest.Options{})
	s.Append([]byte("first\nsecond\nthird"))
	peer.Close() // the stream ends after "third", which has no delimiter

	buf := net.NewFlatBuffer(1024)
	var readLine func()
	readLine = func() {
		net.AsyncReadUntil(s, buf, []byte("\n"), completion.Callback(func(r net.IOResult) {
			if r.Err != nil {
				fmt.Printf("%v, %q left in the buffer\n", r.Err, buf.Bytes())
				return
			}
			fmt.Printf("%q\n", buf.Bytes()[:r.N])
			buf.Consume(r.N)
			readLine()
		}))
	}
	readLine()
	ioc.Run()
	// Output:
	// "first\n"
	// "second\n"
	// EOF, "third" left in the buffer
}
