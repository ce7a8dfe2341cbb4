package websocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// hookedPair is an open client and server whose ends are counting streams, so that a test can act
// as the nth next-layer operation of a stream starts.
type hookedPair struct {
	*bbPair
	cHook, sHook *countingStream
}

// openHookedPair opens a client and a server over counting ends; the counts start at zero once the
// opening handshake is over.
func openHookedPair(t *testing.T, copt, sopt nettest.Options, cws, sws *websocket.Options) *hookedPair {
	t.Helper()
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, copt, sopt)
	t.Cleanup(func() { a.Close(); b.Close() })
	ca, cb := &countingStream{Stream: a}, &countingStream{Stream: b}
	p := &hookedPair{bbPair: &bbPair{ioc: ioc, cEnd: a, sEnd: b, client: websocket.NewStream(ca, cws), server: websocket.NewStream(cb, sws)},
		cHook: ca, sHook: cb}
	acc := startErr(ioc, func(h completion.Handler[error]) { p.server.AsyncAccept(nil, h) })
	hs := startErr(ioc, func(h completion.Handler[error]) { p.client.AsyncHandshake("example.com", "/", nil, h) })
	p.runUntil(func() bool { return acc.done() && hs.done() })
	if acc.err() != nil || hs.err() != nil {
		t.Fatalf("opening handshake: accept %v, handshake %v", acc.err(), hs.err())
	}
	ca.n, cb.n = 0, 0
	return p
}

// hook returns the counting end of a role.
func (p *hookedPair) hook(r websocket.Role) *countingStream {
	if r == websocket.RoleClient {
		return p.cHook
	}
	return p.sHook
}

// dataPayload joins the payloads of the data frames among fs.
func dataPayload(fs []wireFrame) []byte {
	var b []byte
	for _, f := range fs {
		if !f.op.IsControl() {
			b = append(b, f.payload...)
		}
	}
	return b
}

// TestBBControlBetweenFrames writes a message that AutoFragment cuts into frames, a few bytes per
// next-layer write, and starts a ping, a pong or a close as each of the message's next-layer
// writes starts. Every frame on the wire is whole; a ping or pong goes out once, between two
// frames, before the message's last frame when it was started with two frames or more still to
// go; the message arrives whole. A close frame also goes out between two frames, and nothing but
// it after: the write fails with ErrClosed, N counting the payload bytes of the frames before it,
// and the close succeeds once the raw peer answers.
func TestBBControlBetweenFrames(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 6) // 6 frames of 10 bytes
	wo := &websocket.Options{AutoFragment: true, WriteBufferBytes: 10}
	const frames = 6
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			for _, kind := range []string{"ping", "pong", "close"} {
				// Count the next-layer writes the message takes.
				o := nettest.Options{Mode: mode, WriteSize: 4}
				p := openHookedPair(t, o, o, wo, wo)
				s, _, _ := p.ends(role)
				w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
				p.run()
				total := p.hook(role).n
				if w.err() != nil || total < frames {
					t.Fatalf("write: %v after %d next-layer writes", w.err(), total)
				}
				for n := 1; n <= total; n++ {
					name := fmt.Sprintf("%s/mode%d/%s at write %d of %d", roleName(role), mode, kind, n, total)
					p := openHookedPair(t, o, o, wo, wo)
					s, own, peer := p.ends(role)
					var ctl *rec[error]
					framesBefore := -1
					p.hook(role).before = func(i int) {
						if i != n {
							return
						}
						fs, _ := parseFrames(peer.Unread())
						framesBefore = len(fs)
						p.ioc.Post(func() {
							ctl = startErr(p.ioc, func(h completion.Handler[error]) {
								switch kind {
								case "ping":
									s.AsyncPing([]byte("ping"), h)
								case "pong":
									s.AsyncPong([]byte("pong"), h)
								default:
									s.AsyncClose(websocket.CloseReason{Code: 1000}, h)
								}
							})
						})
					}
					w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
					if kind == "close" {
						p.runUntil(func() bool { return hasClose(peer) && w.done() })
						answerClose(own, role, closePayload(1000, ""))
					}
					p.run()
					w.check(t, name+" write")
					ctl.check(t, name)
					if ctl.err() != nil {
						t.Fatalf("%s: %v", name, ctl.err())
					}
					fs := sentFrames(t, peer)
					var at, controls, lastData int
					for i, f := range fs {
						if f.op.IsControl() {
							at, controls = i, controls+1
						} else {
							lastData = i
						}
					}
					if controls != 1 {
						t.Fatalf("%s: sent %v, want one control frame", name, fs)
					}
					if kind != "close" {
						if w.err() != nil || w.n() != len(msg) || !bytes.Equal(dataPayload(fs), msg) {
							t.Fatalf("%s: write %d %v, message on the wire %q", name, w.n(), w.err(), dataPayload(fs))
						}
						if framesBefore <= frames-2 && at > lastData {
							t.Fatalf("%s: started with %d of %d frames out, the control frame went after the message: %v", name, framesBefore, frames, fs)
						}
						continue
					}
					if at != len(fs)-1 {
						t.Fatalf("%s: frames after the close frame: %v", name, fs)
					}
					before := dataPayload(fs[:at])
					if !bytes.Equal(before, msg[:len(before)]) {
						t.Fatalf("%s: the message's bytes before the close are wrong", name)
					}
					if len(before) == len(msg) {
						if w.err() != nil {
							t.Fatalf("%s: the whole message went out before the close, yet the write failed: %v", name, w.err())
						}
						continue
					}
					if !errors.Is(w.err(), websocket.ErrClosed) || w.n() != len(before) {
						t.Fatalf("%s: write %d, %v; want ErrClosed after the %d bytes sent", name, w.n(), w.err(), len(before))
					}
				}
			}
		}
	}
}

