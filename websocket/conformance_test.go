package websocket_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// The conformance tests check a Stream against RFC 6455 case by case, each case written from the
// RFC's text: the bytes a peer sends to an open Stream (a server's, or a client's), the frames the
// Stream sends back, and the error its last read fails with. The Stream under test is an echo
// server: it reads messages with AsyncRead and writes each back as one frame of the same kind, so
// the frames sent back show what was read. Every case runs for each role it applies to, with the
// peer's bytes read whole and one byte at a time, in both of nettest's completion modes.

// confCase is one conformance case.
type confCase struct {
	sec  string // the section of RFC 6455 whose rule the case checks
	name string
	one  bool                // the case applies to one role alone, only's; otherwise to both
	only websocket.Role      //
	max  int                 // Options.ReadMessageMax (0: the default)
	in   func(m bool) []byte // the peer's bytes; m: masked, as a client must send them
	out  []confFrame         // the frames the Stream sends back, in order
	err  error               // what the read that ends the case fails with
	code websocket.CloseCode // Reason().Code once the read failed (0: not checked)
}

// confFrame is a frame the Stream under test sends: final, its payload unmasked.
type confFrame struct {
	op      websocket.Opcode
	payload string
}

func txt(s string) confFrame  { return confFrame{websocket.OpText, s} }
func bin(s string) confFrame  { return confFrame{websocket.OpBinary, s} }
func pong(s string) confFrame { return confFrame{websocket.OpPong, s} }

// closing is the close frame the Stream answers with, carrying code.
func closing(code websocket.CloseCode) confFrame {
	return confFrame{websocket.OpClose, string(closePayload(uint16(code), ""))}
}

// The peer's frames. fr is a frame as a peer of the right role sends it; bye is the peer's close
// frame with code 1000, which ends the cases where nothing goes wrong.
func fr(m, fin bool, op websocket.Opcode, p string) []byte { return rawFrame(fin, op, m, []byte(p)) }
func bye(m bool) []byte                                    { return fr(m, true, websocket.OpClose, string(closePayload(1000, ""))) }

// header is a frame header written out byte by byte: the first byte, the 7-bit length field and
// its extended length (the mask bit is added when m), the masking key when m, then payload.
func header(m bool, b0 byte, length []byte, payload []byte) []byte {
	out := []byte{b0}
	if m {
		out = append(out, length[0]|0x80)
		out = append(out, length[1:]...)
		out = append(out, maskKey[:]...)
		for i, c := range payload {
			out = append(out, c^maskKey[i%4])
		}
		return out
	}
	out = append(out, length...)
	return append(out, payload...)
}

// len16 and len64 are the length fields of the 16-bit and 64-bit forms for n.
func len16(n uint16) []byte { return binary.BigEndian.AppendUint16([]byte{126}, n) }
func len64(n uint64) []byte { return binary.BigEndian.AppendUint64([]byte{127}, n) }

