package net_test

import (
	"testing"

	"github.com/beastgo/beast/internal/benchcases"
)

// The bodies of these benchmarks are in internal/benchcases, which the bench program runs too.

// BenchmarkRoundTrip32x1KiB measures 1 KiB round trips on 32 loopback connections: one IOContext
// run by one goroutine and by two, two IOContexts with one goroutine each, and Go's net package
// with a goroutine per connection end. ns/op is per round trip.
func BenchmarkRoundTrip32x1KiB(b *testing.B) {
	b.Run("beastgo/1-runner", func(b *testing.B) { benchcases.RoundTrips(b, 1) })
	b.Run("beastgo/2-runners", func(b *testing.B) { benchcases.RoundTrips(b, 2) })
	b.Run("beastgo/2-contexts", func(b *testing.B) { benchcases.RoundTripsPerContext(b, 2) })
	b.Run("go-net/goroutine-per-conn", benchcases.RoundTripsGoNet)
}

// BenchmarkThroughput64KiB streams 64 KiB writes over one loopback connection to a reader with a
// 64 KiB buffer; ns/op is per 64 KiB written and read.
func BenchmarkThroughput64KiB(b *testing.B) {
	b.Run("beastgo", benchcases.Throughput)
	b.Run("go-net", benchcases.ThroughputGoNet)
}