// TestBBWriteSome writes a message in parts with AsyncWriteSome: the first part sends a frame of
// the message's kind and the later ones continuation frames, the last with fin, and SetBinary in
// the middle of a text message does not change its kind. The peer reads the message whole.
func TestBBWriteSome(t *testing.T) {
	for _, role := range roles {
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		s, _, peer := p.ends(role)
		var got []*rec[net.IOResult]
		for i, part := range []string{"ab", "cd", "ef"} {
			got = append(got, startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWriteSome(i == 2, []byte(part), h) }))
			p.run()
			if i == 0 {
				s.SetBinary()
			}
		}
		for _, r := range got {
			r.check(t, "write some")
			if r.err() != nil || r.n() != 2 {
				t.Fatalf("%s: write some %d %v", roleName(role), r.n(), r.err())
			}
		}
		fs := sentFrames(t, peer)
		want := []struct {
			fin bool
			op  websocket.Opcode
		}{{false, websocket.OpText}, {false, websocket.OpContinuation}, {true, websocket.OpContinuation}}
		if len(fs) != 3 {
			t.Fatalf("%s: sent %v", roleName(role), fs)
		}
		for i, f := range fs {
			if f.fin != want[i].fin || f.op != want[i].op || f.masked != (role == websocket.RoleClient) {
				t.Fatalf("%s: frame %d is %v, want fin %v op %d", roleName(role), i, f, want[i].fin, want[i].op)
			}
		}
		var buf net.FlatBuffer
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.other(role).AsyncRead(&buf, h) })
		p.run()
		if rd.err() != nil || string(buf.Bytes()) != "abcdef" || !p.other(role).GotText() {
			t.Fatalf("%s: peer read %v %q text %v", roleName(role), rd.err(), buf.Bytes(), p.other(role).GotText())
		}
		// The next message is binary, as SetBinary chose.
		w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte{1}, h) })
		p.run()
		if fs := sentFrames(t, peer); w.err() != nil || len(fs) != 1 || fs[0].op != websocket.OpBinary {
			t.Fatalf("%s: after SetBinary: %v %v", roleName(role), w.err(), fs)
		}
	}
}