// confFraming: RFC 6455 section 5.2, the base framing protocol.
func confFraming() []confCase {
	var cs []confCase
	// Every payload length form, at its edges: 7-bit up to 125, 16-bit from 126 to 65535,
	// 64-bit from 65536. Each message is read and echoed, in the form its length needs.
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536} {
		p := string(bytes.Repeat([]byte("a"), n))
		cs = append(cs,
			confCase{sec: "5.2", name: fmt.Sprintf("binary payload of %d bytes", n),
				in:  func(m bool) []byte { return cat(fr(m, true, websocket.OpBinary, p), bye(m)) },
				out: []confFrame{bin(p), closing(1000)}, err: websocket.ErrClosed, code: 1000},
			confCase{sec: "5.2", name: fmt.Sprintf("text payload of %d bytes", n),
				in:  func(m bool) []byte { return cat(fr(m, true, websocket.OpText, p), bye(m)) },
				out: []confFrame{txt(p), closing(1000)}, err: websocket.ErrClosed, code: 1000},
		)
	}
	// "the minimal number of bytes MUST be used to encode the length": a 16-bit length under
	// 126 and a 64-bit length under 65536 are not in their shortest form.
	for _, n := range []uint16{0, 1, 125} {
		cs = append(cs, confCase{sec: "5.2", name: fmt.Sprintf("16-bit length %d", n),
			in: func(m bool) []byte {
				return header(m, 0x82, len16(n), make([]byte, n))
			}, out: []confFrame{closing(1002)}, err: websocket.ErrBadSize})
	}
	for _, n := range []uint64{0, 125, 126, 65535} {
		cs = append(cs, confCase{sec: "5.2", name: fmt.Sprintf("64-bit length %d", n),
			in: func(m bool) []byte {
				return header(m, 0x82, len64(n), make([]byte, n))
			}, out: []confFrame{closing(1002)}, err: websocket.ErrBadSize})
	}
	// "the most significant bit MUST be 0".
	for _, n := range []uint64{1 << 63, 1<<63 | 1, 1<<63 | 65536, ^uint64(0)} {
		cs = append(cs, confCase{sec: "5.2", name: fmt.Sprintf("64-bit length %#x", n),
			in:  func(m bool) []byte { return header(m, 0x82, len64(n), nil) },
			out: []confFrame{closing(1002)}, err: websocket.ErrBadSize})
	}
	// The largest length the form allows is not a framing error; the limit refuses it (10.4).
	cs = append(cs, confCase{sec: "5.2", name: "64-bit length 2^63-1",
		in:  func(m bool) []byte { return header(m, 0x82, len64(1<<63-1), nil) },
		out: []confFrame{closing(1009)}, err: websocket.ErrMessageTooBig})

	// "RSV1, RSV2, RSV3: MUST be 0 unless an extension is negotiated": no extension is.
	for rsv := byte(1); rsv <= 7; rsv++ {
		cs = append(cs,
			confCase{sec: "5.2", name: fmt.Sprintf("reserved bits %03b on a text frame", rsv),
				in:  func(m bool) []byte { return rawFrameBits(true, rsv, websocket.OpText, m, []byte("a")) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadReservedBits},
			confCase{sec: "5.2", name: fmt.Sprintf("reserved bits %03b on a continuation", rsv),
				in: func(m bool) []byte {
					return cat(fr(m, false, websocket.OpText, "a"), rawFrameBits(true, rsv, websocket.OpContinuation, m, []byte("b")))
				}, out: []confFrame{closing(1002)}, err: websocket.ErrBadReservedBits},
			confCase{sec: "5.2", name: fmt.Sprintf("reserved bits %03b on a ping", rsv),
				in:  func(m bool) []byte { return rawFrameBits(true, rsv, websocket.OpPing, m, []byte("p")) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadReservedBits},
			confCase{sec: "5.2", name: fmt.Sprintf("reserved bits %03b on a close", rsv),
				in:  func(m bool) []byte { return rawFrameBits(true, rsv, websocket.OpClose, m, closePayload(1000, "")) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadReservedBits},
		)
	}
	// "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket
	// Connection_": 0x3-0x7 are reserved for data frames, 0xB-0xF for control frames.
	for _, op := range []websocket.Opcode{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cs = append(cs,
			confCase{sec: "5.2", name: fmt.Sprintf("reserved opcode %#x", uint8(op)),
				in:  func(m bool) []byte { return cat(fr(m, true, websocket.OpText, "ok"), fr(m, true, op, "x")) },
				out: []confFrame{txt("ok"), closing(1002)}, err: websocket.ErrBadOpcode},
			confCase{sec: "5.2", name: fmt.Sprintf("reserved opcode %#x, empty, not final", uint8(op)),
				in:  func(m bool) []byte { return fr(m, false, op, "") },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadOpcode},
			confCase{sec: "5.2", name: fmt.Sprintf("reserved opcode %#x inside a message", uint8(op)),
				in:  func(m bool) []byte { return cat(fr(m, false, websocket.OpText, "a"), fr(m, true, op, "")) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadOpcode},
		)
	}
	return cs
}

// confMasking: RFC 6455 sections 5.1 and 5.3, masking by role.
func confMasking() []confCase {
	var cs []confCase
	// "The server MUST close the connection upon receiving a frame that is not masked."
	for _, op := range []websocket.Opcode{websocket.OpText, websocket.OpBinary, websocket.OpPing, websocket.OpPong, websocket.OpClose} {
		p := "x"
		if op == websocket.OpClose {
			p = string(closePayload(1000, ""))
		}
		cs = append(cs,
			confCase{sec: "5.1", name: fmt.Sprintf("unmasked opcode %d to a server", op), only: websocket.RoleServer, one: true,
				in:  func(bool) []byte { return rawFrame(true, op, false, []byte(p)) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadUnmaskedFrame},
			// "A client MUST close a connection if it detects a masked frame."
			confCase{sec: "5.1", name: fmt.Sprintf("masked opcode %d to a client", op), only: websocket.RoleClient, one: true,
				in:  func(bool) []byte { return rawFrame(true, op, true, []byte(p)) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadMaskedFrame},
		)
	}
	cs = append(cs,
		confCase{sec: "5.1", name: "unmasked continuation to a server", only: websocket.RoleServer, one: true,
			in: func(bool) []byte {
				return cat(rawFrame(false, websocket.OpText, true, []byte("a")), rawFrame(true, websocket.OpContinuation, false, []byte("b")))
			}, out: []confFrame{closing(1002)}, err: websocket.ErrBadUnmaskedFrame},
		// A key of zeros masks nothing, but the frame is masked: the mask bit decides (5.3).
		confCase{sec: "5.3", name: "masking key of zeros", only: websocket.RoleServer, one: true,
			in: func(bool) []byte {
				return cat(header(false, 0x81, []byte{0x80 | 3, 0, 0, 0, 0}, []byte("abc")), bye(true))
			}, out: []confFrame{txt("abc"), closing(1000)}, err: websocket.ErrClosed, code: 1000},
	)
	return cs
}

// confFragmentation: RFC 6455 section 5.4.
func confFragmentation() []confCase {
	ok := func(name string, in func(m bool) []byte, out ...confFrame) confCase {
		return confCase{sec: "5.4", name: name, in: func(m bool) []byte { return cat(in(m), bye(m)) },
			out: append(out, closing(1000)), err: websocket.ErrClosed, code: 1000}
	}
	bad := func(name string, in func(m bool) []byte, want error, out ...confFrame) confCase {
		return confCase{sec: "5.4", name: name, in: in, out: append(out, closing(1002)), err: want}
	}
	T, B, C := websocket.OpText, websocket.OpBinary, websocket.OpContinuation
	return []confCase{
		ok("text in three fragments", func(m bool) []byte {
			return cat(fr(m, false, T, "Hel"), fr(m, false, C, "lo, "), fr(m, true, C, "world"))
		}, txt("Hello, world")),
		ok("binary in two fragments", func(m bool) []byte { return cat(fr(m, false, B, "\xff\x00"), fr(m, true, C, "\x01")) }, bin("\xff\x00\x01")),
		// "Control frames MAY be injected in the middle of a fragmented message."
		ok("ping between fragments", func(m bool) []byte {
			return cat(fr(m, false, T, "a"), fr(m, true, websocket.OpPing, "p1"), fr(m, true, C, "b"))
		}, pong("p1"), txt("ab")),
		ok("pings and a pong between fragments", func(m bool) []byte {
			return cat(fr(m, false, B, "a"), fr(m, true, websocket.OpPing, "p1"), fr(m, false, C, "b"),
				fr(m, true, websocket.OpPong, "unsolicited"), fr(m, true, websocket.OpPing, "p2"), fr(m, true, C, "c"))
		}, pong("p1"), pong("p2"), bin("abc")),
		ok("empty fragments", func(m bool) []byte {
			return cat(fr(m, false, T, ""), fr(m, false, C, ""), fr(m, false, C, "x"), fr(m, true, C, ""))
		}, txt("x")),
		ok("empty text message", func(m bool) []byte { return fr(m, true, T, "") }, txt("")),
		ok("empty binary message", func(m bool) []byte { return fr(m, true, B, "") }, bin("")),
		ok("messages one after another", func(m bool) []byte {
			return cat(fr(m, true, T, "one"), fr(m, false, B, "tw"), fr(m, true, C, "o"), fr(m, true, T, "three"))
		}, txt("one"), bin("two"), txt("three")),
		// The peer's close frame between fragments ends the connection; the message is lost.
		{sec: "5.4", name: "close between fragments",
			in:  func(m bool) []byte { return cat(fr(m, false, T, "a"), bye(m), fr(m, true, C, "b")) },
			out: []confFrame{closing(1000)}, err: websocket.ErrClosed, code: 1000},
		// A continuation continues a message; there must be one.
		bad("continuation with no message", func(m bool) []byte { return fr(m, true, C, "a") }, websocket.ErrBadContinuation),
		bad("non-final continuation with no message", func(m bool) []byte { return fr(m, false, C, "a") }, websocket.ErrBadContinuation),
		bad("continuation after a message ended", func(m bool) []byte { return cat(fr(m, true, T, "a"), fr(m, true, C, "b")) },
			websocket.ErrBadContinuation, txt("a")),
		// A message's fragments come in order, with no other message's frames among them.
		bad("text frame inside a text message", func(m bool) []byte { return cat(fr(m, false, T, "a"), fr(m, true, T, "b")) }, websocket.ErrBadDataFrame),
		bad("binary frame inside a text message", func(m bool) []byte { return cat(fr(m, false, T, "a"), fr(m, true, B, "b")) }, websocket.ErrBadDataFrame),
		bad("text frame inside a binary message", func(m bool) []byte {
			return cat(fr(m, false, B, "a"), fr(m, false, C, "b"), fr(m, false, T, "c"))
		}, websocket.ErrBadDataFrame),
	}
}

// confControl: RFC 6455 sections 5.5, 5.5.2 and 5.5.3, control frames.
func confControl() []confCase {
	p125 := string(bytes.Repeat([]byte("p"), 125))
	var cs []confCase
	// "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be
	// fragmented."
	for _, op := range []websocket.Opcode{websocket.OpPing, websocket.OpPong, websocket.OpClose} {
		cs = append(cs,
			confCase{sec: "5.5", name: fmt.Sprintf("opcode %d not final", op),
				in:  func(m bool) []byte { return fr(m, false, op, "") },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadControlFragment},
			confCase{sec: "5.5", name: fmt.Sprintf("opcode %d of 126 bytes", op),
				in:  func(m bool) []byte { return fr(m, true, op, string(closePayload(1000, p125[:124]))) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadControlSize},
			confCase{sec: "5.5", name: fmt.Sprintf("opcode %d with a 16-bit length of 5", op),
				in:  func(m bool) []byte { return header(m, 0x80|byte(op), len16(5), []byte("\x03\xe8abc")) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadControlSize},
			confCase{sec: "5.5", name: fmt.Sprintf("opcode %d with a 64-bit length of 65536", op),
				in:  func(m bool) []byte { return header(m, 0x80|byte(op), len64(65536), nil) },
				out: []confFrame{closing(1002)}, err: websocket.ErrBadControlSize},
		)
	}
	ok := func(name string, in func(m bool) []byte, out ...confFrame) confCase {
		return confCase{sec: "5.5", name: name, in: func(m bool) []byte { return cat(in(m), bye(m)) },
			out: append(out, closing(1000)), err: websocket.ErrClosed, code: 1000}
	}
	return append(cs,
		// "the endpoint MUST send a Pong frame in response ... [with] identical Application data".
		ok("empty ping", func(m bool) []byte { return fr(m, true, websocket.OpPing, "") }, pong("")),
		ok("ping of 125 bytes", func(m bool) []byte { return fr(m, true, websocket.OpPing, p125) }, pong(p125)),
		ok("binary ping payload", func(m bool) []byte { return fr(m, true, websocket.OpPing, "\x00\xff\xfe") }, pong("\x00\xff\xfe")),
		ok("pings between messages", func(m bool) []byte {
			return cat(fr(m, true, websocket.OpPing, "1"), fr(m, true, websocket.OpText, "a"), fr(m, true, websocket.OpPing, "2"),
				fr(m, true, websocket.OpPing, "3"))
		}, pong("1"), txt("a"), pong("2"), pong("3")),
		// "A response to an unsolicited Pong frame is not expected."
		ok("unsolicited pongs", func(m bool) []byte {
			return cat(fr(m, true, websocket.OpPong, ""), fr(m, true, websocket.OpPong, p125))
		}),
	)
}

// confUTF8: RFC 6455 sections 5.6 and 8.1, text messages as UTF-8 (RFC 3629).
func confUTF8() []confCase {
	T, C := websocket.OpText, websocket.OpContinuation
	valid := []string{
		"", "\x00", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
		"\xef\xbf\xbd", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "κόσμε", "h€llo 𝄞",
	}
	// Sequences no UTF-8 text contains: lone continuation bytes, overlong forms, the surrogates
	// U+D800-U+DFFF, code points above U+10FFFF, bytes that never appear.
	invalid := []string{
		"\x80", "\xbf", "\x80\xbf\x80", "\xc0\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
		"\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80",
		"\xed\xa0\x80", "\xed\xad\xbf", "\xed\xae\x80", "\xed\xb0\x80", "\xed\xbf\xbf", "\xed\xa0\x80\xed\xb0\x80",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xfe", "\xff", "\xc2a", "\xe2\x82a",
		"\xf0\x9f\x98a", "κόσμε\xf4\x90\x80\x80edited",
	}
	// Sequences cut short by the end of the message.
	truncated := []string{"\xc2", "\xe2\x82", "\xf0\x9f\x98", "a\xf4\x8f\xbf"}

	var cs []confCase
	for _, v := range valid {
		s := "ab" + v + "cd"
		cs = append(cs, confCase{sec: "8.1", name: fmt.Sprintf("valid %+q", v),
			in:  func(m bool) []byte { return cat(fr(m, true, T, s), bye(m)) },
			out: []confFrame{txt(s), closing(1000)}, err: websocket.ErrClosed, code: 1000})
	}
	// A text message's UTF-8 is checked across its frames: a character may be split by a
	// frame boundary at any of its bytes.
	whole := "κό€𝄞\U0010ffff\x00z"
	for cut := 1; cut < len(whole); cut++ {
		cs = append(cs, confCase{sec: "8.1", name: fmt.Sprintf("valid text cut at %d", cut),
			in: func(m bool) []byte {
				return cat(fr(m, false, T, whole[:cut]), fr(m, true, websocket.OpPing, ""), fr(m, true, C, whole[cut:]), bye(m))
			}, out: []confFrame{pong(""), txt(whole), closing(1000)}, err: websocket.ErrClosed, code: 1000})
	}
	cs = append(cs, confCase{sec: "8.1", name: "valid text one byte per frame",
		in: func(m bool) []byte {
			b := fr(m, false, T, whole[:1])
			for i := 1; i < len(whole); i++ {
				b = append(b, fr(m, i == len(whole)-1, C, whole[i:i+1])...)
			}
			return cat(b, bye(m))
		}, out: []confFrame{txt(whole), closing(1000)}, err: websocket.ErrClosed, code: 1000})
	// "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is
	// not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_."
	for _, v := range invalid {
		s := "ab" + v + "cd"
		for cut := 0; cut < len(s); cut++ {
			name := fmt.Sprintf("invalid %+q", v)
			in := func(m bool) []byte { return fr(m, true, T, s) }
			if cut > 0 {
				name = fmt.Sprintf("invalid %+q cut at %d", v, cut)
				in = func(m bool) []byte { return cat(fr(m, false, T, s[:cut]), fr(m, true, C, s[cut:])) }
			}
			cs = append(cs, confCase{sec: "8.1", name: name, in: in, out: []confFrame{closing(1007)}, err: websocket.ErrBadFramePayload})
		}
	}
	for _, v := range truncated {
		cs = append(cs,
			confCase{sec: "8.1", name: fmt.Sprintf("message ending in %+q", v),
				in:  func(m bool) []byte { return fr(m, true, T, v) },
				out: []confFrame{closing(1007)}, err: websocket.ErrBadFramePayload},
			confCase{sec: "8.1", name: fmt.Sprintf("message ending in %+q, then an empty frame", v),
				in:  func(m bool) []byte { return cat(fr(m, false, T, v), fr(m, true, C, "")) },
				out: []confFrame{closing(1007)}, err: websocket.ErrBadFramePayload},
		)
	}
	return append(cs,
		// The connection fails at the first byte that cannot begin valid UTF-8, before the
		// message ends: here the rest of the message never comes.
		confCase{sec: "8.1", name: "surrogate prefix in an unfinished message",
			in:  func(m bool) []byte { return fr(m, false, T, "ok\xed\xa0") },
			out: []confFrame{closing(1007)}, err: websocket.ErrBadFramePayload},
		confCase{sec: "8.1", name: "above U+10FFFF prefix in an unfinished message",
			in:  func(m bool) []byte { return fr(m, false, T, "\xf4\x90") },
			out: []confFrame{closing(1007)}, err: websocket.ErrBadFramePayload},
		confCase{sec: "8.1", name: "overlong prefix in an unfinished message",
			in:  func(m bool) []byte { return fr(m, false, T, "\xe0\x80") },
			out: []confFrame{closing(1007)}, err: websocket.ErrBadFramePayload},
		// A prefix that valid text may continue is no failure: the connection ends with the
		// peer's end of stream, and no close frame is sent.
		confCase{sec: "8.1", name: "valid prefix in an unfinished message",
			in: func(m bool) []byte { return fr(m, false, T, "ok\xf0\x9f\x98") }, err: io.EOF},
		// Binary messages are not UTF-8.
		confCase{sec: "5.6", name: "binary message of invalid UTF-8",
			in:  func(m bool) []byte { return cat(fr(m, true, websocket.OpBinary, "\xff\xed\xa0\x80\xc0"), bye(m)) },
			out: []confFrame{bin("\xff\xed\xa0\x80\xc0"), closing(1000)}, err: websocket.ErrClosed, code: 1000},
	)
}

// confClose: RFC 6455 sections 5.5.1 and 7.4, the close frame and its status codes.
//
// The valid codes are those RFC 6455 section 7.4.1 defines for use on the wire (1000-1003,
// 1007-1011), the ones registered with IANA since (1012 service restart, 1013 try again later,
// 1014 bad gateway: Beast's is_valid_close_code accepts all three), and the ranges of section
// 7.4.2 for libraries and applications (3000-4999). 1004 is reserved, 1005 and 1006 "MUST NOT be
// set as a status code in a Close control frame", 1015 (TLS handshake failure) likewise, 1016-2999
// are reserved for future revisions, 0-999 "are not used", and 7.4.2 defines nothing above 4999.
func confClose() []confCase {
	var cs []confCase
	valid := func(c uint16) bool {
		return c >= 1000 && c <= 1003 || c >= 1007 && c <= 1014 || c >= 3000 && c <= 4999
	}
	codes := []uint16{0, 1, 999, 1016, 1100, 2000, 2999, 3000, 3999, 4000, 4999, 5000, 5001, 65535}
	for c := uint16(1000); c <= 1015; c++ {
		codes = append(codes, c)
	}
	for _, c := range codes {
		if valid(c) {
			// "the endpoint typically echos the status code it received".
			cs = append(cs, confCase{sec: "7.4", name: fmt.Sprintf("close code %d", c),
				in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, string(closePayload(c, "bye"))) },
				out: []confFrame{closing(websocket.CloseCode(c))}, err: websocket.ErrClosed, code: websocket.CloseCode(c)})
			continue
		}
		cs = append(cs, confCase{sec: "7.4", name: fmt.Sprintf("close code %d", c),
			in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, string(closePayload(c, ""))) },
			out: []confFrame{closing(1002)}, err: websocket.ErrBadCloseCode})
	}
	return append(cs,
		// "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer":
		// one byte is no code.
		confCase{sec: "5.5.1", name: "close payload of one byte",
			in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, "\x03") },
			out: []confFrame{closing(1002)}, err: websocket.ErrBadCloseSize},
		// An empty close frame has no code (1005 is what the receiver reads); the answer is 1000.
		confCase{sec: "7.1.5", name: "empty close frame",
			in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, "") },
			out: []confFrame{closing(1000)}, err: websocket.ErrClosed, code: websocket.CloseNoStatus},
		confCase{sec: "5.5.1", name: "close reason of 123 bytes",
			in: func(m bool) []byte {
				return fr(m, true, websocket.OpClose, string(closePayload(1001, string(bytes.Repeat([]byte("r"), 123)))))
			}, out: []confFrame{closing(1001)}, err: websocket.ErrClosed, code: 1001},
		confCase{sec: "5.5.1", name: "close reason in UTF-8",
			in: func(m bool) []byte {
				return fr(m, true, websocket.OpClose, string(closePayload(4000, "κόσμε 𝄞")))
			},
			out: []confFrame{closing(4000)}, err: websocket.ErrClosed, code: 4000},
		// "the data ... is not guaranteed to be human readable" but "MUST be UTF-8-encoded" (5.5.1):
		// a reason that is not fails the connection like a text message's (1007).
		confCase{sec: "5.5.1", name: "close reason \\xff",
			in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, string(closePayload(1000, "ok\xff"))) },
			out: []confFrame{closing(1007)}, err: websocket.ErrBadClosePayload},
		confCase{sec: "5.5.1", name: "close reason overlong",
			in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, string(closePayload(1000, "\xc0\xaf"))) },
			out: []confFrame{closing(1007)}, err: websocket.ErrBadClosePayload},
		confCase{sec: "5.5.1", name: "close reason surrogate",
			in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, string(closePayload(1000, "\xed\xa0\x80"))) },
			out: []confFrame{closing(1007)}, err: websocket.ErrBadClosePayload},
		confCase{sec: "5.5.1", name: "close reason truncated",
			in:  func(m bool) []byte { return fr(m, true, websocket.OpClose, string(closePayload(1000, "\xe2\x82"))) },
			out: []confFrame{closing(1007)}, err: websocket.ErrBadClosePayload},
		// "The application MUST NOT send any more data frames after sending a Close frame": what
		// follows the peer's close frame is not read.
		confCase{sec: "5.5.1", name: "frames after the close frame",
			in: func(m bool) []byte {
				return cat(bye(m), fr(m, true, websocket.OpText, "late"), fr(m, true, websocket.OpPing, "late"), []byte{0xff, 0xff})
			}, out: []confFrame{closing(1000)}, err: websocket.ErrClosed, code: 1000},
	)
}

