package websocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// violation is a sequence of frames a peer sends that breaks RFC 6455, given the role of the
// stream that reads them (which decides the masking a correct peer would use).
type violation struct {
	name  string
	only  []websocket.Role // nil: both
	want  error
	code  websocket.CloseCode
	bytes func(masked bool) []byte
}

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

var violations = []violation{
	{"reserved data opcode", nil, websocket.ErrBadOpcode, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, 0x3, m, []byte("x"))
	}},
	{"reserved control opcode", nil, websocket.ErrBadOpcode, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, 0xB, m, nil)
	}},
	{"data frame inside a message", nil, websocket.ErrBadDataFrame, websocket.CloseProtocolError, func(m bool) []byte {
		return cat(rawFrame(false, websocket.OpText, m, []byte("a")), rawFrame(true, websocket.OpBinary, m, []byte("b")))
	}},
	{"continuation with no message", nil, websocket.ErrBadContinuation, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpContinuation, m, []byte("a"))
	}},
	{"RSV1", nil, websocket.ErrBadReservedBits, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrameBits(true, 4, websocket.OpText, m, []byte("a"))
	}},
	{"RSV2", nil, websocket.ErrBadReservedBits, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrameBits(true, 2, websocket.OpBinary, m, []byte("a"))
	}},
	{"RSV3 on a ping", nil, websocket.ErrBadReservedBits, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrameBits(true, 1, websocket.OpPing, m, nil)
	}},
	{"fragmented ping", nil, websocket.ErrBadControlFragment, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(false, websocket.OpPing, m, []byte("a"))
	}},
	{"ping of 126 bytes", nil, websocket.ErrBadControlSize, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpPing, m, make([]byte, 126))
	}},
	{"close of 126 bytes", nil, websocket.ErrBadControlSize, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, closePayload(1000, string(bytes.Repeat([]byte("r"), 124))))
	}},
	{"unmasked frame from a client", []websocket.Role{websocket.RoleServer}, websocket.ErrBadUnmaskedFrame, websocket.CloseProtocolError, func(bool) []byte {
		return rawFrame(true, websocket.OpText, false, []byte("a"))
	}},
	{"masked frame from a server", []websocket.Role{websocket.RoleClient}, websocket.ErrBadMaskedFrame, websocket.CloseProtocolError, func(bool) []byte {
		return rawFrame(true, websocket.OpText, true, []byte("a"))
	}},
	{"16-bit length under 126", nil, websocket.ErrBadSize, websocket.CloseProtocolError, func(m bool) []byte {
		return lengthForm(m, []byte{126, 0, 10}, 10)
	}},
	{"64-bit length under 65536", nil, websocket.ErrBadSize, websocket.CloseProtocolError, func(m bool) []byte {
		return lengthForm(m, []byte{127, 0, 0, 0, 0, 0, 0, 0, 200}, 200)
	}},
	{"64-bit length with the top bit", nil, websocket.ErrBadSize, websocket.CloseProtocolError, func(m bool) []byte {
		return lengthForm(m, []byte{127, 0x80, 0, 0, 0, 0, 0, 0, 1}, 0)
	}},
	{"invalid UTF-8", nil, websocket.ErrBadFramePayload, websocket.CloseInvalidPayload, func(m bool) []byte {
		return rawFrame(true, websocket.OpText, m, []byte("ab\xffcd"))
	}},
	{"invalid UTF-8 in a continuation", nil, websocket.ErrBadFramePayload, websocket.CloseInvalidPayload, func(m bool) []byte {
		return cat(rawFrame(false, websocket.OpText, m, []byte("ok")), rawFrame(true, websocket.OpContinuation, m, []byte("\xc0\xaf")))
	}},
	{"a text message ending inside a character", nil, websocket.ErrBadFramePayload, websocket.CloseInvalidPayload, func(m bool) []byte {
		return rawFrame(true, websocket.OpText, m, []byte("ab\xe2\x82"))
	}},
	{"close code 999", nil, websocket.ErrBadCloseCode, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, closePayload(999, ""))
	}},
	{"close code 1005", nil, websocket.ErrBadCloseCode, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, closePayload(1005, ""))
	}},
	{"close code 1004", nil, websocket.ErrBadCloseCode, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, closePayload(1004, ""))
	}},
	{"close code 2999", nil, websocket.ErrBadCloseCode, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, closePayload(2999, ""))
	}},
	{"close code 5000", nil, websocket.ErrBadCloseCode, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, closePayload(5000, ""))
	}},
	{"close of one byte", nil, websocket.ErrBadCloseSize, websocket.CloseProtocolError, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, []byte{3})
	}},
	{"close reason not UTF-8", nil, websocket.ErrBadClosePayload, websocket.CloseInvalidPayload, func(m bool) []byte {
		return rawFrame(true, websocket.OpClose, m, closePayload(1000, "\xff"))
	}},
}

