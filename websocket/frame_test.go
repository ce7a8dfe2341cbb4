package websocket

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var headerCmp = cmp.AllowUnexported(frameHeader{})

// hdr builds raw header bytes, so that tests can write headers encode never produces.
func hdr(b ...byte) []byte { return b }

func TestOpcodeIsControl(t *testing.T) {
	for op := Opcode(0); op < 16; op++ {
		if got, want := op.IsControl(), op >= 8; got != want {
			t.Errorf("Opcode(%#x).IsControl() = %v, want %v", uint8(op), got, want)
		}
	}
}

// TestHeaderRoundTrip encodes each header, checks the bytes on the wire, and parses them back,
// covering every length form at its edges.
func TestHeaderRoundTrip(t *testing.T) {
	key := [4]byte{0xDE, 0xAD, 0xBE, 0xEF}
	tests := []struct {
		name string
		h    frameHeader
		wire []byte
	}{
		{"empty text", frameHeader{fin: true, op: OpText}, hdr(0x81, 0x00)},
		{"125 binary", frameHeader{fin: true, op: OpBinary, length: 125}, hdr(0x82, 125)},
		{"126 uses 16 bits", frameHeader{op: OpBinary, length: 126}, hdr(0x02, 126, 0, 126)},
		{"65535 uses 16 bits", frameHeader{fin: true, op: OpContinuation, length: 65535}, hdr(0x80, 126, 0xFF, 0xFF)},
		{"65536 uses 64 bits", frameHeader{fin: true, op: OpText, length: 65536}, hdr(0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0)},
		{"2^63-1", frameHeader{fin: true, op: OpBinary, length: 1<<63 - 1}, hdr(0x82, 127, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)},
		{"masked empty", frameHeader{fin: true, op: OpPing, masked: true, key: key}, hdr(0x89, 0x80, 0xDE, 0xAD, 0xBE, 0xEF)},
		{"masked 125 close", frameHeader{fin: true, op: OpClose, masked: true, key: key, length: 125}, hdr(0x88, 0x80|125, 0xDE, 0xAD, 0xBE, 0xEF)},
		{"masked 126", frameHeader{fin: true, op: OpText, masked: true, key: key, length: 126}, hdr(0x81, 0x80|126, 0, 126, 0xDE, 0xAD, 0xBE, 0xEF)},
		{"masked 65535", frameHeader{op: OpText, masked: true, key: key, length: 65535}, hdr(0x01, 0x80|126, 0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF)},
		{"masked 65536", frameHeader{op: OpText, masked: true, key: key, length: 65536}, hdr(0x01, 0x80|127, 0, 0, 0, 0, 0, 1, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF)},
		{"masked 2^63-1 (largest header)", frameHeader{fin: true, op: OpBinary, masked: true, key: key, length: 1<<63 - 1},
			hdr(0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF)},
		{"compressed text", frameHeader{fin: true, rsv: rsv1, op: OpText, length: 5}, hdr(0xC1, 5)},
		{"pong", frameHeader{fin: true, op: OpPong, length: 3}, hdr(0x8A, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf [maxHeaderSize]byte
			n := tt.h.encode(buf[:])
			if !bytes.Equal(buf[:n], tt.wire) {
				t.Fatalf("encode = % x, want % x", buf[:n], tt.wire)
			}
			r := roleClient
			if tt.h.masked {
				r = roleServer
			}
			got, m, err := parseHeader(tt.wire, r, true)
			if err != nil || m != len(tt.wire) {
				t.Fatalf("parseHeader = (n %d, %v), want (n %d, nil)", m, err, len(tt.wire))
			}
			if diff := cmp.Diff(tt.h, got, headerCmp); diff != "" {
				t.Fatalf("parseHeader mismatch (-want +got):\n%s", diff)
			}
			// Bytes after the header are the payload's, not the header's.
			if _, m, _ := parseHeader(append(tt.wire, 0xFF, 0xFF), r, true); m != len(tt.wire) {
				t.Fatalf("with trailing payload, n = %d, want %d", m, len(tt.wire))
			}
		})
	}
}

