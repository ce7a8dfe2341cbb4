package websocket_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// hasClose reports whether a close frame is among the frames waiting on end.
func hasClose(end *nettest.Stream) bool {
	fs, _ := parseFrames(end.Unread())
	return closeCodeOf(fs) != 0
}

// answerClose makes the raw peer behind end answer a close frame and end its side: the frame
// lands in own's input, followed by the end of stream.
func answerClose(own *nettest.Stream, role websocket.Role, payload []byte) {
	own.Append(rawFrame(true, websocket.OpClose, role == websocket.RoleServer, payload))
	own.Remote().Shutdown(net.ShutdownWrite)
}

// TestBBCloseFrame closes with each kind of reason against a raw peer that answers: the close frame
// carries an empty payload for CloseNone and the code and reason otherwise, masked by a client, and
// nothing follows it; the close completes with nil once the peer's answer arrived, Reason holds
// the answer, and the stream's next layer is closed.
func TestBBCloseFrame(t *testing.T) {
	reasons := []websocket.CloseReason{{}, {Code: websocket.CloseNormal}, {Code: websocket.CloseGoingAway, Reason: "restart"},
		{Code: 4999, Reason: string(make([]byte, 123))}}
	for _, role := range roles {
		for _, reason := range reasons {
			name := fmt.Sprintf("%s/%d", roleName(role), reason.Code)
			p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
			s, own, peer := p.ends(role)
			cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(reason, h) })
			p.runUntil(func() bool { return hasClose(peer) })
			fs := sentFrames(t, peer)
			if len(fs) != 1 || fs[0].op != websocket.OpClose || !fs[0].fin || fs[0].masked != (role == websocket.RoleClient) {
				t.Fatalf("%s: sent %v, want one close frame", name, fs)
			}
			want := []byte(nil)
			if reason.Code != websocket.CloseNone {
				want = closePayload(uint16(reason.Code), reason.Reason)
			}
			if string(fs[0].payload) != string(want) {
				t.Fatalf("%s: close payload % x, want % x", name, fs[0].payload, want)
			}
			if cl.done() {
				t.Fatalf("%s: close completed before the peer answered", name)
			}
			answerClose(own, role, closePayload(1000, "ok"))
			p.run()
			cl.check(t, name)
			if cl.err() != nil {
				t.Fatalf("%s: close %v", name, cl.err())
			}
			if s.Reason() != (websocket.CloseReason{Code: 1000, Reason: "ok"}) {
				t.Fatalf("%s: Reason %+v", name, s.Reason())
			}
			if s.IsOpen() {
				t.Fatalf("%s: open after close", name)
			}
			if len(sentFrames(t, peer)) != 1 {
				t.Fatalf("%s: sent more than the close frame", name)
			}
			if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
				t.Fatalf("%s: next layer still open after close (Close: %v)", name, err)
			}
		}
	}
}

// TestBBCloseBadReason refuses each reason that cannot be sent, with ErrBadCloseReason (which is
// not a protocol violation), before anything is written: the stream stays open and works.
func TestBBCloseBadReason(t *testing.T) {
	bad := []websocket.CloseReason{{Code: websocket.CloseNoStatus}, {Code: websocket.CloseAbnormal}, {Code: websocket.CloseTLSHandshake},
		{Code: 1004}, {Code: 999}, {Code: 2000}, {Code: 5000}, {Reason: "no code"}, {Code: 1000, Reason: string(make([]byte, 124))},
		{Code: 1000, Reason: "bad \xff"}}
	for _, reason := range bad {
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		cl := startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncClose(reason, h) })
		p.run()
		cl.check(t, "close")
		if !errors.Is(cl.err(), websocket.ErrBadCloseReason) || errors.Is(cl.err(), websocket.ErrProtocol) {
			t.Fatalf("%+v: close %v, want ErrBadCloseReason and not ErrProtocol", reason, cl.err())
		}
		if !p.client.IsOpen() || len(p.sEnd.Unread()) != 0 {
			t.Fatalf("%+v: open %v, sent % x", reason, p.client.IsOpen(), p.sEnd.Unread())
		}
		var buf net.FlatBuffer
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
		w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite([]byte("still here"), h) })
		p.run()
		if w.err() != nil || rd.err() != nil || string(buf.Bytes()) != "still here" {
			t.Fatalf("%+v: after the refusal: write %v, read %v %q", reason, w.err(), rd.err(), buf.Bytes())
		}
	}
	for _, code := range []websocket.CloseCode{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999} {
		if !code.Valid() {
			t.Fatalf("code %d not Valid", code)
		}
	}
	for _, code := range []websocket.CloseCode{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000} {
		if code.Valid() {
			t.Fatalf("code %d Valid", code)
		}
	}
}

