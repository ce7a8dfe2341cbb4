package net_test

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// readOnly hides every method of a stream but its reading side, as a stream that only reads
// (a decoder over another stream) has.
type readOnly struct{ r net.AsyncReadStream }

func (s readOnly) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	s.r.AsyncReadSome(b, h)
}
func (s readOnly) Executor() executor.Executor { return s.r.Executor() }

// writeOnly hides every method of a stream but its writing side.
type writeOnly struct{ w net.AsyncWriteStream }

func (s writeOnly) AsyncWriteSome(b []byte, h completion.Handler[net.IOResult]) {
	s.w.AsyncWriteSome(b, h)
}
func (s writeOnly) Executor() executor.Executor { return s.w.Executor() }

// The read helpers need only a read stream, and AsyncWrite only a write stream; each runs its
// steps on the executor the stream names.
func TestHelpersOverOneDirection(t *testing.T) {
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, nettest.Options{ReadSize: 2}, nettest.Options{WriteSize: 3})
	b.Append([]byte("line\nrest"))
	w := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
		net.AsyncWrite(writeOnly{b}, []byte("hello"), h)
	})
	if w != (net.IOResult{N: 5}) || string(a.Unread()) != "hello" {
		t.Fatalf("AsyncWrite: %+v, peer has %q", w, a.Unread())
	}
	buf := make([]byte, 5)
	r := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { net.AsyncRead(readOnly{a}, buf, h) })
	if r != (net.IOResult{N: 5}) || string(buf) != "hello" {
		t.Fatalf("AsyncRead: %+v, %q", r, buf)
	}
	var line net.FlatBuffer
	u := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) {
		net.AsyncReadUntil(readOnly{b}, &line, []byte("\n"), h)
	})
	if u != (net.IOResult{N: 5}) {
		t.Fatalf("AsyncReadUntil: %+v", u)
	}
}
