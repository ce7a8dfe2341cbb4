package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// opResult is where the result of an operation that completes with an error lands.
type opResult struct {
	done  int // how many times the handler ran: exactly once is the contract
	err   error
	inner bool // the handler ran inside the initiating call
}

// startOp starts an operation completing with an error and records its handler's calls.
func startOp(f func(h completion.Handler[error])) *opResult {
	res := &opResult{}
	returned := false
	f(completion.Callback(func(err error) {
		res.inner = res.inner || !returned
		res.done++
		res.err = err
	}))
	returned = true
	return res
}

// check fails the test unless the handler ran exactly once, outside the initiating call.
func (r *opResult) check(t *testing.T, what string) {
	t.Helper()
	if r.done != 1 || r.inner {
		t.Fatalf("%s: handler ran %d times (inside the call: %v), want once, posted", what, r.done, r.inner)
	}
}

// shortClose is the close timeout of the tests where a peer never ends its side.
var shortClose = &Options{CloseTimeout: 30 * time.Millisecond}

// TestCloseHandshake closes from each side, with each kind of reason, while the other side has a
// read pending: both close frames cross, the read fails with ErrClosed and the closer's reason,
// both next layers are torn down, and every later operation fails with ErrClosed.
func TestCloseHandshake(t *testing.T) {
	reasons := []CloseReason{{}, {Code: CloseGoingAway}, {Code: 4000, Reason: "done here"}}
	for _, closer := range []Role{RoleClient, RoleServer} {
		for _, reason := range reasons {
			p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
			us, peer := p.client, p.server
			if closer == RoleServer {
				us, peer = p.server, p.client
			}
			r := start(t, func(h completion.Handler[net.IOResult]) { peer.AsyncRead(net.NewFlatBuffer(0), h) })
			c := startOp(func(h completion.Handler[error]) { us.AsyncClose(reason, h) })
			p.run()
			c.check(t, "close")
			if c.err != nil || !errors.Is(r.r.Err, ErrClosed) {
				t.Fatalf("closer %v %+v: close %v, peer's read %v", closer, reason, c.err, r.r.Err)
			}
			want := reason
			if want.Code == CloseNone {
				want.Code = CloseNoStatus
			}
			if peer.Reason() != want {
				t.Fatalf("peer's Reason %+v, want %+v", peer.Reason(), want)
			}
			echo := reason.Code
			if echo == CloseNone {
				echo = CloseNormal
			}
			if us.Reason().Code != echo {
				t.Fatalf("closer's Reason %+v, want the echo of code %v", us.Reason(), echo)
			}
			if us.IsOpen() || peer.IsOpen() {
				t.Fatal("a stream is open after the closing handshake")
			}
			for _, s := range []*Stream{us, peer} {
				w := start(t, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("x"), h) })
				rr := start(t, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 1), h) })
				pi := startOp(func(h completion.Handler[error]) { s.AsyncPing(nil, h) })
				cl := startOp(func(h completion.Handler[error]) { s.AsyncClose(CloseReason{}, h) })
				p.run()
				if !errors.Is(w.r.Err, ErrClosed) || !errors.Is(rr.r.Err, ErrClosed) || !errors.Is(pi.err, ErrClosed) || !errors.Is(cl.err, ErrClosed) {
					t.Fatalf("after close: write %v, read %v, ping %v, close %v; want ErrClosed", w.r.Err, rr.r.Err, pi.err, cl.err)
				}
			}
			assertTornDown(t, p)
		}
	}
}

// assertTornDown checks that both ends of the pair were closed by their streams.
func assertTornDown(t *testing.T, p *wsPair) {
	t.Helper()
	assertClosed(t, p, p.cEnd)
	assertClosed(t, p, p.sEnd)
}

// assertClosed checks that a next layer of the pair was closed: a write on it fails.
func assertClosed(t *testing.T, p *wsPair, end *nettest.Stream) {
	t.Helper()
	w := start(t, func(h completion.Handler[net.IOResult]) { end.AsyncWriteSome([]byte("x"), h) })
	p.run()
	if w.r.Err == nil {
		t.Fatal("a next layer is still open after the stream ended")
	}
}