// lengthForm is a binary frame with the given length bytes (the 7-bit field and what follows it)
// and n bytes of payload.
func lengthForm(masked bool, length []byte, n int) []byte {
	b := []byte{0x80 | byte(websocket.OpBinary)}
	if masked {
		length = append([]byte{length[0] | 0x80}, length[1:]...)
	}
	b = append(b, length...)
	if masked {
		b = append(b, maskKey[:]...)
	}
	return append(b, make([]byte, n)...)
}

// TestBBViolations feeds each violation to a stream of each role, read byte by byte and whole, in
// both completion modes: the read fails with the violation's error, which matches ErrProtocol and
// carries the close code; the stream sends one close frame with that code (masked by a client) and
// nothing else, tears its next layer down, and is no longer open; a later read and write fail.
func TestBBViolations(t *testing.T) {
	for _, v := range violations {
		for _, role := range roles {
			if v.only != nil && v.only[0] != role {
				continue
			}
			for _, rs := range []int{0, 1} {
				for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
					name := fmt.Sprintf("%s/%s/read%d/mode%d", v.name, roleName(role), rs, mode)
					o := nettest.Options{ReadSize: rs, Mode: mode}
					p := openBBPair(t, o, o, nil, nil)
					s, own, peer := p.ends(role)
					own.Append(v.bytes(role == websocket.RoleServer))
					peer.Shutdown(net.ShutdownWrite) // the raw peer ends its side: the teardown can end
					rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
					p.run()
					rd.check(t, name)
					err := rd.err()
					var pe *websocket.ProtocolError
					if !errors.Is(err, v.want) || !errors.Is(err, websocket.ErrProtocol) || !errors.As(err, &pe) || pe.Code() != v.code {
						t.Fatalf("%s: read %v, want %v matching ErrProtocol with code %v", name, err, v.want, v.code)
					}
					fs := sentFrames(t, peer)
					if len(fs) != 1 || fs[0].op != websocket.OpClose || fs[0].closeCode() != v.code || fs[0].masked != (role == websocket.RoleClient) {
						t.Fatalf("%s: sent %v (code %v), want one close frame with code %v", name, fs, closeCodeOf(fs), v.code)
					}
					if s.IsOpen() {
						t.Fatalf("%s: stream open after a violation", name)
					}
					w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("x"), h) })
					r2 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 4), h) })
					p.run()
					w.check(t, name+" later write")
					r2.check(t, name+" later read")
					if w.err() == nil || r2.err() == nil {
						t.Fatalf("%s: after the violation: write %v, read %v", name, w.err(), r2.err())
					}
					if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
						t.Fatalf("%s: the next layer was still open after the violation", name)
					}
				}
			}
		}
	}
}

// closeCodeOf returns the code of the first close frame among fs, for messages.
func closeCodeOf(fs []wireFrame) websocket.CloseCode {
	for _, f := range fs {
		if f.op == websocket.OpClose {
			return f.closeCode()
		}
	}
	return 0
}

