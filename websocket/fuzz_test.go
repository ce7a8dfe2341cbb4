package websocket

import (
	"bytes"
	"testing"
)

// FuzzParseHeader feeds arbitrary bytes to parseHeader in both roles, with and without
// permessage-deflate. It must never panic, and a header it accepts must obey the rules it checks
// and re-encode to exactly the bytes it came from: RFC 6455 allows one encoding per header (the
// shortest length form), so any difference is a check missing from parseHeader or a bug in
// encode.
func FuzzParseHeader(f *testing.F) {
	seeds := [][]byte{
		{0x81, 0x00},
		{0x82, 0x80 | 126, 0x01, 0x00, 1, 2, 3, 4},
		{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0},
		{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4},
		{0x89, 0x80 | 125, 9, 9, 9, 9},
		{0xC1, 5},
		{0x08, 0},
		{0x82, 126, 0, 5},
		{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x8F},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []role{roleClient, roleServer} {
			for _, allowRSV1 := range []bool{false, true} {
				checkParsed(t, b, r, allowRSV1)
			}
		}
	})
}

// checkParsed parses b and checks what parseHeader returned against the rules and encode.
func checkParsed(t *testing.T, b []byte, r role, allowRSV1 bool) {
	t.Helper()
	h, n, err := parseHeader(b, r, allowRSV1)
	if err != nil || n == 0 {
		if n != 0 || h != (frameHeader{}) {
			t.Fatalf("parseHeader(% x, %d, %v) = (%+v, %d, %v): a failure or a partial header must return the zero header and n == 0",
				b, r, allowRSV1, h, n, err)
		}
		if err == nil && len(b) >= maxHeaderSize {
			t.Fatalf("parseHeader(% x) asked for more than %d bytes", b, maxHeaderSize)
		}
		return
	}
	switch {
	case n > len(b) || n > maxHeaderSize:
		t.Fatalf("parseHeader(% x) = n %d, more than it was given or than any header", b, n)
	case !h.op.isDefined():
		t.Fatalf("parseHeader(% x) accepted reserved opcode %#x", b, uint8(h.op))
	case h.rsv != 0 && !(allowRSV1 && h.rsv == rsv1 && !h.op.IsControl() && h.op != OpContinuation):
		t.Fatalf("parseHeader(% x, allowRSV1 %v) accepted reserved bits %03b on opcode %#x", b, allowRSV1, h.rsv, uint8(h.op))
	case h.op.IsControl() && (!h.fin || h.length > maxControlPayload):
		t.Fatalf("parseHeader(% x) accepted a control frame fin %v length %d", b, h.fin, h.length)
	case h.masked != (r == roleServer):
		t.Fatalf("parseHeader(% x) as role %d accepted masked %v", b, r, h.masked)
	case h.length>>63 != 0:
		t.Fatalf("parseHeader(% x) accepted length %d over 2^63-1", b, h.length)
	}
	var buf [maxHeaderSize]byte
	m := h.encode(buf[:])
	if !bytes.Equal(buf[:m], b[:n]) {
		t.Fatalf("parseHeader(% x) = %+v, which encodes to % x", b[:n], h, buf[:m])
	}
}