// confLimits: RFC 6455 section 10.4, limits on frame and message size. 1009 "indicates that an
// endpoint is terminating the connection because it has received a message that is too big".
func confLimits() []confCase {
	T, B, C := websocket.OpText, websocket.OpBinary, websocket.OpContinuation
	ten, eleven := "0123456789", "0123456789a"
	return []confCase{
		{sec: "10.4", name: "one frame over the limit", max: 10,
			in:  func(m bool) []byte { return fr(m, true, B, eleven) },
			out: []confFrame{closing(1009)}, err: websocket.ErrMessageTooBig},
		{sec: "10.4", name: "fragments together over the limit", max: 10,
			in:  func(m bool) []byte { return cat(fr(m, false, T, ten[:6]), fr(m, true, C, eleven[6:])) },
			out: []confFrame{closing(1009)}, err: websocket.ErrMessageTooBig},
		{sec: "10.4", name: "a message of exactly the limit", max: 10,
			in:  func(m bool) []byte { return cat(fr(m, false, T, ten[:4]), fr(m, true, C, ten[4:]), bye(m)) },
			out: []confFrame{txt(ten), closing(1000)}, err: websocket.ErrClosed, code: 1000},
		{sec: "10.4", name: "control frames do not count", max: 10,
			in: func(m bool) []byte {
				return cat(fr(m, false, B, ten[:5]), fr(m, true, websocket.OpPing, eleven), fr(m, true, C, ten[5:]), bye(m))
			}, out: []confFrame{pong(eleven), bin(ten), closing(1000)}, err: websocket.ErrClosed, code: 1000},
		{sec: "10.4", name: "the limit is per message", max: 10,
			in:  func(m bool) []byte { return cat(fr(m, true, B, ten), fr(m, true, B, ten), fr(m, true, B, eleven)) },
			out: []confFrame{bin(ten), bin(ten), closing(1009)}, err: websocket.ErrMessageTooBig},
		{sec: "10.4", name: "a frame over the default limit of 16 MiB",
			in:  func(m bool) []byte { return header(m, 0x82, len64(16<<20+1), nil) },
			out: []confFrame{closing(1009)}, err: websocket.ErrMessageTooBig},
	}
}

