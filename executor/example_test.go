package executor_test

import (
	"fmt"
	"sync/atomic"

	"github.com/beastgo/beast/executor"
)

// Post handlers, then run them on this goroutine: Run returns when there is nothing left to do.
func ExampleIOContext() {
	ctx := executor.NewIOContext()
	for i := range 3 {
		ctx.Post(func() { fmt.Println("handler", i) })
	}
	n := ctx.Run()
	fmt.Println("ran", n)
	// Output:
	// handler 0
	// handler 1
	// handler 2
	// ran 3
}

// A work guard keeps Run waiting for handlers that other goroutines will post.
func ExampleWorkGuard() {
	ctx := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ctx)
	go func() {
		ctx.Post(func() { fmt.Println("posted from another goroutine") })
		ctx.Post(guard.Reset) // nothing more will come: let Run return
	}()
	ctx.Run()
	// Output: posted from another goroutine
}

// A strand over a thread pool: handlers run on the pool's goroutines but never concurrently, so
// they need no lock for the state they share.
func ExampleStrand() {
	pool := executor.NewThreadPool(4)
	strand := executor.NewStrand(pool.Executor())
	count := 0 // touched only inside the strand
	for range 1000 {
		strand.Post(func() { count++ })
	}
	pool.Join()
	fmt.Println(count)
	// Output: 1000
}

// A thread pool runs handlers on its own goroutines; Join waits for them to finish.
func ExampleThreadPool() {
	pool := executor.NewThreadPool(2)
	var sum atomic.Int64
	for i := range 100 {
		pool.Executor().Post(func() { sum.Add(int64(i)) })
	}
	pool.Join()
	fmt.Println(sum.Load())
	// Output: 4950
}
