package benchcases

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/executor"
)

// burst is how many handlers the post-then-run cases queue before running them.
const burst = 1024

// Executor returns the executor comparison: beastgo's executors and what a Go programmer would
// write instead. Every case's ns/op is the cost of one handler, from submission to completion.
func Executor() []Case {
	return []Case{
		{Group: "executor", Name: "chan func() to a consumer goroutine", Baseline: true, Bench: ChanConsumer},
		{Group: "executor", Name: "go f() with a WaitGroup", Bench: GoStatement},
		{Group: "executor", Name: "mutex slice drained in batches", Bench: MutexSliceBatches},
		{Group: "executor", Name: "IOContext post then run", Bench: IOContextPostThenRun},
		{Group: "executor", Name: "IOContext post to a Run goroutine", Bench: IOContextPostToRunner},
		{Group: "executor", Name: "IOContext parallel producers", Bench: IOContextParallelProducers},
		{Group: "executor", Name: "IOContext chain (each posts the next)", Bench: IOContextChain},
		{Group: "executor", Name: "Strand chain over IOContext", Bench: StrandChain},
		{Group: "executor", Name: "Strand post then run", Bench: StrandPostThenRun},
		{Group: "executor", Name: "Strand post to a Run goroutine", Bench: StrandPostToRunner},
		{Group: "executor", Name: "Strand post from outside and inside", Unit: "2 handlers", Bench: StrandPostFromBoth},
		{Group: "executor", Name: "ThreadPool(2) post", Bench: ThreadPoolPost},
	}
}

// ChanConsumer sends prebuilt funcs on a buffered channel to one goroutine that runs them: the
// usual Go work queue.
func ChanConsumer(b *testing.B) {
	b.ReportAllocs()
	ch := make(chan func(), burst)
	done := make(chan struct{})
	go func() {
		for f := range ch {
			f()
		}
		close(done)
	}()
	f := func() {}
	for b.Loop() {
		ch <- f
	}
	close(ch)
	<-done
}

// GoStatement starts a goroutine per handler and waits for them all.
func GoStatement(b *testing.B) {
	b.ReportAllocs()
	var wg sync.WaitGroup
	for b.Loop() {
		wg.Go(func() {})
	}
	wg.Wait()
}

// MutexSliceBatches appends to a mutex-protected slice and drains it a batch at a time, on one
// goroutine.
func MutexSliceBatches(b *testing.B) {
	b.ReportAllocs()
	var (
		mu    sync.Mutex
		queue = make([]func(), 0, burst)
		spare = make([]func(), 0, burst)
	)
	f := func() {}
	n := 0
	drain := func() {
		mu.Lock()
		queue, spare = spare[:0], queue
		mu.Unlock()
		for i, g := range spare {
			g()
			spare[i] = nil
		}
	}
	for b.Loop() {
		mu.Lock()
		queue = append(queue, f)
		mu.Unlock()
		if n++; n == burst {
			drain()
			n = 0
		}
	}
	drain()
}

// IOContextPostThenRun posts bursts of handlers from outside the context, then runs them: Asio's
// "post from outside, then run".
func IOContextPostThenRun(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	f := func() {}
	n := 0
	for b.Loop() {
		ctx.Post(f)
		if n++; n == burst {
			ctx.Run()
			ctx.Restart()
			n = 0
		}
	}
	ctx.Run()
}

// IOContextBurst posts n handlers from outside, then runs them, per b.Loop iteration; it reports
// ns per handler as ns/handler.
func IOContextBurst(b *testing.B, n int) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	f := func() {}
	for b.Loop() {
		for range n {
			ctx.Post(f)
		}
		ctx.Run()
		ctx.Restart()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/handler")
}

// IOContextPostToRunner posts from the benchmark goroutine to a goroutine blocked in Run: the
// IOContext counterpart of ChanConsumer.
func IOContextPostToRunner(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	stop := runInBackground(ctx)
	f := func() {}
	for b.Loop() {
		ctx.Post(f)
	}
	stop()
}

// IOContextParallelProducers posts from GOMAXPROCS goroutines at once to one goroutine in Run.
func IOContextParallelProducers(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	stop := runInBackground(ctx)
	f := func() {}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ctx.Post(f)
		}
	})
	stop()
}

// IOContextChain runs a chain of handlers in which each posts the next, on one Run goroutine.
func IOContextChain(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	var f func()
	f = func() {
		if b.Loop() {
			ctx.Post(f)
		}
	}
	ctx.Post(f)
	ctx.Run()
}

// StrandChain runs a chain of handlers in which each posts the next to a strand over an IOContext.
func StrandChain(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	var f func()
	f = func() {
		if b.Loop() {
			s.Post(f)
		}
	}
	s.Post(f)
	ctx.Run()
}

// StrandPostThenRun posts bursts of handlers to a strand over an IOContext from outside, then
// runs them.
func StrandPostThenRun(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	f := func() {}
	n := 0
	for b.Loop() {
		s.Post(f)
		if n++; n == burst {
			ctx.Run()
			ctx.Restart()
			n = 0
		}
	}
	ctx.Run()
}

// StrandPostToRunner posts from the benchmark goroutine to a strand over an IOContext whose Run
// goroutine runs the strand's turns.
func StrandPostToRunner(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	stop := runInBackground(ctx)
	f := func() {}
	for b.Loop() {
		s.Post(f)
	}
	stop()
}

// StrandPostFromBoth posts from the benchmark goroutine to a strand over an IOContext whose Run
// goroutine runs the strand's turns, and each of those handlers posts one more from inside: the
// strand's turns mix handlers posted from outside and from inside. ns/op covers both handlers.
func StrandPostFromBoth(b *testing.B) {
	b.ReportAllocs()
	ctx := executor.NewIOContext()
	s := executor.NewStrand(ctx)
	stop := runInBackground(ctx)
	inside := func() {}
	outside := func() { s.Post(inside) }
	for b.Loop() {
		s.Post(outside)
	}
	stop()
}

// ThreadPoolPost posts from outside to a pool of two goroutines and waits for every handler.
func ThreadPoolPost(b *testing.B) {
	b.ReportAllocs()
	pool := executor.NewThreadPool(2)
	var ran atomic.Int64
	f := func() { ran.Add(1) }
	for b.Loop() {
		pool.Executor().Post(f)
	}
	pool.Join()
	if ran.Load() != int64(b.N) {
		b.Fatalf("ran %d handlers of %d", ran.Load(), b.N)
	}
}

// runInBackground runs ctx on a goroutine of its own, kept in Run by a work guard, and returns the
// function that releases the guard and waits for Run to return.
func runInBackground(ctx *executor.IOContext) (stop func()) {
	guard := executor.MakeWorkGuard(ctx)
	done := make(chan struct{})
	go func() {
		ctx.Run()
		close(done)
	}()
	return func() {
		guard.Reset()
		<-done
	}
}
