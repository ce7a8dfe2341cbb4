package websocket

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzUTF8Checker checks that the checker, fed the input in two writes cut at a fuzzed point,
// agrees with utf8.Valid, and that when it refuses, no longer prefix of a refused input is ever
// accepted: the verdict is sticky.
func FuzzUTF8Checker(f *testing.F) {
	for _, tc := range utf8Cases {
		f.Add([]byte(tc.in), uint8(len(tc.in)/2))
	}
	f.Add([]byte("0123456789abcdef\xe4\xb8\x96"), uint8(17))
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		i := int(cut)
		if i > len(in) {
			i = len(in)
		}
		var c utf8Checker
		first := c.write(in[:i])
		second := c.write(in[i:])
		got := c.finish()
		want := utf8.Valid(in)
		if got != want {
			t.Fatalf("%q cut at %d: checker says %v, utf8.Valid says %v", in, i, got, want)
		}
		if !first && second {
			t.Fatalf("%q cut at %d: second write accepted after the first was refused", in, i)
		}
	})
}

// FuzzParseClosePayload checks that no payload makes the parser panic, and that every payload it
// accepts is encoded back to the same bytes, so a close can be echoed exactly.
func FuzzParseClosePayload(f *testing.F) {
	for _, s := range []string{"", "\x03", "\x03\xe8", "\x03\xe9bye", "\x03\xe8\xff", "\x00\x00", "\x13\x87κόσμε"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := parseClosePayload(in)
		if err != nil {
			return
		}
		if r.Code == CloseNoStatus {
			// An empty payload reads as CloseNoStatus, which is never sent: CloseNone stands
			// for it.
			if len(in) != 0 {
				t.Fatalf("%q read as CloseNoStatus", in)
			}
			r.Code = CloseNone
		}
		out, err := appendClosePayload(nil, r)
		if err != nil {
			t.Fatalf("%q parsed as %+v, which cannot be sent: %v", in, r, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("%q parsed as %+v, re-encoded as %q", in, r, out)
		}
	})
}
