package net_test

import (
	"bytes"
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

func TestAsyncWrite(t *testing.T) {
	tests := []struct {
		name       string
		writeSize  int
		data       string
		peerClosed bool
		want       net.IOResult
	}{
		{"in one write", 0, "hello, world", false, net.IOResult{N: 12}},
		{"in many writes", 5, "hello, world", false, net.IOResult{N: 12}},
		{"one byte at a time", 1, "hello, world", false, net.IOResult{N: 12}},
		{"to a closed peer", 0, "hello", true, net.IOResult{Err: io.ErrClosedPipe}},
		{"zero length", 0, "", false, net.IOResult{}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				fc := nettest.NewFailCount(0, nil)
				a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: tt.writeSize, Fail: fc, Mode: m.mode}, nettest.Options{})
				if tt.peerClosed {
					b.Close()
				}
				got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(a, []byte(tt.data), h) })
				if diff := cmp.Diff(tt.want, got, cmpopts.EquateErrors()); diff != "" {
					t.Fatalf("result (-want +got):\n%s", diff)
				}
				if !tt.peerClosed && string(b.Unread()) != tt.data {
					t.Fatalf("peer received %q", b.Unread())
				}
				if tt.data == "" && fc.Count() != 0 {
					t.Fatalf("zero-length write made %d operations", fc.Count())
				}
			})
		}
	}
}

func TestAsyncWriteFaultInjection(t *testing.T) {
	msg := []byte("hello, composed world")
	for _, m := range modes {
		for _, writeSize := range []int{0, 1, 4, 7} {
			t.Run(fmt.Sprintf("%s/WriteSize=%d", m.name, writeSize), func(t *testing.T) {
				moved := func(n int) int { return movedBefore(n, len(msg), writeSize) }
				sweepFailures(t, chunks(len(msg), writeSize), moved, func(t *testing.T, fc *nettest.FailCount) net.IOResult {
					ioc := executor.NewIOContext()
					a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: writeSize, Fail: fc, Mode: m.mode}, nettest.Options{})
					res := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(a, msg, h) })
					if !bytes.Equal(b.Unread(), msg[:res.N]) {
						t.Fatalf("peer received %q after %+v", b.Unread(), res)
					}
					return res
				})
			})
		}
	}
}