// TestCloseBadReason refuses reasons that may not be sent, before anything goes out.
func TestCloseBadReason(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	bad := []CloseReason{{Code: CloseNoStatus}, {Code: 1004}, {Code: CloseNone, Reason: "no code"}, {Code: 1000, Reason: string(make([]byte, 124))}, {Code: 1000, Reason: "\xff"}}
	for _, r := range bad {
		c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(r, h) })
		p.run()
		c.check(t, "close")
		if !errors.Is(c.err, ErrBadCloseReason) || !p.client.IsOpen() || len(p.sEnd.Unread()) != 0 {
			t.Fatalf("reason %+v: close %v, open %v, sent % x", r, c.err, p.client.IsOpen(), p.sEnd.Unread())
		}
	}
}

// TestCloseTwice: a second close while the first is pending is refused without disturbing it, and
// one after it is over fails with ErrClosed.
func TestCloseTwice(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	c1 := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	c2 := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.run()
	c1.check(t, "first close")
	c2.check(t, "second close")
	if c1.err != nil || !errors.Is(c2.err, ErrOperationInProgress) || !errors.Is(r.r.Err, ErrClosed) {
		t.Fatalf("first %v, second %v, read %v", c1.err, c2.err, r.r.Err)
	}
	c3 := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.run()
	if !errors.Is(c3.err, ErrClosed) {
		t.Fatalf("close after close: %v, want ErrClosed", c3.err)
	}
}

// TestCloseDrains has the peer's messages and a ping arrive before its close frame: AsyncClose
// discards them, sends no pong and calls no callback.
func TestCloseDrains(t *testing.T) {
	for _, readSize := range []int{0, 1} {
		p := newPair(t, nettest.Options{ReadSize: readSize}, nettest.Options{}, nil)
		var wire []byte
		wire = append(wire, rawFrame(roleServer, 0x81, []byte("hello"))...)
		wire = append(wire, rawFrame(roleServer, 0x82, make([]byte, 4097))...)
		wire = append(wire, rawFrame(roleServer, 0x89, []byte("ping"))...)
		wire = append(wire, rawFrame(roleServer, 0x01, []byte("frag"))...)
		wire = append(wire, rawFrame(roleServer, 0x80, []byte("ment"))...)
		wire = append(wire, rawFrame(roleServer, 0x88, []byte{0x03, 0xE8})...)
		p.cEnd.Append(wire)
		p.sEnd.Shutdown(net.ShutdownWrite)
		called := false
		p.client.SetControlCallback(func(FrameType, []byte) { called = true })
		c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
		p.run()
		c.check(t, "close")
		if c.err != nil || called || p.client.Reason().Code != CloseNormal {
			t.Fatalf("close %v, callback called %v, reason %+v", c.err, called, p.client.Reason())
		}
		// Only our close frame went out: no pong for the ping.
		got := p.sEnd.Unread()
		if len(got) < 2 || got[0] != 0x88 || len(got) != 2+4+2 {
			t.Fatalf("the peer got % x, want our close frame alone", got)
		}
	}
}

// TestCloseDrainViolation: a frame that breaks the protocol while AsyncClose waits for the peer's
// close frame ends the close with the violation, after the teardown.
func TestCloseDrainViolation(t *testing.T) {
	tests := []struct {
		wire []byte
		want error
	}{
		{rawFrame(roleClient, 0x81, []byte("masked")), ErrBadMaskedFrame},
		{rawFrame(roleServer, 0x88, []byte{3}), ErrBadCloseSize},
	}
	for _, tt := range tests {
		p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
		p.cEnd.Append(tt.wire)
		p.sEnd.Shutdown(net.ShutdownWrite)
		c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
		p.run()
		c.check(t, "close")
		if !errors.Is(c.err, tt.want) {
			t.Fatalf("close %v, want %v", c.err, tt.want)
		}
		assertClosed(t, p, p.cEnd)
	}
}

