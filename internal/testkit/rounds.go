package testkit

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
)

// Scale is n rounds, a quarter of them under the race detector, a quarter again with -short, and
// never fewer than 4.
func Scale(n int) int {
	if Race {
		n /= 4
	}
	if testing.Short() {
		n /= 4
	}
	return max(n, 4)
}

// Spin waits a random little while, without sleeping, to move a racing call around.
func Spin(rng *rand.Rand) {
	n := rng.IntN(64)
	if n < 8 {
		for range n {
			runtime.Gosched()
		}
		return
	}
	for range n * 16 {
		sink.Add(1)
	}
}

// sink is written by Spin so that its loop is not optimised away.
var sink atomic.Int64