// TestBBCloseTimeout closes against a peer that never answers, and against one that answers but
// never ends its side: the close is bounded by Options.CloseTimeout, or by Timeout.Handshake when
// that is set (here with a CloseTimeout of an hour, which must not be the one that applies). A
// silent peer's close fails with ErrTimeout; either way the handler runs once and the next layer
// is closed.
func TestBBCloseTimeout(t *testing.T) {
	short := 20 * time.Millisecond
	opts := []*websocket.Options{{CloseTimeout: short}, {CloseTimeout: time.Hour, Timeout: websocket.Timeout{Handshake: short}}}
	for _, o := range opts {
		for _, role := range roles {
			for _, answers := range []bool{false, true} {
				name := fmt.Sprintf("%s/closeTimeout %v/handshake %v/answers %v", roleName(role), o.CloseTimeout, o.Timeout.Handshake, answers)
				p := openBBPair(t, nettest.Options{}, nettest.Options{}, o, o)
				s, own, _ := p.ends(role)
				if answers {
					own.Append(rawFrame(true, websocket.OpClose, role == websocket.RoleServer, closePayload(1000, "")))
				}
				cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
				p.ioc.RunFor(10 * time.Second) // a bound for a close that never ends, far above the timeout
				p.ioc.Restart()
				if !cl.done() {
					t.Fatalf("%s: the close did not end", name)
				}
				cl.check(t, name)
				if !answers && !errors.Is(cl.err(), websocket.ErrTimeout) {
					t.Fatalf("%s: close %v, want ErrTimeout", name, cl.err())
				}
				if answers && cl.err() != nil && !errors.Is(cl.err(), websocket.ErrTimeout) {
					t.Fatalf("%s: close %v, want nil or ErrTimeout", name, cl.err())
				}
				if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
					t.Fatalf("%s: next layer still open (Close: %v)", name, err)
				}
				if s.IsOpen() {
					t.Fatalf("%s: open after a failed close", name)
				}
			}
		}
	}
}

// TestBBCloseWithPendingRead closes a stream whose read is pending while the peer sends a message,
// a ping and a pong before its close frame: the read fails with ErrClosed without delivering the
// message, no pong is sent, the control callback sees nothing, and the close succeeds.
func TestBBCloseWithPendingRead(t *testing.T) {
	for _, role := range roles {
		for _, rs := range []int{0, 1} {
			o := nettest.Options{ReadSize: rs}
			p := openBBPair(t, o, o, nil, nil)
			s, own, peer := p.ends(role)
			var seen []websocket.FrameType
			s.SetControlCallback(func(k websocket.FrameType, _ []byte) { seen = append(seen, k) })
			var buf net.FlatBuffer
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&buf, h) })
			cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
			p.runUntil(func() bool { return hasClose(peer) })
			m := role == websocket.RoleServer
			own.Append(cat(rawFrame(true, websocket.OpText, m, []byte("discarded")), rawFrame(true, websocket.OpPing, m, []byte("p")),
				rawFrame(true, websocket.OpPong, m, nil)))
			answerClose(own, role, closePayload(1000, ""))
			p.run()
			rd.check(t, "read")
			cl.check(t, "close")
			if !errors.Is(rd.err(), websocket.ErrClosed) || cl.err() != nil {
				t.Fatalf("%s: read %v, close %v", roleName(role), rd.err(), cl.err())
			}
			if buf.Size() != 0 {
				t.Fatalf("%s: the pending read delivered %q", roleName(role), buf.Bytes())
			}
			if fs := sentFrames(t, peer); len(fs) != 1 {
				t.Fatalf("%s: sent %v, want only the close frame", roleName(role), fs)
			}
			if len(seen) != 0 {
				t.Fatalf("%s: the control callback saw %v while the close drained", roleName(role), seen)
			}
		}
	}
}

