package websocket_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// cancelled reports whether err is the end of a cancelled context, as completion.WithContext
// promises it: matching both context.Canceled and completion.ErrOperationAborted.
func cancelled(err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(err, completion.ErrOperationAborted)
}

// checkEnded checks that a stream is over: not open, its next layer closed, and a later read and
// write failing.
func checkEnded(t *testing.T, p *bbPair, s *websocket.Stream, own *nettest.Stream, name string) {
	t.Helper()
	if s.IsOpen() {
		t.Fatalf("%s: stream still open", name)
	}
	w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("x"), h) })
	r := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 4), h) })
	p.run()
	w.check(t, name+" later write")
	r.check(t, name+" later read")
	if w.err() == nil || r.err() == nil {
		t.Fatalf("%s: after the end: write %v, read %v", name, w.err(), r.err())
	}
	if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
		t.Fatalf("%s: next layer still open (Close: %v)", name, err)
	}
}

// TestBBCancelReadAtEachStep cancels a read's context as each of its next-layer reads starts, the
// message arriving a byte at a time with a ping in its middle (whose pong is a write the read
// makes). Whichever step the cancellation reaches, the read's handler runs once; a read that
// fails does so with the context's error, and the stream is over, its next layer closed; a read
// that the cancellation came too late for delivers the whole message and the stream stays open.
func TestBBCancelReadAtEachStep(t *testing.T) {
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			o := nettest.Options{Mode: mode, ReadSize: 1}
			input := func(m bool) []byte {
				return cat(rawFrame(false, websocket.OpText, m, []byte("hello, ")), rawFrame(true, websocket.OpPing, m, []byte("p")),
					rawFrame(true, websocket.OpContinuation, m, []byte("world")))
			}
			p := openHookedPair(t, o, o, nil, nil)
			s, own, _ := p.ends(role)
			own.Append(input(role == websocket.RoleServer))
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
			p.run()
			total := p.hook(role).n
			if rd.err() != nil || total < 10 {
				t.Fatalf("read: %v in %d next-layer operations", rd.err(), total)
			}
			for n := 1; n <= total; n++ {
				name := fmt.Sprintf("%s/mode%d/cancel at %d of %d", roleName(role), mode, n, total)
				p := openHookedPair(t, o, o, nil, nil)
				s, own, _ := p.ends(role)
				own.Append(input(role == websocket.RoleServer))
				ctx, cancel := context.WithCancel(context.Background())
				p.hook(role).before = func(i int) {
					if i == n {
						cancel()
					}
				}
				var buf net.FlatBuffer
				rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&buf, completion.WithContext(ctx, h)) })
				p.run()
				rd.check(t, name)
				if rd.err() == nil {
					if string(buf.Bytes()) != "hello, world" || !s.IsOpen() {
						t.Fatalf("%s: read %q, open %v", name, buf.Bytes(), s.IsOpen())
					}
					cancel()
					continue
				}
				if !cancelled(rd.err()) {
					t.Fatalf("%s: read %v, want the context's error", name, rd.err())
				}
				checkEnded(t, p.bbPair, s, own, name)
			}
		}
	}
}