// TestBBMessageTooBig reads messages over Options.ReadMessageMax, in one frame and in fragments
// that only together pass it, and a message over the MaxSize of AsyncRead's buffer: the read fails
// with ErrMessageTooBig (matching ErrProtocol, code 1009), or net.ErrBufferOverflow, and close
// code 1009 is sent. A message of exactly the limit is read.
func TestBBMessageTooBig(t *testing.T) {
	cases := []struct {
		name   string
		max    int // ReadMessageMax
		bufMax int // the read buffer's MaxSize
		frames func(m bool) []byte
		want   error
	}{
		{"one frame", 10, 0, func(m bool) []byte { return rawFrame(true, websocket.OpBinary, m, make([]byte, 11)) }, websocket.ErrMessageTooBig},
		{"fragments", 10, 0, func(m bool) []byte {
			return cat(rawFrame(false, websocket.OpBinary, m, make([]byte, 6)), rawFrame(true, websocket.OpContinuation, m, make([]byte, 5)))
		}, websocket.ErrMessageTooBig},
		{"read buffer", 0, 5, func(m bool) []byte { return rawFrame(true, websocket.OpBinary, m, make([]byte, 6)) }, net.ErrBufferOverflow},
		{"read buffer, fragments", 0, 5, func(m bool) []byte {
			return cat(rawFrame(false, websocket.OpBinary, m, make([]byte, 3)), rawFrame(true, websocket.OpContinuation, m, make([]byte, 3)))
		}, net.ErrBufferOverflow},
		{"exactly the limit", 10, 0, func(m bool) []byte {
			return cat(rawFrame(false, websocket.OpBinary, m, make([]byte, 4)), rawFrame(true, websocket.OpContinuation, m, make([]byte, 6)))
		}, nil},
	}
	for _, c := range cases {
		for _, role := range roles {
			name := c.name + "/" + roleName(role)
			o := &websocket.Options{ReadMessageMax: c.max}
			p := openBBPair(t, nettest.Options{}, nettest.Options{}, o, o)
			s, own, peer := p.ends(role)
			own.Append(c.frames(role == websocket.RoleServer))
			peer.Shutdown(net.ShutdownWrite)
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(c.bufMax), h) })
			p.run()
			rd.check(t, name)
			if c.want == nil {
				if rd.err() != nil || rd.n() != 10 {
					t.Fatalf("%s: read %d, %v", name, rd.n(), rd.err())
				}
				continue
			}
			if !errors.Is(rd.err(), c.want) {
				t.Fatalf("%s: read %v, want %v", name, rd.err(), c.want)
			}
			if c.want == websocket.ErrMessageTooBig && !errors.Is(rd.err(), websocket.ErrProtocol) {
				t.Fatalf("%s: %v does not match ErrProtocol", name, rd.err())
			}
			fs := sentFrames(t, peer)
			if len(fs) != 1 || fs[0].op != websocket.OpClose || fs[0].closeCode() != websocket.CloseTooBig {
				t.Fatalf("%s: sent %v (code %v), want one close frame with code 1009", name, fs, closeCodeOf(fs))
			}
		}
	}
}

// TestBBPeerClose feeds a stream the peer's close frame, alone or followed by data the peer had no
// right to send, with a code and reason or with an empty payload: the read fails with ErrClosed,
// Reason holds what the peer sent (CloseNoStatus for an empty payload), and the stream answers
// with one close frame echoing the code and tears down. Every
// operation started afterwards fails with ErrClosed.
func TestBBPeerClose(t *testing.T) {
	cases := []struct {
		name    string
		payload []byte
		after   bool // data frames follow the close frame
		reason  websocket.CloseReason
	}{
		{"code and reason", closePayload(1001, "going"), false, websocket.CloseReason{Code: 1001, Reason: "going"}},
		{"code 4999", closePayload(4999, ""), false, websocket.CloseReason{Code: 4999}},
		{"empty", nil, false, websocket.CloseReason{Code: websocket.CloseNoStatus}},
		{"data after the close frame", closePayload(1000, "x"), true, websocket.CloseReason{Code: 1000, Reason: "x"}},
	}
	for _, c := range cases {
		for _, role := range roles {
			for _, rs := range []int{0, 1} {
				name := fmt.Sprintf("%s/%s/read%d", c.name, roleName(role), rs)
				o := nettest.Options{ReadSize: rs}
				p := openBBPair(t, o, o, nil, nil)
				s, own, peer := p.ends(role)
				m := role == websocket.RoleServer
				in := rawFrame(true, websocket.OpClose, m, c.payload)
				if c.after {
					in = cat(in, rawFrame(true, websocket.OpText, m, []byte("late")), rawFrame(true, websocket.OpPing, m, nil))
				}
				own.Append(in)
				peer.Shutdown(net.ShutdownWrite)
				rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
				p.run()
				rd.check(t, name)
				if !errors.Is(rd.err(), websocket.ErrClosed) || s.Reason() != c.reason {
					t.Fatalf("%s: read %v, Reason %+v; want ErrClosed, %+v", name, rd.err(), s.Reason(), c.reason)
				}
				fs := sentFrames(t, peer)
				if len(fs) != 1 || fs[0].op != websocket.OpClose {
					t.Fatalf("%s: sent %v, want one close frame", name, fs)
				}
				if c.payload != nil && fs[0].closeCode() != c.reason.Code {
					t.Fatalf("%s: answered code %v with %v", name, c.reason.Code, fs[0].closeCode())
				}
				if s.IsOpen() {
					t.Fatalf("%s: open after the peer's close", name)
				}
				for _, op := range bbOps {
					r := startErr(p.ioc, func(h completion.Handler[error]) { op.start(s, nil, h) })
					p.run()
					r.check(t, name+" "+op.name)
					if !errors.Is(r.err(), websocket.ErrClosed) {
						t.Fatalf("%s: %s after the peer's close: %v, want ErrClosed", name, op.name, r.err())
					}
				}
				if len(peer.Unread()) != len(rawFrame(true, websocket.OpClose, !m, fs[0].payload)) {
					t.Fatalf("%s: something was sent after the close frame", name)
				}
			}
		}
	}
}