// TestBBCloseRefusals: a second AsyncClose while one is pending fails with ErrOperationInProgress
// and leaves the first to succeed; reads, writes, pings and pongs started once the close has begun
// fail with ErrClosed, nothing following the close frame on the wire; and every operation started
// after the close fails with ErrClosed.
func TestBBCloseRefusals(t *testing.T) {
	for _, role := range roles {
		for _, op := range bbOps {
			name := roleName(role) + "/" + op.name
			p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
			s, own, peer := p.ends(role)
			cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
			later := startErr(p.ioc, func(h completion.Handler[error]) { op.start(s, nil, h) })
			// A read started before the close frame left may wait for the peer's close frame.
			p.runUntil(func() bool { return hasClose(peer) })
			answerClose(own, role, closePayload(1000, ""))
			p.run()
			cl.check(t, name+" close")
			later.check(t, name)
			if cl.err() != nil {
				t.Fatalf("%s: first close %v", name, cl.err())
			}
			want := websocket.ErrClosed
			if op.name == "AsyncClose" {
				want = websocket.ErrOperationInProgress
			}
			if !errors.Is(later.err(), want) {
				t.Fatalf("%s started during the close: %v, want %v", name, later.err(), want)
			}
			if fs := sentFrames(t, peer); len(fs) != 1 || fs[0].op != websocket.OpClose {
				t.Fatalf("%s: sent %v, want only the close frame", name, fs)
			}
			again := startErr(p.ioc, func(h completion.Handler[error]) { op.start(s, nil, h) })
			p.run()
			again.check(t, name+" again")
			if !errors.Is(again.err(), websocket.ErrClosed) {
				t.Fatalf("%s after the close: %v, want ErrClosed", name, again.err())
			}
		}
	}
}

// TestBBCloseAfterFailure closes a stream whose read met a protocol violation: the close
// completes with the stream's error, and sends nothing more.
func TestBBCloseAfterFailure(t *testing.T) {
	for _, role := range roles {
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		s, own, peer := p.ends(role)
		own.Append(rawFrame(true, 0x3, role == websocket.RoleServer, nil))
		peer.Shutdown(net.ShutdownWrite)
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 4), h) })
		p.run()
		sent := len(peer.Unread())
		cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{}, h) })
		p.run()
		cl.check(t, "close")
		if !errors.Is(rd.err(), websocket.ErrBadOpcode) || !errors.Is(cl.err(), websocket.ErrBadOpcode) {
			t.Fatalf("%s: read %v, close %v; want ErrBadOpcode for both", roleName(role), rd.err(), cl.err())
		}
		if len(peer.Unread()) != sent {
			t.Fatalf("%s: the close after the failure sent bytes", roleName(role))
		}
	}
}

// TestBBCloseBothAtOnce starts AsyncClose on both streams in one handler, with and without reads
// pending, in every completion mode and with one-byte reads and writes: the close frames cross,
// both closes succeed, each side's Reason is the other's reason, and the pending reads fail with
// ErrClosed.
func TestBBCloseBothAtOnce(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		for _, size := range []int{0, 1} {
			for _, reads := range []bool{false, true} {
				name := fmt.Sprintf("mode%d/size%d/reads%v", mode, size, reads)
				o := nettest.Options{Mode: mode, ReadSize: size, WriteSize: size}
				p := openBBPair(t, o, o, nil, nil)
				var rc, rs, cc, cs *rec[error]
				p.ioc.Post(func() {
					if reads {
						rc = startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncRead(net.NewFlatBuffer(0), ioErr(nil, h)) })
						rs = startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncRead(net.NewFlatBuffer(0), ioErr(nil, h)) })
					}
					cc = startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncClose(websocket.CloseReason{Code: 4001}, h) })
					cs = startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncClose(websocket.CloseReason{Code: 4002}, h) })
				})
				p.run()
				cc.check(t, name+" client close")
				cs.check(t, name+" server close")
				if cc.err() != nil || cs.err() != nil {
					t.Fatalf("%s: closes %v, %v; want nil", name, cc.err(), cs.err())
				}
				if p.client.Reason().Code != 4002 || p.server.Reason().Code != 4001 {
					t.Fatalf("%s: Reasons %+v %+v", name, p.client.Reason(), p.server.Reason())
				}
				if reads {
					rc.check(t, name+" client read")
					rs.check(t, name+" server read")
					if !errors.Is(rc.err(), websocket.ErrClosed) || !errors.Is(rs.err(), websocket.ErrClosed) {
						t.Fatalf("%s: reads %v, %v; want ErrClosed", name, rc.err(), rs.err())
					}
				}
			}
		}
	}
}