// TestBBCancelWriteAtEachStep cancels a write's context as each of its next-layer writes starts,
// the message leaving a byte at a time in several frames: the handler runs once; a write that
// fails does so with the context's error, N counting at most the message, and the stream is over;
// one that completes has written the whole message.
func TestBBCancelWriteAtEachStep(t *testing.T) {
	msg := []byte("a message cut into frames")
	wo := &websocket.Options{AutoFragment: true, WriteBufferBytes: 8}
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			o := nettest.Options{Mode: mode, WriteSize: 1}
			p := openHookedPair(t, o, o, wo, wo)
			s, _, _ := p.ends(role)
			w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
			p.run()
			total := p.hook(role).n
			if w.err() != nil || total < len(msg) {
				t.Fatalf("write: %v in %d next-layer operations", w.err(), total)
			}
			for n := 1; n <= total; n++ {
				name := fmt.Sprintf("%s/mode%d/cancel at %d of %d", roleName(role), mode, n, total)
				p := openHookedPair(t, o, o, wo, wo)
				s, own, peer := p.ends(role)
				ctx, cancel := context.WithCancel(context.Background())
				p.hook(role).before = func(i int) {
					if i == n {
						cancel()
					}
				}
				w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, completion.WithContext(ctx, h)) })
				p.run()
				w.check(t, name)
				if w.err() == nil {
					fs := sentFrames(t, peer)
					if w.n() != len(msg) || string(dataPayload(fs)) != string(msg) || !s.IsOpen() {
						t.Fatalf("%s: wrote %d, wire %q, open %v", name, w.n(), dataPayload(fs), s.IsOpen())
					}
					cancel()
					continue
				}
				if !cancelled(w.err()) || w.n() > len(msg) {
					t.Fatalf("%s: write %d, %v; want the context's error", name, w.n(), w.err())
				}
				checkEnded(t, p.bbPair, s, own, name)
			}
		}
	}
}

// TestBBCancelCloseAtEachStep cancels a close's context as each of the closer's next-layer
// operations starts (the close frame's writes, the reads of the peer's close frame, the teardown),
// while the peer reads and answers: the close's handler runs once, with nil or the context's
// error; either way the closer is over and its next layer closed, and the peer's read ends.
func TestBBCancelCloseAtEachStep(t *testing.T) {
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			o := nettest.Options{Mode: mode, ReadSize: 1, WriteSize: 1}
			p := openHookedPair(t, o, o, nil, nil)
			s, _, _ := p.ends(role)
			pr := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.other(role).AsyncRead(net.NewFlatBuffer(0), h) })
			cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
			p.run()
			total := p.hook(role).n
			if cl.err() != nil || !errors.Is(pr.err(), websocket.ErrClosed) || total < 4 {
				t.Fatalf("close %v, peer's read %v, in %d next-layer operations", cl.err(), pr.err(), total)
			}
			for n := 1; n <= total; n++ {
				name := fmt.Sprintf("%s/mode%d/cancel at %d of %d", roleName(role), mode, n, total)
				p := openHookedPair(t, o, o, nil, nil)
				s, own, _ := p.ends(role)
				ctx, cancel := context.WithCancel(context.Background())
				p.hook(role).before = func(i int) {
					if i == n {
						cancel()
					}
				}
				pr := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.other(role).AsyncRead(net.NewFlatBuffer(0), h) })
				cl := startErr(p.ioc, func(h completion.Handler[error]) {
					s.AsyncClose(websocket.CloseReason{Code: 1000}, completion.WithContext(ctx, h))
				})
				p.run()
				cl.check(t, name)
				pr.check(t, name+" peer's read")
				if cl.err() != nil && !cancelled(cl.err()) {
					t.Fatalf("%s: close %v, want nil or the context's error", name, cl.err())
				}
				if pr.err() == nil {
					t.Fatalf("%s: the peer's read succeeded", name)
				}
				cancel()
				checkEnded(t, p.bbPair, s, own, name)
			}
		}
	}
}

// TestBBCancelledBeforeStart: an operation whose context is already done fails at once with the
// context's error, sends nothing and leaves the stream open.
func TestBBCancelledBeforeStart(t *testing.T) {
	for _, op := range bbOps {
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := startErr(p.ioc, func(h completion.Handler[error]) { op.start(p.client, nil, completion.WithContext(ctx, h)) })
		p.run()
		r.check(t, op.name)
		if !cancelled(r.err()) || !p.client.IsOpen() || len(p.sEnd.Unread()) != 0 {
			t.Fatalf("%s with a done context: %v, open %v, sent %d bytes", op.name, r.err(), p.client.IsOpen(), len(p.sEnd.Unread()))
		}
	}
}
