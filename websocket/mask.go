package websocket

import "encoding/binary"

// maskBytes masks (or unmasks: XOR is its own inverse) b in place with key, as RFC 6455 section
// 5.3 defines, starting at key byte pos&3. pos is the offset within the payload of b's first
// byte, so a payload masked in pieces, each call given the previous call's result, comes out as
// if masked whole. It returns the position of the byte after b, modulo 4.
//
// The body works on 8-byte words: the rotated key repeated twice is one uint64, and since 8 is a
// multiple of 4 the rotation is the same for every word. binary.LittleEndian loads and stores
// need no alignment, so there is no head loop; only the tail of fewer than 8 bytes goes byte by
// byte.
func maskBytes(key [4]byte, pos int, b []byte) int {
	pos &= 3
	rotated := [4]byte{key[pos], key[(pos+1)&3], key[(pos+2)&3], key[(pos+3)&3]}
	k32 := uint64(binary.LittleEndian.Uint32(rotated[:]))
	k := k32 | k32<<32
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
		b[i] ^= rotated[i&3]
	}
	return (pos + len(b)) & 3
}