// TestCloseAfterHalfReadMessage reads part of a message, then closes: the rest of the message is
// discarded on the way to the peer's close frame.
func TestCloseAfterHalfReadMessage(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	msg := bytes.Repeat([]byte("m"), 1000)
	w := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncWrite(msg, h) })
	r := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncReadSome(make([]byte, 10), h) })
	p.run()
	if w.r.Err != nil || r.r.N != 10 || p.client.IsMessageDone() {
		t.Fatalf("write %+v, read %+v", w.r, r.r)
	}
	sr := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.run()
	c.check(t, "close")
	if c.err != nil || !errors.Is(sr.r.Err, ErrClosed) {
		t.Fatalf("close %v, server's read %v", c.err, sr.r.Err)
	}
}

// TestCloseWithReadPending closes while the closer's own read is pending: the read goes on until
// the peer's close frame and fails with ErrClosed, not an abort (Beast's #1071), and the close
// succeeds.
func TestCloseWithReadPending(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		p := newPair(t, nettest.Options{Mode: mode, ReadSize: 1}, nettest.Options{Mode: mode}, nil)
		cr := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
		sr := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
		c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseGoingAway}, h) })
		p.run()
		c.check(t, "close")
		if c.err != nil || !errors.Is(cr.r.Err, ErrClosed) || !errors.Is(sr.r.Err, ErrClosed) {
			t.Fatalf("mode %v: close %v, own read %v, peer's read %v", mode, c.err, cr.r.Err, sr.r.Err)
		}
		if p.client.Reason().Code != CloseGoingAway {
			t.Fatalf("reason %+v, want the echo of 1001", p.client.Reason())
		}
		assertTornDown(t, p)
	}
}

// TestCloseBothAtOnce: both sides close at the same time, each with a read pending or not.
func TestCloseBothAtOnce(t *testing.T) {
	for _, reads := range []bool{false, true} {
		p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
		var cr, sr *result
		if reads {
			cr = start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
			sr = start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
		}
		c1 := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: 4001}, h) })
		c2 := startOp(func(h completion.Handler[error]) { p.server.AsyncClose(CloseReason{Code: 4002}, h) })
		p.run()
		c1.check(t, "client close")
		c2.check(t, "server close")
		if c1.err != nil || c2.err != nil {
			t.Fatalf("reads %v: client close %v, server close %v", reads, c1.err, c2.err)
		}
		if reads && (!errors.Is(cr.r.Err, ErrClosed) || !errors.Is(sr.r.Err, ErrClosed)) {
			t.Fatalf("reads: client %v, server %v", cr.r.Err, sr.r.Err)
		}
		if p.client.Reason().Code != 4002 || p.server.Reason().Code != 4001 {
			t.Fatalf("reasons %+v %+v", p.client.Reason(), p.server.Reason())
		}
		assertTornDown(t, p)
	}
}

// TestCloseDuringFragmentedWrite: a close started while a message goes out in several frames is
// sent between two frames, never inside one, and the write then fails with ErrClosed.
func TestCloseDuringFragmentedWrite(t *testing.T) {
	opts := &Options{AutoFragment: true, WriteBufferBytes: 100, CloseTimeout: 30 * time.Millisecond}
	p := newPair(t, nettest.Options{WriteSize: 7}, nettest.Options{}, opts)
	msg := bytes.Repeat([]byte("f"), 1000)
	w := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
	c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.run()
	c.check(t, "close")
	if !errors.Is(w.r.Err, ErrClosed) || w.r.N%100 != 0 || w.r.N == len(msg) {
		t.Fatalf("write %+v, want ErrClosed after whole frames", w.r)
	}
	if !errors.Is(c.err, ErrTimeout) {
		t.Fatalf("close %v, want ErrTimeout from a peer that never answers", c.err)
	}
	// Parse what the peer got: whole data frames, then the close frame, then nothing.
	wire := p.sEnd.Unread()
	frames := 0
	for len(wire) > 0 {
		h, n, err := parseHeader(wire, roleServer, false)
		if err != nil {
			t.Fatalf("frame %d: %v", frames, err)
		}
		wire = wire[n+int(h.length):]
		frames++
		if h.op == OpClose {
			if len(wire) != 0 {
				t.Fatalf("% x after the close frame", wire)
			}
			break
		}
	}
	if frames != w.r.N/100+1 {
		t.Fatalf("%d frames for %d bytes written", frames, w.r.N)
	}
}