// TestBBWriteInProgress starts a second write, and a second ping, while the first is in flight:
// the second fails with ErrOperationInProgress and the first goes out whole. A client's write
// leaves the caller's bytes as they were (it masks a copy), and a ping's payload is copied when
// the ping starts.
func TestBBWriteInProgress(t *testing.T) {
	for _, role := range roles {
		o := nettest.Options{WriteSize: 3}
		p := openBBPair(t, o, o, nil, nil)
		s, _, peer := p.ends(role)
		first := []byte("first message")
		w1 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(first, h) })
		w2 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("second"), h) })
		pingPayload := []byte("ping one")
		p1 := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPing(pingPayload, h) })
		copy(pingPayload, "XXXXXXXX")
		p2 := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPing([]byte("ping two"), h) })
		p.run()
		for _, r := range []*rec[net.IOResult]{w1, w2} {
			r.check(t, "write")
		}
		p1.check(t, "ping")
		p2.check(t, "ping")
		if w1.err() != nil || !errors.Is(w2.err(), websocket.ErrOperationInProgress) || p1.err() != nil || !errors.Is(p2.err(), websocket.ErrOperationInProgress) {
			t.Fatalf("%s: writes %v, %v; pings %v, %v", roleName(role), w1.err(), w2.err(), p1.err(), p2.err())
		}
		if string(first) != "first message" {
			t.Fatalf("%s: the write changed the caller's bytes: %q", roleName(role), first)
		}
		fs := sentFrames(t, peer)
		if len(fs) != 2 || string(fs[0].payload) != "first message" || fs[1].op != websocket.OpPing || string(fs[1].payload) != "ping one" {
			t.Fatalf("%s: sent %v", roleName(role), fs)
		}
	}
}

// TestBBPingPong: a ping reaches the peer's read, which reports it to its control callback and
// answers with a pong that our read reports; an unsolicited pong reaches the peer's callback and
// is not answered. A ping or pong of 125 bytes is sent; of 126, refused with ErrControlTooBig and
// nothing is sent.
func TestBBPingPong(t *testing.T) {
	for _, role := range roles {
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		s, _, peer := p.ends(role)
		other := p.other(role)
		var ours, theirs []string
		s.SetControlCallback(func(k websocket.FrameType, b []byte) { ours = append(ours, k.String()+":"+string(b)) })
		other.SetControlCallback(func(k websocket.FrameType, b []byte) { theirs = append(theirs, k.String()+":"+string(b)) })
		var ob, tb net.FlatBuffer
		ourRead := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&ob, h) })
		theirRead := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { other.AsyncRead(&tb, h) })
		pi := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPing([]byte("hello?"), h) })
		p.runUntil(func() bool { return pi.done() && len(ours) == 1 })
		po := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPong([]byte("beat"), h) })
		p.runUntil(func() bool { return po.done() && len(theirs) == 2 })
		pi.check(t, "ping")
		po.check(t, "pong")
		if pi.err() != nil || po.err() != nil {
			t.Fatalf("%s: ping %v, pong %v", roleName(role), pi.err(), po.err())
		}
		ping, pong := websocket.FramePing.String(), websocket.FramePong.String()
		if fmt.Sprint(theirs) != fmt.Sprint([]string{ping + ":hello?", pong + ":beat"}) || fmt.Sprint(ours) != fmt.Sprint([]string{pong + ":hello?"}) {
			t.Fatalf("%s: peer's callback %v, ours %v", roleName(role), theirs, ours)
		}
		if ourRead.done() || theirRead.done() {
			t.Fatalf("%s: a control frame completed a read", roleName(role))
		}
		for _, n := range []int{125, 126} {
			before := len(peer.Unread())
			if n == 126 {
				pi = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPing(make([]byte, n), h) })
				po = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPong(make([]byte, n), h) })
				p.runUntil(func() bool { return pi.done() && po.done() })
				if !errors.Is(pi.err(), websocket.ErrControlTooBig) || !errors.Is(po.err(), websocket.ErrControlTooBig) || len(peer.Unread()) != before {
					t.Fatalf("%s: 126 bytes: ping %v, pong %v, sent %d bytes", roleName(role), pi.err(), po.err(), len(peer.Unread())-before)
				}
				continue
			}
			pi = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPing(make([]byte, n), h) })
			p.runUntil(func() bool { return pi.done() })
			po = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncPong(make([]byte, n), h) })
			p.runUntil(func() bool { return po.done() && len(theirs) == 4 })
			if pi.err() != nil || po.err() != nil {
				t.Fatalf("%s: 125 bytes: ping %v, pong %v", roleName(role), pi.err(), po.err())
			}
		}
	}
}