// TestBBValidUTF8Split reads text messages whose characters are split across frames and reads,
// with pings between the fragments: they are valid and arrive whole.
func TestBBValidUTF8Split(t *testing.T) {
	text := []byte("h€llo, wörld 𝄞 ✓")
	for _, rs := range []int{0, 1, 3} {
		for cut := 1; cut < len(text); cut++ {
			o := nettest.Options{ReadSize: rs}
			p := openBBPair(t, o, o, nil, nil)
			p.sEnd.Append(cat(rawFrame(false, websocket.OpText, true, text[:cut]), rawFrame(true, websocket.OpPing, true, []byte("p")),
				rawFrame(true, websocket.OpContinuation, true, text[cut:])))
			var buf net.FlatBuffer
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
			p.run()
			rd.check(t, "read")
			if rd.err() != nil || !bytes.Equal(buf.Bytes(), text) {
				t.Fatalf("read%d cut %d: %v, %q", rs, cut, rd.err(), buf.Bytes())
			}
			fs := sentFrames(t, p.cEnd)
			if len(fs) != 1 || fs[0].op != websocket.OpPong || string(fs[0].payload) != "p" {
				t.Fatalf("read%d cut %d: sent %v, want the pong", rs, cut, fs)
			}
		}
	}
}

// TestBBControlCallback feeds a reading stream a ping, a pong and a close frame between the
// fragments of a message: the callback sees each, in order, with its payload (a close frame's
// reason), on the read's executor (the strand its handler is bound to), before the read answers
// it: the pong for the ping has not been sent when the callback sees the ping.
func TestBBControlCallback(t *testing.T) {
	for _, role := range roles {
		for _, bound := range []bool{false, true} {
			p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
			s, own, peer := p.ends(role)
			strand := executor.NewStrand(p.ioc)
			on := p.ioc.RunningInThisThread
			if bound {
				on = strand.RunningInThisThread
			}
			type call struct {
				kind    websocket.FrameType
				payload string
				sent    int // frames the stream had sent when the callback ran
				onEx    bool
			}
			var calls []call
			s.SetControlCallback(func(kind websocket.FrameType, payload []byte) {
				fs, _ := parseFrames(peer.Unread())
				calls = append(calls, call{kind, string(payload), len(fs), on()})
			})
			m := role == websocket.RoleServer
			own.Append(cat(rawFrame(false, websocket.OpText, m, []byte("a")), rawFrame(true, websocket.OpPing, m, []byte("ping!")),
				rawFrame(true, websocket.OpPong, m, []byte("pong!")), rawFrame(true, websocket.OpContinuation, m, []byte("b"))))
			var buf net.FlatBuffer
			var h completion.Handler[net.IOResult] = completion.Detached[net.IOResult]()
			if bound {
				h = completion.Bind(strand, h)
			}
			s.AsyncRead(&buf, h)
			p.run()
			if string(buf.Bytes()) != "ab" {
				t.Fatalf("%s: read %q", roleName(role), buf.Bytes())
			}
			own.Append(rawFrame(true, websocket.OpClose, m, closePayload(1000, "bye")))
			peer.Shutdown(net.ShutdownWrite)
			h = completion.Detached[net.IOResult]()
			if bound {
				h = completion.Bind(strand, h)
			}
			s.AsyncRead(&buf, h)
			p.run()
			known := gid.Known // without goroutine identity no executor can tell it is running
			want := []call{{websocket.FramePing, "ping!", 0, known}, {websocket.FramePong, "pong!", 1, known}, {websocket.FrameClose, "bye", 1, known}}
			if fmt.Sprint(calls) != fmt.Sprint(want) {
				t.Fatalf("%s bound %v: callback calls %v, want %v", roleName(role), bound, calls, want)
			}
		}
	}
}

// TestBBFrameTypeString names the frame types.
func TestBBFrameTypeString(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range []websocket.FrameType{websocket.FrameClose, websocket.FramePing, websocket.FramePong} {
		s := k.String()
		if s == "" || seen[s] {
			t.Fatalf("FrameType %d: name %q (empty or repeated)", k, s)
		}
		seen[s] = true
	}
}