// TestCloseParkedBehindPing: a close started behind a ping goes out after it.
func TestCloseParkedBehindPing(t *testing.T) {
	p := newPair(t, nettest.Options{WriteSize: 1}, nettest.Options{}, nil)
	var kinds []FrameType
	p.server.SetControlCallback(func(k FrameType, _ []byte) { kinds = append(kinds, k) })
	sr := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	pi := startOp(func(h completion.Handler[error]) { p.client.AsyncPing([]byte("are you there"), h) })
	c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.run()
	pi.check(t, "ping")
	c.check(t, "close")
	if pi.err != nil || c.err != nil || !errors.Is(sr.r.Err, ErrClosed) {
		t.Fatalf("ping %v, close %v, read %v", pi.err, c.err, sr.r.Err)
	}
	if len(kinds) != 2 || kinds[0] != FramePing || kinds[1] != FrameClose {
		t.Fatalf("the server saw %v, want [ping close]", kinds)
	}
}

// TestCloseSilentPeer: a peer that never answers the close frame cannot hold the close for ever:
// the close timeout ends it with ErrTimeout and closes the next layer.
func TestCloseSilentPeer(t *testing.T) {
	for _, timeout := range []Options{{CloseTimeout: 30 * time.Millisecond}, {Timeout: Timeout{Handshake: 30 * time.Millisecond}, CloseTimeout: time.Hour}} {
		p := newPair(t, nettest.Options{}, nettest.Options{}, &timeout)
		c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
		p.run()
		c.check(t, "close")
		if !errors.Is(c.err, ErrTimeout) {
			t.Fatalf("close %v, want ErrTimeout", c.err)
		}
		assertClosed(t, p, p.cEnd)
	}
}

// TestCloseSilentPeerWithReadPending: the pending read sees the timeout first and the close an
// abort caused by it (Beast's #1729 reported "Bad file descriptor" here).
func TestCloseSilentPeerWithReadPending(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, shortClose)
	r := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
	c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.run()
	c.check(t, "close")
	if !errors.Is(r.r.Err, ErrTimeout) || errors.Is(r.r.Err, completion.ErrOperationAborted) {
		t.Fatalf("read %v, want ErrTimeout", r.r.Err)
	}
	if !errors.Is(c.err, ErrTimeout) || !errors.Is(c.err, completion.ErrOperationAborted) {
		t.Fatalf("close %v, want an abort caused by the timeout", c.err)
	}
}

// TestClosePeerNeverEnds: the peer answers the close frame but never ends its side: the close
// handshake is complete, so the close succeeds once the timeout has closed the next layer.
func TestClosePeerNeverEnds(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, shortClose)
	p.cEnd.Append(rawFrame(roleServer, 0x88, []byte{0x03, 0xE8}))
	c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.run()
	c.check(t, "close")
	if c.err != nil {
		t.Fatalf("close %v, want nil: both close frames crossed", c.err)
	}
}

// TestPeerSendsAfterClose: data after the peer's close frame is discarded by the teardown, which
// still ends when the peer does (Beast's #2999).
func TestPeerSendsAfterClose(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	p.sEnd.Append(append(rawFrame(roleClient, 0x88, []byte{0x03, 0xE8}), rawFrame(roleClient, 0x81, []byte("late"))...))
	p.cEnd.Shutdown(net.ShutdownWrite)
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	p.run()
	if !errors.Is(r.r.Err, ErrClosed) || p.server.Reason().Code != CloseNormal {
		t.Fatalf("read %v, reason %+v", r.r.Err, p.server.Reason())
	}
}

// TestCloseBoundHandler: the close's handler runs on the strand it is bound to (which a test can
// tell only where goroutine identity is known).
func TestCloseBoundHandler(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	strand := executor.NewStrand(p.ioc.Executor())
	onStrand := false
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	c := startOp(func(h completion.Handler[error]) {
		p.client.AsyncClose(CloseReason{Code: CloseNormal}, completion.Bind(strand, completion.Callback(func(err error) {
			onStrand = strand.RunningInThisThread()
			h.Complete(err)
		})))
	})
	p.run()
	c.check(t, "close")
	if c.err != nil || !errors.Is(r.r.Err, ErrClosed) || (gid.Known && !onStrand) {
		t.Fatalf("close %v on strand %v, read %v", c.err, onStrand, r.r.Err)
	}
}

