package websocket_test

import (
	"fmt"
	"testing"

	"github.com/beastgo/beast/internal/benchcases"
)

// The bodies of these benchmarks are in internal/benchcases, which the bench program runs too.

// messageSizes are the sizes the message benchmarks and the allocation test use: a short message,
// one of 1 KiB, and one of 64 KiB that a client masks in sixteen pieces through its 4 KiB buffer.
var messageSizes = []int{16, 1 << 10, 64 << 10}

// sizeName prints a byte count as the benchmarks' sub-names do: 16B, 1KiB, 64KiB.
func sizeName(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkEcho measures round trips between a client and a server Stream over loopback TCP,
// opened by their handshakes, on one IOContext run by one goroutine: the client writes a message
// (masked), the server reads it into a reused buffer and writes it back (unmasked), and the
// client reads the echo into a reused buffer. Beside each, layer=tcp is the same round trip on
// the bare sockets, what the WebSocket adds to. ns/op is per round trip; B/s counts both
// directions.
func BenchmarkEcho(b *testing.B) {
	for _, size := range messageSizes {
		b.Run("size="+sizeName(size)+"/layer=websocket", func(b *testing.B) { benchcases.WSEcho(b, size) })
		b.Run("size="+sizeName(size)+"/layer=tcp", func(b *testing.B) { benchcases.TCPEcho(b, size) })
	}
}

// BenchmarkMessage measures one message sent one way on the same set-up, per role: from the
// client, which masks what it writes, and from the server, which does not. The reader's read is
// pending when the writer writes; ns/op is per message.
func BenchmarkMessage(b *testing.B) {
	for _, size := range messageSizes {
		b.Run("from=client/size="+sizeName(size), func(b *testing.B) { benchcases.WSOneWay(b, size, true) })
		b.Run("from=server/size="+sizeName(size), func(b *testing.B) { benchcases.WSOneWay(b, size, false) })
	}
}