// TestConformance runs every conformance case.
func TestConformance(t *testing.T) {
	sections := []struct {
		name  string
		cases []confCase
	}{
		{"framing", confFraming()}, {"masking", confMasking()}, {"fragmentation", confFragmentation()},
		{"control", confControl()}, {"utf8", confUTF8()}, {"close", confClose()}, {"limits", confLimits()},
	}
	for _, sec := range sections {
		t.Run(sec.name, func(t *testing.T) {
			for _, c := range sec.cases {
				t.Run(c.sec+" "+c.name, func(t *testing.T) {
					for _, role := range roles {
						if c.one && role != c.only {
							continue
						}
						runConfCase(t, c, role)
					}
				})
			}
		})
	}
}

// runConfCase runs c against a stream of role in every way of delivering the peer's bytes.
func runConfCase(t *testing.T, c confCase, role websocket.Role) {
	t.Helper()
	in := c.in(role == websocket.RoleServer)
	readSizes := []int{0, 1}
	if len(in) > 4096 {
		readSizes = []int{0, 1021} // one byte at a time adds nothing but time here
	}
	for _, rs := range readSizes {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			name := fmt.Sprintf("%s/read%d/mode%d", roleName(role), rs, mode)
			o := nettest.Options{ReadSize: rs, Mode: mode}
			opts := &websocket.Options{ReadMessageMax: c.max}
			p := openBBPair(t, o, o, opts, opts)
			s, own, peer := p.ends(role)
			own.Append(in)
			peer.Shutdown(net.ShutdownWrite) // the peer sends nothing more: every case ends
			var err error
			done := false
			confEcho(s, func(e error) { err, done = e, true })
			p.run()
			if !done {
				t.Fatalf("%s: the read never completed", name)
			}
			if !errors.Is(err, c.err) {
				t.Fatalf("%s: the read failed with %v, want %v", name, err, c.err)
			}
			if want, ok := errors.AsType[*websocket.ProtocolError](c.err); ok {
				if got, ok := errors.AsType[*websocket.ProtocolError](err); !ok || got.Code() != want.Code() || !errors.Is(err, websocket.ErrProtocol) {
					t.Fatalf("%s: %v is not a violation matching ErrProtocol with code %v", name, err, want.Code())
				}
			}
			if c.code != 0 && s.Reason().Code != c.code {
				t.Fatalf("%s: Reason %+v, want code %v", name, s.Reason(), c.code)
			}
			checkSent(t, name, role, peer.Unread(), c.out)
			if s.IsOpen() {
				t.Fatalf("%s: the stream is open after its read failed", name)
			}
			if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
				t.Fatalf("%s: the stream left its next layer open", name)
			}
		}
	}
}

