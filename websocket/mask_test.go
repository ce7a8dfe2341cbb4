package websocket

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// maskReference is RFC 6455 section 5.3 written out byte by byte, the oracle for maskBytes.
func maskReference(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// testPayload returns n bytes that differ from each other, so that a wrong key rotation shows.
func testPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

func TestMaskBytesMatchesReference(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for n := 0; n <= 70; n++ {
		for pos := 0; pos < 4; pos++ {
			got, want := testPayload(n), testPayload(n)
			gotPos := maskBytes(key, pos, got)
			wantPos := maskReference(key, pos, want)
			if !bytes.Equal(got, want) || gotPos != wantPos {
				t.Fatalf("len %d pos %d: got %x (next %d), want %x (next %d)", n, pos, got, gotPos, want, wantPos)
			}
		}
	}
}

// TestMaskBytesInPieces checks the contract a reader relies on: masking a payload in pieces at
// arbitrary cut points, each call starting where the last stopped, gives the bytes of masking it
// whole.
func TestMaskBytesInPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	key := [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	for range 500 {
		n := rng.IntN(300)
		start := rng.IntN(4)
		want := testPayload(n)
		maskReference(key, start, want)
		got := testPayload(n)
		pos := start
		for rest := got; len(rest) > 0; {
			cut := rng.IntN(len(rest) + 1)
			pos = maskBytes(key, pos, rest[:cut])
			rest = rest[cut:]
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("len %d start %d: masking in pieces gave %x, want %x", n, start, got, want)
		}
		if wantPos := (start + n) & 3; pos != wantPos {
			t.Fatalf("len %d start %d: final pos %d, want %d", n, start, pos, wantPos)
		}
	}
}

func TestMaskBytesInvolution(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	b := testPayload(1000)
	maskBytes(key, 1, b)
	maskBytes(key, 1, b)
	if !bytes.Equal(b, testPayload(1000)) {
		t.Fatal("masking twice did not restore the payload")
	}
}

func TestMaskBytesAllocs(t *testing.T) {
	b := testPayload(4096)
	key := [4]byte{1, 2, 3, 4}
	if n := testing.AllocsPerRun(100, func() { maskBytes(key, 3, b) }); n != 0 {
		t.Fatalf("maskBytes allocates %v times per call, want 0", n)
	}
}
