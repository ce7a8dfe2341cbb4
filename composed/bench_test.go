package composed_test

import (
	"strconv"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/benchcases"
)

// The operations measured here, and the inner operation they chain (a tick that completes by
// posting, as a socket read that finds data does), are in internal/benchcases, which the bench
// program runs too.

// BenchmarkChain measures an operation of 10 inner operations (and of 1) written as bare
// callbacks (Bare; Handler is the same with the state as the handler), with Start, with an Op kept
// in the operation's state (Op; Op-reused keeps the whole state between operations) and with
// Spawn, each called with a callback. ns/op is per whole operation, ns/step per inner operation.
func BenchmarkChain(b *testing.B) {
	for _, c := range []struct {
		name  string
		start benchcases.ChainFunc
	}{
		{"Bare", benchcases.AsyncBareChain},
		{"Handler", benchcases.HandlerChain},
		{"Start", benchcases.AsyncStartChain},
		{"Op", benchcases.AsyncOpChain},
		{"Op-reused", benchcases.ReusedChain()},
		{"Spawn", benchcases.AsyncSpawnChain},
	} {
		for _, n := range []int{benchcases.ChainSteps, 1} {
			b.Run(c.name+"/steps="+strconv.Itoa(n), func(b *testing.B) { benchcases.RunChained(b, c.start, n) })
		}
	}
}

// BenchmarkToken measures a 1-step operation with each token, as a program on one goroutine uses
// it: start the operation, Run the IOContext until it runs out of work, take the result. Run's own
// cost (a few allocations per call) is in every row; Bare is the operation written as callbacks.
func BenchmarkToken(b *testing.B) {
	// runToken runs one operation per iteration, started by start with the handler h, and takes
	// its result with take.
	runToken := func(b *testing.B, start benchcases.ChainFunc, newHandler func() completion.Handler[int], take func(completion.Handler[int]) int) {
		ioc := executor.NewIOContext()
		t := benchcases.NewTicker(ioc)
		got := 0
		b.ReportAllocs()
		for b.Loop() {
			h := newHandler()
			start(t, 1, h)
			ioc.Run()
			ioc.Restart()
			got = take(h)
		}
		if got != t.Ticks() {
			b.Fatal("missed a result")
		}
	}
	b.Run("Bare/callback", func(b *testing.B) {
		got := 0
		h := completion.Callback(func(v int) { got = v })
		runToken(b, benchcases.AsyncBareChain, func() completion.Handler[int] { return h }, func(completion.Handler[int]) int { return got })
	})
	b.Run("Start/callback", func(b *testing.B) {
		got := 0
		h := completion.Callback(func(v int) { got = v })
		runToken(b, benchcases.AsyncStartChain, func() completion.Handler[int] { return h }, func(completion.Handler[int]) int { return got })
	})
	b.Run("Start/future", func(b *testing.B) {
		runToken(b, benchcases.AsyncStartChain,
			func() completion.Handler[int] { return completion.NewFuture[int]() },
			func(h completion.Handler[int]) int { return h.(*completion.Future[int]).Wait() })
	})
	b.Run("Start/channel", func(b *testing.B) {
		ch := make(chan int, 1)
		h := completion.Chan(ch)
		runToken(b, benchcases.AsyncStartChain, func() completion.Handler[int] { return h }, func(completion.Handler[int]) int { return <-ch })
	})
}