// TestBBPeerCloseWhileOurCloseIsWritten: the peer's close frame is already waiting when a stream
// with a pending read starts its close, whose frame leaves a byte at a time: exactly one close
// frame goes out (ours, not a second echo), the close succeeds and the read fails with ErrClosed.
func TestBBPeerCloseWhileOurCloseIsWritten(t *testing.T) {
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			name := fmt.Sprintf("%s/mode%d", roleName(role), mode)
			o := nettest.Options{Mode: mode, WriteSize: 1}
			p := openBBPair(t, o, o, nil, nil)
			s, own, peer := p.ends(role)
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
			var cl *rec[error]
			p.ioc.Post(func() {
				cl = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 4000, Reason: "mine"}, h) })
				answerClose(own, role, closePayload(4001, "theirs"))
			})
			p.run()
			rd.check(t, name+" read")
			cl.check(t, name+" close")
			if cl.err() != nil || !errors.Is(rd.err(), websocket.ErrClosed) {
				t.Fatalf("%s: close %v, read %v", name, cl.err(), rd.err())
			}
			fs := sentFrames(t, peer)
			if len(fs) != 1 || fs[0].op != websocket.OpClose {
				t.Fatalf("%s: sent %v, want one close frame", name, fs)
			}
			if s.Reason() != (websocket.CloseReason{Code: 4001, Reason: "theirs"}) {
				t.Fatalf("%s: Reason %+v", name, s.Reason())
			}
		}
	}
}

// TestBBCloseTimeoutWithPendingRead: a close against a silent peer while a read is pending: both
// handlers run once, each with an error matching ErrTimeout (the first to see it with ErrTimeout
// itself, the other also matching completion.ErrOperationAborted).
func TestBBCloseTimeoutWithPendingRead(t *testing.T) {
	for _, role := range roles {
		p := openRolePair(t, role, &websocket.Options{CloseTimeout: 20 * time.Millisecond})
		s, own, _ := p.ends(role)
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
		cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
		p.runBounded(t, "close", func() bool { return rd.done() && cl.done() })
		rd.check(t, "read")
		cl.check(t, "close")
		if !errors.Is(rd.err(), websocket.ErrTimeout) || !errors.Is(cl.err(), websocket.ErrTimeout) {
			t.Fatalf("%s: read %v, close %v; want both matching ErrTimeout", roleName(role), rd.err(), cl.err())
		}
		if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
			t.Fatalf("%s: next layer open after the timeout (Close: %v)", roleName(role), err)
		}
	}
}

// TestBBCloseMeetsViolationOrEnd: while a close waits for the peer's close frame, the peer sends a
// reserved opcode (a protocol violation) or ends the connection without a close frame: the close
// fails with the violation (matching ErrProtocol) or with the next layer's failure, sends no
// second close frame, and closes the next layer.
func TestBBCloseMeetsViolationOrEnd(t *testing.T) {
	for _, role := range roles {
		for _, violation := range []bool{true, false} {
			name := fmt.Sprintf("%s/violation %v", roleName(role), violation)
			p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
			s, own, peer := p.ends(role)
			cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
			p.runUntil(func() bool { return hasClose(peer) })
			if violation {
				own.Append(rawFrame(true, 0x3, role == websocket.RoleServer, nil))
				own.Remote().Shutdown(net.ShutdownWrite)
			} else {
				own.Remote().Close()
			}
			p.run()
			cl.check(t, name)
			if violation && !errors.Is(cl.err(), websocket.ErrBadOpcode) || !violation && cl.err() == nil {
				t.Fatalf("%s: close %v", name, cl.err())
			}
			if violation && len(sentFrames(t, peer)) != 1 {
				t.Fatalf("%s: sent %v, want only the first close frame", name, sentFrames(t, peer))
			}
			if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
				t.Fatalf("%s: next layer open after the close (Close: %v)", name, err)
			}
		}
	}
}