// TestParseHeaderPartial cuts each header at every point short of whole: parseHeader must ask
// for more (n == 0, no error) rather than fail or guess.
func TestParseHeaderPartial(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for _, length := range []uint64{0, 125, 126, 65535, 65536, 1<<63 - 1} {
		for _, masked := range []bool{false, true} {
			h := frameHeader{fin: true, op: OpBinary, masked: masked, key: key, length: length}
			var buf [maxHeaderSize]byte
			n := h.encode(buf[:])
			r := roleClient
			if masked {
				r = roleServer
			}
			for cut := 0; cut < n; cut++ {
				got, m, err := parseHeader(buf[:cut], r, false)
				if m != 0 || err != nil || got != (frameHeader{}) {
					t.Errorf("length %d masked %v cut %d/%d: got (%+v, %d, %v), want n == 0 and no error",
						length, masked, cut, n, got, m, err)
				}
			}
		}
	}
}

// TestParseHeaderViolations gives each rule of RFC 6455 section 5 a header that breaks it, and
// headers that break several to pin the order of the checks.
func TestParseHeaderViolations(t *testing.T) {
	tests := []struct {
		name      string
		wire      []byte
		r         role
		allowRSV1 bool
		want      error
	}{
		{"rsv1 without deflate", hdr(0xC1, 0), roleClient, false, ErrBadReservedBits},
		{"rsv2", hdr(0xA1, 0), roleClient, true, ErrBadReservedBits},
		{"rsv3", hdr(0x91, 0), roleClient, true, ErrBadReservedBits},
		{"rsv1 and rsv2 with deflate", hdr(0xE1, 0), roleClient, true, ErrBadReservedBits},
		{"rsv1 on a continuation", hdr(0xC0, 0), roleClient, true, ErrBadReservedBits},
		{"rsv1 on a ping", hdr(0xC9, 0), roleClient, true, ErrBadReservedBits},
		{"rsv before opcode", hdr(0x93, 0), roleClient, false, ErrBadReservedBits},
		{"opcode 3", hdr(0x83, 0), roleClient, false, ErrBadOpcode},
		{"opcode 7", hdr(0x87, 0), roleClient, false, ErrBadOpcode},
		{"opcode 0xB", hdr(0x8B, 0), roleClient, false, ErrBadOpcode},
		{"opcode 0xF", hdr(0x8F, 0), roleClient, false, ErrBadOpcode},
		{"opcode before fragment", hdr(0x0B, 0), roleClient, false, ErrBadOpcode},
		{"fragmented close", hdr(0x08, 0), roleClient, false, ErrBadControlFragment},
		{"fragmented ping", hdr(0x09, 0), roleClient, false, ErrBadControlFragment},
		{"fragmented pong", hdr(0x0A, 0), roleClient, false, ErrBadControlFragment},
		{"fragment before size", hdr(0x09, 126, 0, 126), roleClient, false, ErrBadControlFragment},
		{"ping of 126", hdr(0x89, 126, 0, 126), roleClient, false, ErrBadControlSize},
		{"close of 65536", hdr(0x88, 127, 0, 0, 0, 0, 0, 1, 0, 0), roleClient, false, ErrBadControlSize},
		{"control size before 16-bit minimality", hdr(0x8A, 126, 0, 5), roleClient, false, ErrBadControlSize},
		{"control size before masking", hdr(0x89, 126, 0, 126), roleServer, false, ErrBadControlSize},
		{"unmasked to server", hdr(0x81, 0), roleServer, false, ErrBadUnmaskedFrame},
		{"unmasked ping to server", hdr(0x89, 0), roleServer, false, ErrBadUnmaskedFrame},
		{"masked to client", hdr(0x81, 0x80, 1, 2, 3, 4), roleClient, false, ErrBadMaskedFrame},
		{"masking before size", hdr(0x81, 126, 0, 1), roleServer, false, ErrBadUnmaskedFrame},
		{"16-bit length of 0", hdr(0x82, 126, 0, 0), roleClient, false, ErrBadSize},
		{"16-bit length of 125", hdr(0x82, 126, 0, 125), roleClient, false, ErrBadSize},
		{"64-bit length of 0", hdr(0x82, 127, 0, 0, 0, 0, 0, 0, 0, 0), roleClient, false, ErrBadSize},
		{"64-bit length of 125", hdr(0x82, 127, 0, 0, 0, 0, 0, 0, 0, 125), roleClient, false, ErrBadSize},
		{"64-bit length of 65535", hdr(0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF), roleClient, false, ErrBadSize},
		{"64-bit length of 2^63", hdr(0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0), roleClient, false, ErrBadSize},
		{"64-bit length of 2^64-1", hdr(0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4), roleServer, false, ErrBadSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n, err := parseHeader(tt.wire, tt.r, tt.allowRSV1)
			if err != tt.want {
				t.Fatalf("parseHeader(% x) error = %v, want %v", tt.wire, err, tt.want)
			}
			if n != 0 || h != (frameHeader{}) {
				t.Fatalf("on error got (%+v, n %d), want the zero header and n == 0", h, n)
			}
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("errors.Is(%v, ErrProtocol) = false", err)
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || pe.Code() != CloseProtocolError {
				t.Fatalf("error %v does not carry close code 1002", err)
			}
		})
	}
}