// TestBBNestedOperations starts operations from inside other operations' handlers: each read's
// handler starts the next read, each write's handler the next write, and the last write's handler
// the close, whose handler starts one more close. Every handler runs once, never inside the call
// that started it, and the last close fails with ErrClosed.
func TestBBNestedOperations(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		o := nettest.Options{Mode: mode}
		p := openBBPair(t, o, o, nil, nil)
		const n = 20
		var reads, writes []*rec[net.IOResult]
		var got []string
		var closeRec, again *rec[error]
		var readNext func()
		readNext = func() {
			var buf net.FlatBuffer
			var r *rec[net.IOResult]
			r = startIO(p.ioc, func(h completion.Handler[net.IOResult]) {
				p.server.AsyncRead(&buf, completion.Callback(func(res net.IOResult) {
					h.Complete(res)
					if res.Err == nil {
						got = append(got, string(buf.Bytes()))
						readNext()
					}
				}))
			})
			reads = append(reads, r)
		}
		var writeNext func(i int)
		writeNext = func(i int) {
			if i == n {
				closeRec = startErr(p.ioc, func(h completion.Handler[error]) {
					p.client.AsyncClose(websocket.CloseReason{Code: 1000}, completion.Callback(func(err error) {
						h.Complete(err)
						again = startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncClose(websocket.CloseReason{}, h) })
					}))
				})
				return
			}
			writes = append(writes, startIO(p.ioc, func(h completion.Handler[net.IOResult]) {
				p.client.AsyncWrite(fmt.Appendf(nil, "m%d", i), completion.Callback(func(res net.IOResult) {
					h.Complete(res)
					writeNext(i + 1)
				}))
			}))
		}
		readNext()
		writeNext(0)
		p.run()
		for _, r := range append(reads, writes...) {
			r.check(t, "nested")
		}
		closeRec.check(t, "close")
		again.check(t, "second close")
		if len(got) != n || got[n-1] != fmt.Sprintf("m%d", n-1) || closeRec.err() != nil || !errors.Is(again.err(), websocket.ErrClosed) {
			t.Fatalf("mode%d: read %d messages, close %v, second close %v", mode, len(got), closeRec.err(), again.err())
		}
		if last := reads[len(reads)-1]; !errors.Is(last.err(), websocket.ErrClosed) {
			t.Fatalf("mode%d: last read %v, want ErrClosed", mode, last.err())
		}
	}
}

// TestBBPongBetweenFrames: a ping arriving while a message AutoFragment cut into frames is being
// written is answered with a pong between two frames, never inside one; the message arrives whole.
func TestBBPongBetweenFrames(t *testing.T) {
	msg := bytes.Repeat([]byte("z"), 100)
	wo := &websocket.Options{AutoFragment: true, WriteBufferBytes: 10}
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			for n := 1; n <= 40; n++ {
				name := fmt.Sprintf("%s/mode%d/ping at write %d", roleName(role), mode, n)
				o := nettest.Options{Mode: mode, WriteSize: 3}
				p := openHookedPair(t, o, o, wo, wo)
				s, own, peer := p.ends(role)
				rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
				p.hook(role).n = 0 // count from the write's start, whether or not the read has begun its own
				p.hook(role).before = func(i int) {
					if i == n {
						own.Append(rawFrame(true, websocket.OpPing, role == websocket.RoleServer, []byte("pp")))
					}
				}
				w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
				p.runUntil(func() bool {
					fs, _ := parseFrames(peer.Unread())
					return w.done() && len(fs) == 11
				})
				fs := sentFrames(t, peer)
				if w.err() != nil || !bytes.Equal(dataPayload(fs), msg) || len(fs) != 11 || rd.done() {
					t.Fatalf("%s: write %v, frames %v, read done %v", name, w.err(), fs, rd.done())
				}
				pongs := 0
				for _, f := range fs {
					if f.op == websocket.OpPong && string(f.payload) == "pp" {
						pongs++
					}
				}
				if pongs != 1 {
					t.Fatalf("%s: frames %v, want one pong", name, fs)
				}
			}
		}
	}
}
