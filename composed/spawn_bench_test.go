package composed_test

import (
	"iter"
	"strconv"
	"testing"

	"github.com/beastgo/beast/internal/benchcases"
)

// BenchmarkSpawn measures a spawned operation of 1, 10 and 100 awaits beside the same operation of
// 10 steps written as callbacks by hand (the bench program's composed group), each started by the
// previous one's callback inside Run: ns/step over the awaits gives the cost of an await, the
// 1-await row the cost of an operation. The iter.Pull rows are the floor under them, the coroutine
// alone with no executor: a round trip (resume, then suspend: what an await switches), and a
// coroutine made, run once and ended (what every spawned operation makes).
func BenchmarkSpawn(b *testing.B) {
	b.Run("Callbacks/steps="+strconv.Itoa(benchcases.ChainSteps), benchcases.ChainCase(benchcases.AsyncBareChain))
	for _, n := range []int{1, benchcases.ChainSteps, 100} {
		b.Run("Spawn/steps="+strconv.Itoa(n), func(b *testing.B) { benchcases.RunChained(b, benchcases.AsyncSpawnChain, n) })
	}
	b.Run("iter.Pull/round-trip", func(b *testing.B) {
		b.ReportAllocs()
		next, stop := iter.Pull(func(yield func(int) bool) {
			for yield(0) {
			}
		})
		defer stop()
		for b.Loop() {
			next()
		}
	})
	b.Run("iter.Pull/made-run-ended", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			next, stop := iter.Pull(func(yield func(int) bool) { yield(0) })
			next()
			stop()
		}
	})
}