// confEcho reads messages on s and writes each back as one frame of its kind, until a read or write
// fails; end gets that error.
func confEcho(s *websocket.Stream, end func(error)) {
	var buf net.FlatBuffer
	s.AsyncRead(&buf, completion.Callback(func(r net.IOResult) {
		if r.Err != nil {
			end(r.Err)
			return
		}
		if r.N != buf.Size() || !s.IsMessageDone() {
			end(fmt.Errorf("read %d bytes into a buffer of %d, message done %v", r.N, buf.Size(), s.IsMessageDone()))
			return
		}
		if s.GotText() {
			s.SetText()
		} else {
			s.SetBinary()
		}
		s.AsyncWrite(buf.Bytes(), completion.Callback(func(w net.IOResult) {
			if w.Err != nil {
				end(fmt.Errorf("echo: %w", w.Err))
				return
			}
			confEcho(s, end)
		}))
	}))
}

// checkSent checks the bytes a stream of role sent against the frames it should have sent: each
// final, with no reserved bit, masked by a client and by a server not. A server's frames, which
// carry no random key, must be exactly the bytes of the shortest encoding.
func checkSent(t *testing.T, name string, role websocket.Role, sent []byte, want []confFrame) {
	t.Helper()
	fs, rest := parseFrames(sent)
	ok := len(rest) == 0 && len(fs) == len(want)
	for i := 0; ok && i < len(fs); i++ {
		f := fs[i]
		ok = f.fin && f.rsv == 0 && f.masked == (role == websocket.RoleClient) && f.op == want[i].op && string(f.payload) == want[i].payload
	}
	if !ok {
		t.Fatalf("%s: sent %v (%d bytes left over), want %v", name, confFrames(fs), len(rest), want)
	}
	if role == websocket.RoleServer {
		var exact []byte
		for _, w := range want {
			exact = append(exact, rawFrame(true, w.op, false, []byte(w.payload))...)
		}
		if !bytes.Equal(sent, exact) {
			t.Fatalf("%s: sent % x, want % x", name, sent, exact)
		}
	}
}

// confFrames turns frames read back into the form of the expected ones, for messages.
func confFrames(fs []wireFrame) []confFrame {
	out := make([]confFrame, len(fs))
	for i, f := range fs {
		out[i] = confFrame{f.op, string(f.payload)}
	}
	return out
}

func (f confFrame) String() string {
	if len(f.payload) > 16 {
		return fmt.Sprintf("{op %d, %d bytes}", f.op, len(f.payload))
	}
	return fmt.Sprintf("{op %d %+q}", f.op, f.payload)
}
