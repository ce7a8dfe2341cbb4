package executor_test

import (
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/executor"
)

// "Distinct strands over one executor run concurrently with each other" (Strand doc), and "With
// two or more goroutines in its run calls, handlers run concurrently" (docs/executors.md).
// Right after NewThreadPool(2) returns, a handler of strand a waits for a handler of strand b.
// The pool's concurrency hint shares the two turns out between its two goroutines, so the second
// runs b although the first may enter Run before the second has arrived. The time limit is only
// there to turn a hang into a failure.
func TestBBDistinctStrandsRunConcurrentlyFreshPool(t *testing.T) {
	for i := range 20 {
		pool := executor.NewThreadPool(2)
		a, b := executor.NewStrand(pool.Executor()), executor.NewStrand(pool.Executor())
		var wg sync.WaitGroup
		wg.Add(2)
		met := make(chan struct{})
		var once sync.Once
		a.Post(func() { <-met; wg.Done() })
		b.Post(func() { once.Do(func() { close(met) }); wg.Done() })
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			once.Do(func() { close(met) })
			<-done
			pool.Join()
			t.Fatalf("iteration %d: strand b's handler did not run in 5 s while strand a's waited for it on a pool of 2", i)
		}
		pool.Join()
	}
}
