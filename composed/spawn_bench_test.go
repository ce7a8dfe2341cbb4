package composed_test

import (
	"iter"
	"strconv"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/internal/benchcases"
)

// BenchmarkSpawn measures a spawned operation of 1, 10 and 100 awaits beside the same operation of
// 10 steps written as callbacks by hand (the bench program's composed group), each started by the
// previous one's callback inside Run: ns/step over the awaits gives the cost of an await, the
// 1-await row the cost of an operation. The iter.Pull rows are the floor under them: the coroutine
// alone with no executor, a round trip (resume, then suspend: what an await switches) and a
// coroutine made, run once and ended (what every spawned operation makes); and the same ticks
// awaited by a bare coroutine (rawCoroutineChain), which keeps none of Spawn's guarantees.
func BenchmarkSpawn(b *testing.B) {
	b.Run("Callbacks/steps="+strconv.Itoa(benchcases.ChainSteps), benchcases.ChainCase(benchcases.AsyncBareChain))
	for _, n := range []int{1, benchcases.ChainSteps, 100} {
		b.Run("Spawn/steps="+strconv.Itoa(n), func(b *testing.B) { benchcases.RunChained(b, benchcases.AsyncSpawnChain, n) })
	}
	b.Run("iter.Pull/ticks/steps="+strconv.Itoa(benchcases.ChainSteps), func(b *testing.B) { benchcases.RunChained(b, rawCoroutineChain, benchcases.ChainSteps) })
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

// rawCoroutineChain awaits n ticks of t on a coroutine of its own, with nothing of Spawn: no work
// is counted, the handler's executor is ignored, a panic or a Goexit is not handled, nothing checks
// who resumes the body. Each tick's handler resumes the coroutine; the last resumption ends it and
// calls h. It measures what a coroutine over the executor costs by itself.
func rawCoroutineChain(t *benchcases.Ticker, n int, h completion.Handler[int]) {
	var v int
	var next func() (struct{}, bool)
	var stop func()
	resume := completion.Func[int](func(got int) {
		v = got
		if _, more := next(); !more {
			stop()
			h.Complete(v)
		}
	})
	next, stop = iter.Pull(func(yield func(struct{}) bool) {
		for range n {
			t.AsyncTick(resume)
			if !yield(struct{}{}) {
				break
			}
		}
	})
	next()
}
