package websocket

import (
	"context"
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// TestContextDoneBeforeStart starts every operation with a context already done: each completes
// with the cancellation and leaves the stream as it was, so the same operation then succeeds.
func TestContextDoneBeforeStart(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	io := func(f func(h completion.Handler[net.IOResult])) error {
		r := start(t, func(h completion.Handler[net.IOResult]) { f(completion.WithContext(done, h)) })
		p.run()
		return r.r.Err
	}
	e := func(f func(h completion.Handler[error])) error {
		r := startOp(func(h completion.Handler[error]) { f(completion.WithContext(done, h)) })
		p.run()
		r.check(t, "operation")
		return r.err
	}
	errs := []error{
		io(func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite([]byte("x"), h) }),
		io(func(h completion.Handler[net.IOResult]) { p.client.AsyncReadSome(make([]byte, 1), h) }),
		io(func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) }),
		e(func(h completion.Handler[error]) { p.client.AsyncPing(nil, h) }),
		e(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{}, h) }),
	}
	for i, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("operation %d: %v, want the cancellation", i, err)
		}
	}
	if !p.client.IsOpen() {
		t.Fatal("the stream was closed by operations that never started")
	}
	w := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite([]byte("x"), h) })
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	pi := startOp(func(h completion.Handler[error]) { p.client.AsyncPing(nil, h) })
	p.run()
	if w.r.Err != nil || r.r.Err != nil || pi.err != nil {
		t.Fatalf("after: write %v, read %v, ping %v", w.r.Err, r.r.Err, pi.err)
	}
	cr := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
	sr := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{}, h) })
	p.run()
	if c.err != nil || !errors.Is(cr.r.Err, ErrClosed) || !errors.Is(sr.r.Err, ErrClosed) {
		t.Fatalf("close %v, reads %v %v", c.err, cr.r.Err, sr.r.Err)
	}

	// The handshakes too: a second handshake after a skipped one runs.
	q := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	client, server := NewStream(q.cEnd, nil), NewStream(q.sEnd, nil)
	h1 := startOp(func(h completion.Handler[error]) {
		client.AsyncHandshake("x", "/", nil, completion.WithContext(done, h))
	})
	a1 := startOp(func(h completion.Handler[error]) { server.AsyncAccept(nil, completion.WithContext(done, h)) })
	q.run()
	if !errors.Is(h1.err, context.Canceled) || !errors.Is(a1.err, context.Canceled) {
		t.Fatalf("handshake %v, accept %v", h1.err, a1.err)
	}
	h2 := startOp(func(h completion.Handler[error]) { client.AsyncHandshake("x", "/", nil, h) })
	a2 := startOp(func(h completion.Handler[error]) { server.AsyncAccept(nil, h) })
	q.run()
	if h2.err != nil || a2.err != nil || !client.IsOpen() || !server.IsOpen() {
		t.Fatalf("handshake %v, accept %v", h2.err, a2.err)
	}
}

// TestCloseCancelledWhileParked: a close whose context ends while it waits behind a write leaves
// the stream open, and the close timer it armed does not end the stream later.
func TestCloseCancelledWhileParked(t *testing.T) {
	p := newPair(t, nettest.Options{WriteSize: 1}, nettest.Options{}, shortClose)
	ctx, cancel := context.WithCancel(context.Background())
	w := start(t, func(h completion.Handler[net.IOResult]) {
		// Long enough, a byte per step, that the cancellation (delivered from the context's own
		// goroutine) lands while the close still waits.
		p.client.AsyncWrite(make([]byte, 64<<10), completion.Callback(func(r net.IOResult) { h.Complete(r) }))
	})
	c := startOp(func(h completion.Handler[error]) {
		p.client.AsyncClose(CloseReason{Code: CloseNormal}, completion.WithContext(ctx, h))
	})
	// Cancel once the close is parked behind the write, however the executor orders the steps.
	var cancelWhenParked func()
	cancelWhenParked = func() {
		switch {
		case p.client.wrClose || c.done > 0:
			t.Error("the close was not parked behind the write")
		case p.client.x.cl.phase == closeLockWrite && p.client.writeMu.Locked():
			cancel()
		default:
			p.ioc.Post(cancelWhenParked)
		}
	}
	p.ioc.Post(cancelWhenParked)
	p.run()
	if w.r.Err != nil || !errors.Is(c.err, context.Canceled) || !p.client.IsOpen() {
		t.Fatalf("write %v, close %v, open %v", w.r.Err, c.err, p.client.IsOpen())
	}
	p.run() // nothing left: the close timer was disarmed
	w2 := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite([]byte("more"), h) })
	p.run()
	if w2.r.Err != nil {
		t.Fatalf("write after the cancelled close %v", w2.r.Err)
	}
}
