package mask

import (
	"bytes"
	"testing"
)

// reference is RFC 6455 section 5.3 written out byte by byte, the oracle for Bytes.
func reference(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// payload returns n bytes that differ from each other, so that a wrong key rotation shows.
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// TestBytesMatchesGeneric checks Bytes, which hands the bulk of a payload to assembly where
// there is some (mask_amd64.s), against BytesGeneric, Go alone, and both against the byte-by-byte
// reference: every length 0..300, every start position, and every start address modulo 32, with
// guard bytes around the payload that must come out untouched, plus a few long payloads.
func TestBytesMatchesGeneric(t *testing.T) {
	const guard = 40
	key := [4]byte{0x9C, 0x01, 0xF0, 0x5A}
	lengths := []int{1023, 4096, 4096 + 31, 64<<10 + 5}
	for n := 0; n <= 300; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for pos := 0; pos < 8; pos++ { // 4..7 check that only pos&3 counts
			for off := 0; off < 32; off++ {
				if n > 300 && off%8 != 3 { // the long payloads at a few offsets keep the test quick
					continue
				}
				got, gen, want := payload(n+2*guard), payload(n+2*guard), payload(n+2*guard)
				gotPos := Bytes(key, pos, got[off:off+n])
				genPos := BytesGeneric(key, pos, gen[off:off+n])
				wantPos := reference(key, pos, want[off:off+n])
				if gotPos != wantPos || genPos != wantPos {
					t.Fatalf("len %d pos %d offset %d: next position %d (generic %d), want %d", n, pos, off, gotPos, genPos, wantPos)
				}
				if !bytes.Equal(gen, want) {
					t.Fatalf("len %d pos %d offset %d: BytesGeneric differs from the reference", n, pos, off)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("len %d pos %d offset %d: Bytes differs from the reference and from BytesGeneric", n, pos, off)
				}
			}
		}
	}
}

// TestBlocksUsesTheAssembly checks that where there is assembly, Bytes's payloads of asmMin bytes
// and more do reach it, so that TestBytesMatchesGeneric compares two different pieces of code.
func TestBlocksUsesTheAssembly(t *testing.T) {
	b := payload(asmMin + 45)
	want := 0
	if haveAsm {
		want = (asmMin + 45) &^ 31
	}
	if got := blocks(b, 0x0102030401020304); got != want {
		t.Fatalf("blocks masked %d bytes of %d, want %d (assembly: %v)", got, len(b), want, haveAsm)
	}
	t.Logf("assembly: %v", haveAsm)
}

func TestBytesAllocs(t *testing.T) {
	b := payload(4096)
	key := [4]byte{1, 2, 3, 4}
	if n := testing.AllocsPerRun(100, func() { Bytes(key, 3, b) }); n != 0 {
		t.Fatalf("Bytes allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { BytesGeneric(key, 3, b) }); n != 0 {
		t.Fatalf("BytesGeneric allocates %v times per call, want 0", n)
	}
}