// TestCloseFailEveryStep fails the Nth operation of the next layers, for every N a close needs:
// each operation's handler runs exactly once, with nil or an error, and nothing is left pending.
func TestCloseFailEveryStep(t *testing.T) {
	count := func(fc *nettest.FailCount) (*wsPair, *opResult, *result) {
		p := newPair(t, nettest.Options{Fail: fc, ReadSize: 3}, nettest.Options{Fail: fc, ReadSize: 3}, shortClose)
		r := readLoop(p.server)
		start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite([]byte("last words"), h) })
		c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
		p.run()
		return p, c, r
	}
	fc := nettest.NewFailCount(0, nil)
	_, c, r := count(fc)
	if c.err != nil || r.r.Err == nil {
		t.Fatalf("with no failure: close %v, read %v", c.err, r.r.Err)
	}
	total := fc.Count()
	for n := 1; n <= total; n++ {
		fc := nettest.NewFailCount(n, nettest.ErrInjected)
		p, c, r := count(fc)
		c.check(t, "close")
		if r.r.Err == nil {
			t.Fatalf("fail at %d: the read succeeded", n)
		}
		if p.client.IsOpen() {
			t.Fatalf("fail at %d: the client is still open", n)
		}
	}
}

// readLoop reads messages on s until a read fails, and returns where that read's result lands.
func readLoop(s *Stream) *result {
	res := &result{}
	var next func()
	next = func() {
		s.AsyncRead(net.NewFlatBuffer(0), completion.Callback(func(r net.IOResult) {
			if r.Err == nil {
				next()
				return
			}
			res.done, res.r = true, r
		}))
	}
	next()
	return res
}

// TestCloseContextEveryStep cancels the close's context as its Nth operation on the next layer
// starts, for every N: the handler runs once with the cancellation (or nil when the handshake was
// already complete), and the next layer is closed.
func TestCloseContextEveryStep(t *testing.T) {
	run := func(n int) (*wsPair, *opResult, *cancelAtStream) {
		ioc := executor.NewIOContext()
		a, b := nettest.NewPair(ioc, nettest.Options{ReadSize: 2}, nettest.Options{ReadSize: 2})
		t.Cleanup(func() { a.Close(); b.Close() })
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		wrapped := &cancelAtStream{Stream: a, at: n, cancel: cancel}
		p := &wsPair{ioc: ioc, client: NewStream(wrapped, nil), server: NewStream(b, nil), cEnd: a, sEnd: b}
		p.client.setRole(roleClient)
		p.server.setRole(roleServer)
		start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
		c := startOp(func(h completion.Handler[error]) {
			p.client.AsyncClose(CloseReason{Code: CloseNormal}, completion.WithContext(ctx, h))
		})
		p.run()
		return p, c, wrapped
	}
	_, c, w := run(0)
	if c.err != nil {
		t.Fatalf("uncancelled close: %v", c.err)
	}
	total := w.ops
	for n := 1; n <= total; n++ {
		p, c, _ := run(n)
		c.check(t, "close")
		if c.err != nil && !errors.Is(c.err, context.Canceled) {
			t.Fatalf("cancel at %d: close %v, want nil or the cancellation", n, c.err)
		}
		w := start(t, func(h completion.Handler[net.IOResult]) { p.cEnd.AsyncWriteSome([]byte("x"), h) })
		p.run()
		if w.r.Err == nil {
			t.Fatalf("cancel at %d: the next layer is still open", n)
		}
	}
}

// cancelAtStream is a nettest end that calls cancel as its at-th operation starts.
type cancelAtStream struct {
	*nettest.Stream
	at     int
	ops    int
	cancel func()
}

func (s *cancelAtStream) tick() {
	s.ops++
	if s.ops == s.at {
		s.cancel()
	}
}

