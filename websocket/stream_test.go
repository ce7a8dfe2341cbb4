package websocket

import (
	"bytes"
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// wsPair is a client stream and a server stream over the two ends of a nettest pair.
type wsPair struct {
	ioc            *executor.IOContext
	client, server *Stream
	cEnd, sEnd     *nettest.Stream
}

func newPair(t *testing.T, co, so nettest.Options, opts *Options) *wsPair {
	t.Helper()
	ioc := executor.NewIOContext()
	c, s := nettest.NewPair(ioc, co, so)
	p := &wsPair{ioc: ioc, client: NewStream(c, opts), server: NewStream(s, opts), cEnd: c, sEnd: s}
	p.client.setRole(roleClient)
	p.server.setRole(roleServer)
	t.Cleanup(func() { c.Close(); s.Close() })
	return p
}

// result starts an operation and returns where its result lands; it also checks that the
// handler did not run inside the initiating call.
type result struct {
	done bool
	r    net.IOResult
}

func start(t *testing.T, f func(h completion.Handler[net.IOResult])) *result {
	t.Helper()
	res := &result{}
	returned := false
	f(completion.Callback(func(r net.IOResult) {
		if !returned {
			t.Error("handler called inside the initiating call")
		}
		res.done, res.r = true, r
	}))
	returned = true
	return res
}

// run runs the context until it is out of work and makes it ready to run again.
func (p *wsPair) run() {
	p.ioc.Run()
	p.ioc.Restart()
}

func TestStreamNotOpen(t *testing.T) {
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer a.Close()
	defer b.Close()
	s := NewStream(a, nil)
	if s.IsOpen() || s.NextLayer() != a || s.Executor() != a.Executor() {
		t.Fatal("a new stream must be closed and name its next layer and its executor")
	}
	w := start(t, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("x"), h) })
	r := start(t, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 1), h) })
	ioc.Run()
	if !errors.Is(w.r.Err, ErrNotOpen) || !errors.Is(r.r.Err, ErrNotOpen) {
		t.Fatalf("write %v, read %v; want ErrNotOpen", w.r.Err, r.r.Err)
	}
}

func TestStreamOneOperationAtATime(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	r1 := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	r2 := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	w1 := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite([]byte("hello"), h) })
	w2 := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite([]byte("other"), h) })
	p.run()
	if !errors.Is(r2.r.Err, ErrOperationInProgress) || !errors.Is(w2.r.Err, ErrOperationInProgress) {
		t.Fatalf("second read %v, second write %v; want ErrOperationInProgress", r2.r.Err, w2.r.Err)
	}
	if w1.r != (net.IOResult{N: 5}) || r1.r != (net.IOResult{N: 5}) {
		t.Fatalf("first write %+v, first read %+v; want 5 bytes each", w1.r, r1.r)
	}
}

// TestStreamTCP sends messages both ways over a loopback TCP connection.
func TestStreamTCP(t *testing.T) {
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ioc := executor.NewIOContext()
	cc, sc, err := dialPair(ln)
	if err != nil {
		t.Fatal(err)
	}
	cs, ss := net.FromConn(cc, ioc), net.FromConn(sc, ioc)
	defer cs.Close()
	defer ss.Close()
	client, server := NewStream(cs, nil), NewStream(ss, nil)
	client.setRole(roleClient)
	server.setRole(roleServer)
	msg := bytes.Repeat([]byte("tcp "), 50000)
	var cbuf, sbuf net.FlatBuffer
	w1 := start(t, func(h completion.Handler[net.IOResult]) { client.AsyncWrite(msg, h) })
	r1 := start(t, func(h completion.Handler[net.IOResult]) { server.AsyncRead(&sbuf, h) })
	w2 := start(t, func(h completion.Handler[net.IOResult]) { server.AsyncWrite(msg[:1000], h) })
	r2 := start(t, func(h completion.Handler[net.IOResult]) { client.AsyncRead(&cbuf, h) })
	ioc.Run()
	if w1.r.Err != nil || r1.r.Err != nil || w2.r.Err != nil || r2.r.Err != nil {
		t.Fatalf("errors: %v %v %v %v", w1.r.Err, r1.r.Err, w2.r.Err, r2.r.Err)
	}
	if !bytes.Equal(sbuf.Bytes(), msg) || !bytes.Equal(cbuf.Bytes(), msg[:1000]) {
		t.Fatal("messages differ")
	}
}
