// Package mask applies the masking of RFC 6455 section 5.3 to WebSocket payloads: package
// websocket masks what a client writes and unmasks what a server reads with it, and the bench
// program measures it. It is a package of its own so that the bench program can reach it.
package mask

import "encoding/binary"

// Bytes masks (or unmasks: XOR is its own inverse) b in place with key, starting at key byte
// pos&3. pos is the offset within the payload of b's first byte, so a payload masked in pieces,
// each call given the previous call's result, comes out as if masked whole. It returns the
// position of the byte after b, modulo 4.
//
// The bulk of a payload of asmMin bytes or more goes to blocks, which on amd64 with AVX2 XORs 32
// bytes per instruction (mask_amd64.s) and elsewhere does nothing; words does the rest. Every
// block and word starts a multiple of 4 bytes into b, so one rotation of the key serves them all.
func Bytes(key [4]byte, pos int, b []byte) int {
	pos &= 3
	k := rotatedKey(key, pos)
	rest := b
	if len(b) >= asmMin {
		rest = b[blocks(b, k):]
	}
	words(k, rest)
	return (pos + len(b)) & 3
}

// asmMin is the shortest payload Bytes hands to blocks: below it the call and the vector set-up
// cost more than the Go words they would replace (BenchmarkMask in package websocket, 16 B and
// 125 B).
const asmMin = 64

// BytesGeneric is Bytes in Go alone: what runs where blocks has no assembly, and the oracle the
// assembly is tested against.
func BytesGeneric(key [4]byte, pos int, b []byte) int {
	pos &= 3
	words(rotatedKey(key, pos), b)
	return (pos + len(b)) & 3
}

// rotatedKey returns the key as it applies from payload position pos (0 to 3): a little-endian
// word whose low byte is key[pos], repeated to fill 8 bytes.
func rotatedKey(key [4]byte, pos int) uint64 {
	rotated := [4]byte{key[pos], key[(pos+1)&3], key[(pos+2)&3], key[(pos+3)&3]}
	k32 := uint64(binary.LittleEndian.Uint32(rotated[:]))
	return k32 | k32<<32
}

// words XORs b with k, a key from rotatedKey, 8 bytes at a time. binary.LittleEndian loads and
// stores need no alignment, so there is no head loop; only a tail of fewer than 8 bytes goes byte
// by byte.
func words(k uint64, b []byte) {
	i := 0
	// Four words per iteration: on a 1 KiB payload the loop's own overhead is otherwise a
	// visible part of the cost.
	for ; len(b)-i >= 32; i += 32 {
		w := b[i : i+32 : i+32]
		binary.LittleEndian.PutUint64(w[0:], binary.LittleEndian.Uint64(w[0:])^k)
		binary.LittleEndian.PutUint64(w[8:], binary.LittleEndian.Uint64(w[8:])^k)
		binary.LittleEndian.PutUint64(w[16:], binary.LittleEndian.Uint64(w[16:])^k)
		binary.LittleEndian.PutUint64(w[24:], binary.LittleEndian.Uint64(w[24:])^k)
	}
	for ; len(b)-i >= 8; i += 8 {
		w := b[i : i+8 : i+8]
		binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)^k)
	}
	for ; i < len(b); i++ {
		b[i] ^= byte(k >> (8 * (i & 3)))
	}
}
