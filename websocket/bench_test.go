package websocket

import (
	"fmt"
	"testing"

	"github.com/beastgo/beast/internal/mask"
)

// maskBenchSizes are the payload sizes BenchmarkMask compares: a short message, the largest
// control-frame payload, a typical message, a client's default masking buffer (every masked write
// goes through it 4 KiB at a time), and a large read.
var maskBenchSizes = []int{16, 125, 1 << 10, 4 << 10, 64 << 10}

// sizeName prints a byte count as the benchmarks' sub-names do: 16B, 1KiB, 64KiB.
func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkMask measures maskBytes beside mask.BytesGeneric (Go alone; the same code where there
// is no assembly) and a plain copy of the same size, the floor a pass over the payload cannot
// beat by much. b.SetBytes makes each report its speed.
func BenchmarkMask(b *testing.B) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for _, size := range maskBenchSizes {
		buf := testPayload(size)
		dst := make([]byte, size)
		b.Run("size="+sizeName(size)+"/op=mask", func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				maskBytes(key, 1, buf)
			}
		})
		b.Run("size="+sizeName(size)+"/op=mask-go", func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				mask.BytesGeneric(key, 1, buf)
			}
		})
		b.Run("size="+sizeName(size)+"/op=copy", func(b *testing.B) {
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
