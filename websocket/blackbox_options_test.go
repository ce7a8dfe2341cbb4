package websocket_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// TestBBObservers checks what a stream reports before and after its handshake: its executor and
// next layer, IsMessageDone true before the first read, no Response or Subprotocol on a stream
// that negotiated none, a zero Reason.
func TestBBObservers(t *testing.T) {
	p := newBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
	if p.client.Executor() != executor.Executor(p.ioc) || p.client.NextLayer() != net.AsyncStream(p.cEnd) {
		t.Fatal("Executor or NextLayer is not the next layer's")
	}
	if p.client.Response() != nil || p.client.IsOpen() || !p.client.IsMessageDone() || p.client.Reason() != (websocket.CloseReason{}) {
		t.Fatal("a new stream reports a response, is open, is inside a message, or has a Reason")
	}
	p = openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
	if p.client.Subprotocol() != "" || p.server.Subprotocol() != "" || p.server.Response() != nil || !p.server.IsMessageDone() {
		t.Fatal("an open stream without subprotocols reports one, or a server a Response, or a read in progress")
	}
}

// TestBBFragmentSizes: without AutoFragment a message is one frame whatever its size; with it,
// frames carry at most WriteBufferBytes (4096 when zero) of payload.
func TestBBFragmentSizes(t *testing.T) {
	msg := make([]byte, 10000)
	for _, c := range []struct {
		opts *websocket.Options
		max  int
	}{{nil, len(msg)}, {&websocket.Options{AutoFragment: true}, 4096}, {&websocket.Options{AutoFragment: true, WriteBufferBytes: 1000}, 1000},
		{&websocket.Options{WriteBufferBytes: 1000}, len(msg)}} {
		for _, role := range roles {
			p := openBBPair(t, nettest.Options{}, nettest.Options{}, c.opts, c.opts)
			s, _, peer := p.ends(role)
			w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
			p.run()
			fs := sentFrames(t, peer)
			want := (len(msg) + c.max - 1) / c.max
			if w.err() != nil || len(fs) != want || len(dataPayload(fs)) != len(msg) {
				t.Fatalf("%s %+v: write %v, %d frames, want %d", roleName(role), c.opts, w.err(), len(fs), want)
			}
			for i, f := range fs {
				if len(f.payload) > c.max || f.fin != (i == len(fs)-1) || (i > 0) != (f.op == websocket.OpContinuation) {
					t.Fatalf("%s %+v: frame %d %v", roleName(role), c.opts, i, f)
				}
			}
		}
	}
}

// TestBBReadMessageMax: the default limit is 16 MiB and a negative one is none; the limit is
// checked as soon as a frame header announces the size, before any payload arrives.
func TestBBReadMessageMax(t *testing.T) {
	header := func(n uint64) []byte {
		b := []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 0}
		for i := range 8 {
			b[9-i] = byte(n >> (8 * i))
		}
		return append(b, maskKey[:]...)
	}
	for _, c := range []struct {
		max  int
		size uint64
		fail bool
	}{{0, 16<<20 + 1, true}, {0, 16 << 20, false}, {-1, 1 << 40, false}, {100, 101, true}} {
		name := fmt.Sprintf("max %d, size %d", c.max, c.size)
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, &websocket.Options{ReadMessageMax: c.max})
		h := header(c.size)
		if c.size < 126 {
			h = rawFrame(true, websocket.OpBinary, true, make([]byte, c.size))[:6]
		}
		p.sEnd.Append(append(h, make([]byte, 10)...))
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncReadSome(make([]byte, 10), h) })
		if c.fail {
			p.cEnd.Shutdown(net.ShutdownWrite)
		}
		p.run()
		rd.check(t, name)
		if c.fail != errors.Is(rd.err(), websocket.ErrMessageTooBig) || !c.fail && (rd.err() != nil || rd.n() != 10) {
			t.Fatalf("%s: read %d %v", name, rd.n(), rd.err())
		}
	}
}

// TestBBSetTimeoutAfterOpen: a handshake timeout set on an open stream applies to its closing
// handshake, which arms the timer: a close against a silent peer fails with ErrTimeout though
// the close timeout is an hour.
func TestBBSetTimeoutAfterOpen(t *testing.T) {
	for _, role := range roles {
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, &websocket.Options{CloseTimeout: time.Hour}, &websocket.Options{CloseTimeout: time.Hour})
		s, _, _ := p.ends(role)
		s.SetTimeout(websocket.Timeout{Handshake: 20 * time.Millisecond})
		cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
		p.runBounded(t, "close", cl.done)
		cl.check(t, "close")
		if !errors.Is(cl.err(), websocket.ErrTimeout) {
			t.Fatalf("%s: close %v, want ErrTimeout", roleName(role), cl.err())
		}
	}
}

// TestBBPingPongInProgress: a pong started while a ping is pending (and a ping while a pong is)
// fails with ErrOperationInProgress, and the first goes out.
func TestBBPingPongInProgress(t *testing.T) {
	for _, pingFirst := range []bool{true, false} {
		p := openBBPair(t, nettest.Options{WriteSize: 1}, nettest.Options{}, nil, nil)
		first := func(h completion.Handler[error]) { p.client.AsyncPing([]byte("1"), h) }
		second := func(h completion.Handler[error]) { p.client.AsyncPong([]byte("2"), h) }
		if !pingFirst {
			first, second = second, first
		}
		r1, r2 := startErr(p.ioc, first), startErr(p.ioc, second)
		p.run()
		if r1.err() != nil || !errors.Is(r2.err(), websocket.ErrOperationInProgress) || len(sentFrames(t, p.sEnd)) != 1 {
			t.Fatalf("ping first %v: first %v, second %v, frames %v", pingFirst, r1.err(), r2.err(), sentFrames(t, p.sEnd))
		}
	}
}
