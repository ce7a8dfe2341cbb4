package nettest_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// A gather write is one operation: it takes at most WriteSize bytes of the concatenation, counts
// once for a FailCount, and fails as a write does.
func TestWriteSomeBuffers(t *testing.T) {
	bufs := [][]byte{[]byte("ab"), nil, []byte("cdef"), []byte("g")}
	tests := []struct {
		name      string
		writeSize int
		fail      int
		prepare   func(a, b *nettest.Stream)
		want      net.IOResult
		peerGets  string
	}{
		{"all of it", 0, 0, nil, net.IOResult{N: 7}, "abcdefg"},
		{"cut to WriteSize inside a buffer", 3, 0, nil, net.IOResult{N: 3}, "abc"},
		{"cut to WriteSize at a buffer's end", 2, 0, nil, net.IOResult{N: 2}, "ab"},
		{"failed", 0, 1, nil, net.IOResult{Err: nettest.ErrInjected}, ""},
		{"to a closed peer", 0, 0, func(a, b *nettest.Stream) { b.Close() }, net.IOResult{Err: io.ErrClosedPipe}, ""},
		{"after ShutdownWrite", 0, 0, func(a, b *nettest.Stream) { a.Shutdown(net.ShutdownWrite) }, net.IOResult{Err: io.ErrClosedPipe}, ""},
		{"after Close", 0, 0, func(a, b *nettest.Stream) { a.Close() }, net.IOResult{Err: nettest.ErrClosed}, ""},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s", m.name, tt.name), func(t *testing.T) {
				ioc := executor.NewIOContext()
				fc := nettest.NewFailCount(tt.fail, nil)
				a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: tt.writeSize, Fail: fc, Mode: m.mode}, nettest.Options{})
				if tt.prepare != nil {
					tt.prepare(a, b)
				}
				var r recorder
				inHandler(ioc, func() {
					r.start(func(h completion.Handler[net.IOResult]) { a.AsyncWriteSomeBuffers(bufs, h) })
				})
				got := r.once(t)
				if got.N != tt.want.N || !errors.Is(got.Err, tt.want.Err) || (tt.want.Err == nil) != (got.Err == nil) {
					t.Fatalf("got %+v, want %+v", got, tt.want)
				}
				if string(b.Unread()) != tt.peerGets {
					t.Fatalf("the peer has %q, want %q", b.Unread(), tt.peerGets)
				}
				if fc.Count() != 1 {
					t.Fatalf("counted %d operations, want 1", fc.Count())
				}
			})
		}
	}
}