func (s *cancelAtStream) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	s.tick()
	s.Stream.AsyncReadSome(b, h)
}

func (s *cancelAtStream) AsyncWriteSome(b []byte, h completion.Handler[net.IOResult]) {
	s.tick()
	s.Stream.AsyncWriteSome(b, h)
}

func (s *cancelAtStream) AsyncWriteSomeBuffers(b [][]byte, h completion.Handler[net.IOResult]) {
	s.tick()
	s.Stream.AsyncWriteSomeBuffers(b, h)
}

// TestCloseBehindStuckWrite: a close started behind a write that a peer reading nothing has
// stuck is bounded by the close timeout all the same, over real TCP.
func TestCloseBehindStuckWrite(t *testing.T) {
	cc, _ := tcpConns(t) // the server end is the peer: it never reads
	ioc := executor.NewIOContext()
	cs := net.FromConn(cc, ioc)
	defer cs.Close()
	client := NewStream(cs, shortClose)
	client.setRole(roleClient)
	w := start(t, func(h completion.Handler[net.IOResult]) { client.AsyncWrite(make([]byte, 64<<20), h) })
	c := startOp(func(h completion.Handler[error]) { client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	ioc.Run()
	c.check(t, "close")
	if !errors.Is(c.err, ErrTimeout) || w.r.Err == nil {
		t.Fatalf("close %v, write %+v; want both ended by the timeout", c.err, w.r)
	}
}

// TestClientWaitsForServerFIN: once the close frames have crossed, a client reads to the server's
// end of stream before it ends its own side, so that the server closes TCP first (RFC 6455
// section 7.1.1); a server ends its side at once.
func TestClientWaitsForServerFIN(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	p.cEnd.Append(rawFrame(roleServer, 0x88, []byte{0x03, 0xE8})) // the server's echo, raw
	c := startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	p.ioc.RunFor(20 * time.Millisecond)
	p.ioc.Restart()
	if c.done != 0 {
		t.Fatalf("the close ended (%v) before the server ended its side", c.err)
	}
	frame := start(t, func(h completion.Handler[net.IOResult]) { p.sEnd.AsyncReadSome(make([]byte, 64), h) })
	p.ioc.Poll()
	p.ioc.Restart()
	if !frame.done || frame.r.N != 8 {
		t.Fatalf("the server read %+v, want the client's 8-byte close frame", frame.r)
	}
	eof := start(t, func(h completion.Handler[net.IOResult]) { p.sEnd.AsyncReadSome(make([]byte, 8), h) })
	p.ioc.RunFor(20 * time.Millisecond)
	p.ioc.Restart()
	if eof.done {
		t.Fatalf("the client ended its side first: the server read %+v", eof.r)
	}
	p.sEnd.Shutdown(net.ShutdownWrite) // the server's FIN
	p.run()
	c.check(t, "close")
	if c.err != nil || !eof.done || !errors.Is(eof.r.Err, io.EOF) {
		t.Fatalf("close %v; the server then read %+v, want io.EOF", c.err, eof.r)
	}
}

// TestPeerCloseBehindStuckWrite: the peer's close frame arrives while a write it no longer reads
// is stuck; the read's reply waits behind it, bounded by the close timeout all the same.
func TestPeerCloseBehindStuckWrite(t *testing.T) {
	cc, sc := tcpConns(t) // cc is the peer: it sends its close frame, then never reads
	if _, err := cc.Write(rawFrame(roleClient, 0x88, []byte{0x03, 0xE8})); err != nil {
		t.Fatal(err)
	}
	ioc := executor.NewIOContext()
	ss := net.FromConn(sc, ioc)
	defer ss.Close()
	server := NewStream(ss, shortClose)
	server.setRole(roleServer)
	w := start(t, func(h completion.Handler[net.IOResult]) { server.AsyncWrite(make([]byte, 64<<20), h) })
	r := start(t, func(h completion.Handler[net.IOResult]) { server.AsyncRead(net.NewFlatBuffer(0), h) })
	ioc.Run()
	if !r.done || !w.done || r.r.Err == nil || w.r.Err == nil {
		t.Fatalf("read %+v, write %+v: both must end", r.r, w.r)
	}
}
