package executor_test

import (
	"fmt"
	"testing"

	"github.com/beastgo/beast/internal/benchcases"
)

func BenchmarkChanConsumer(b *testing.B)               { benchcases.ChanConsumer(b) }
func BenchmarkGoStatement(b *testing.B)                { benchcases.GoStatement(b) }
func BenchmarkMutexSliceBatches(b *testing.B)          { benchcases.MutexSliceBatches(b) }
func BenchmarkIOContextPostThenRun(b *testing.B)       { benchcases.IOContextPostThenRun(b) }
func BenchmarkIOContextPostToRunner(b *testing.B)      { benchcases.IOContextPostToRunner(b) }
func BenchmarkIOContextParallelProducers(b *testing.B) { benchcases.IOContextParallelProducers(b) }
func BenchmarkIOContextChain(b *testing.B)             { benchcases.IOContextChain(b) }
func BenchmarkStrandChain(b *testing.B)                { benchcases.StrandChain(b) }
func BenchmarkStrandPostThenRun(b *testing.B)          { benchcases.StrandPostThenRun(b) }
func BenchmarkStrandPostToRunner(b *testing.B)         { benchcases.StrandPostToRunner(b) }
func BenchmarkStrandPostFromBoth(b *testing.B)         { benchcases.StrandPostFromBoth(b) }
func BenchmarkThreadPoolPost(b *testing.B)             { benchcases.ThreadPoolPost(b) }

// BenchmarkIOContextBurst posts bursts of growing size before running them: the cost per handler
// must stay flat (chunked queue, no growing slice copies).
func BenchmarkIOContextBurst(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchcases.IOContextBurst(b, n) })
	}
}