// TestParseHeaderAccepts checks the frames near each rule that RFC 6455 allows.
func TestParseHeaderAccepts(t *testing.T) {
	tests := []struct {
		name      string
		wire      []byte
		r         role
		allowRSV1 bool
	}{
		{"compressed binary", hdr(0x42, 0), roleClient, true},
		{"ping of 125", hdr(0x89, 125), roleClient, false},
		{"masked close to server", hdr(0x88, 0x82, 1, 2, 3, 4), roleServer, false},
		{"non-final text", hdr(0x01, 3), roleClient, false},
		{"empty non-final continuation", hdr(0x00, 0), roleClient, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, n, err := parseHeader(tt.wire, tt.r, tt.allowRSV1); err != nil || n != len(tt.wire) {
				t.Fatalf("parseHeader(% x) = (n %d, %v), want (n %d, nil)", tt.wire, n, err, len(tt.wire))
			}
		})
	}
}

func TestMessageState(t *testing.T) {
	type frame struct {
		op  Opcode
		fin bool
	}
	tests := []struct {
		name   string
		frames []frame
		want   error // the error of the last frame; every earlier one must pass
	}{
		{"single text", []frame{{OpText, true}}, nil},
		{"fragmented binary", []frame{{OpBinary, false}, {OpContinuation, false}, {OpContinuation, true}}, nil},
		{"controls between fragments", []frame{{OpText, false}, {OpPing, true}, {OpPong, true}, {OpClose, true}, {OpContinuation, true}}, nil},
		{"message after message", []frame{{OpText, false}, {OpContinuation, true}, {OpBinary, true}, {OpText, true}}, nil},
		{"continuation first", []frame{{OpContinuation, true}}, ErrBadContinuation},
		{"continuation after control", []frame{{OpPing, true}, {OpContinuation, false}}, ErrBadContinuation},
		{"continuation after final", []frame{{OpText, false}, {OpContinuation, true}, {OpContinuation, true}}, ErrBadContinuation},
		{"text inside message", []frame{{OpText, false}, {OpText, true}}, ErrBadDataFrame},
		{"binary inside message", []frame{{OpText, false}, {OpContinuation, false}, {OpBinary, false}}, ErrBadDataFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s messageState
			for i, f := range tt.frames {
				err := s.next(f.op, f.fin)
				want := error(nil)
				if i == len(tt.frames)-1 {
					want = tt.want
				}
				if err != want {
					t.Fatalf("frame %d (%v fin %v): error %v, want %v", i, f.op, f.fin, err, want)
				}
			}
		})
	}
}

func TestFrameAllocs(t *testing.T) {
	h := frameHeader{fin: true, op: OpBinary, masked: true, key: [4]byte{1, 2, 3, 4}, length: 70000}
	var buf [maxHeaderSize]byte
	bad := hdr(0x82, 126, 0, 1) // an error path must not allocate either
	var s messageState
	allocs := testing.AllocsPerRun(100, func() {
		n := h.encode(buf[:])
		if _, _, err := parseHeader(buf[:n], roleServer, false); err != nil {
			panic(err)
		}
		_, _, _ = parseHeader(bad, roleClient, false)
		_ = s.next(OpText, true)
	})
	if allocs != 0 {
		t.Fatalf("encode, parseHeader and messageState.next allocate %v times, want 0", allocs)
	}
}
