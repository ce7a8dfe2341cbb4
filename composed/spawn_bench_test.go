package composed_test

import (
	"strconv"
	"testing"

	"github.com/beastgo/beast/internal/benchcases"
)

// BenchmarkSpawn measures a spawned operation of 1, 10 and 100 awaits beside the same operation of
// 10 steps written as callbacks by hand (the bench program's composed group), each started by the
// previous one's callback inside Run: ns/step over the awaits gives the cost of an await, the
// 1-await row the cost of an operation.
func BenchmarkSpawn(b *testing.B) {
	b.Run("Callbacks/steps="+strconv.Itoa(benchcases.ChainSteps), benchcases.ChainCase(benchcases.AsyncBareChain))
	for _, n := range []int{1, benchcases.ChainSteps, 100} {
		b.Run("Spawn/steps="+strconv.Itoa(n), func(b *testing.B) { benchcases.RunChained(b, benchcases.AsyncSpawnChain, n) })
	}
}
