package net_test

import (
	"testing"

	"github.com/beastgo/beast/internal/benchcases"
)

// BenchmarkRoundTripEndsApart is the 2-contexts row of BenchmarkRoundTrip32x1KiB with each
// connection's two ends on different contexts (internal/benchcases): the cost of a connection's
// messages crossing between goroutines, with every socket kept on one. ns/op is per round trip.
func BenchmarkRoundTripEndsApart(b *testing.B) { benchcases.RoundTripsEndsApart(b) }
