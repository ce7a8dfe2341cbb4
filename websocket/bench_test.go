package websocket

import (
	"fmt"
	"testing"
)

// BenchmarkMask measures maskBytes against a plain copy of the same size, the floor a pass over
// the payload cannot beat by much.
func BenchmarkMask(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		key := [4]byte{0x12, 0x34, 0x56, 0x78}
		buf := testPayload(size)
		b.Run(fmt.Sprintf("mask/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				maskBytes(key, 1, buf)
			}
		})
		dst := make([]byte, size)
		b.Run(fmt.Sprintf("copy/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				copy(dst, buf)
			}
		})
	}
}

// BenchmarkHeader measures a header's encode and parse, the per-frame cost of the codec.
func BenchmarkHeader(b *testing.B) {
	for _, length := range []uint64{10, 1000, 100000} {
		h := frameHeader{fin: true, op: OpBinary, masked: true, key: [4]byte{1, 2, 3, 4}, length: length}
		var buf [maxHeaderSize]byte
		b.Run(fmt.Sprintf("encode/%d", length), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.encode(buf[:])
			}
		})
		n := h.encode(buf[:])
		b.Run(fmt.Sprintf("parse/%d", length), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := parseHeader(buf[:n], roleServer, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
