package completion_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// asyncDouble is a small asynchronous operation for the examples: it delivers 2*x to h on h's
// associated executor (ex when h has none), posted, never inside the call.
func asyncDouble(ex executor.Executor, x int, h completion.Handler[int]) {
	hex := completion.AssociatedExecutor(h, ex)
	hex.Post(func() { h.Complete(2 * x) })
}

// asyncNever is an operation that waits for something that never happens, such as an accept no
// client makes, until its handler's context ends; then it completes with the cancellation error.
// With no context it would wait for ever.
func asyncNever(ex executor.Executor, h completion.Handler[error]) {
	ex.OnWorkStarted() // a pending operation is outstanding work: Run waits for it
	completion.OnCancel(h, ex, func(err error) {
		completion.AssociatedExecutor(h, ex).Dispatch(func() { h.Complete(err) })
		ex.OnWorkFinished()
	})
}

// A callback: the result's type is inferred from the function. It runs on the IOContext, inside
// Run.
func ExampleCallback() {
	ioc := executor.NewIOContext()
	asyncDouble(ioc, 21, completion.Callback(func(n int) { fmt.Println(n) }))
	ioc.Run()
	// Output: 42
}

// A future: the operation stores its result, and another goroutine waits for it.
func ExampleNewFuture() {
	ioc := executor.NewIOContext()
	f := completion.NewFuture[int]()
	asyncDouble(ioc, 21, f)
	_, ok := f.Result()
	fmt.Println("ready before Run:", ok)

	var wg sync.WaitGroup
	wg.Go(func() { ioc.Run() }) // the I/O goroutine
	fmt.Println(f.Wait())
	wg.Wait()
	// Output:
	// ready before Run: false
	// 42
}

// A channel: each operation sends its result on it. The send runs on the executor, so the
// channel has room for every result.
func ExampleChan() {
	ioc := executor.NewIOContext()
	ch := make(chan int, 3)
	for x := range 3 {
		asyncDouble(ioc, x, completion.Chan(ch))
	}
	ioc.Run()
	fmt.Println(<-ch, <-ch, <-ch)
	// Output: 0 2 4
}

// Bind gives a handler an executor to run on: here a strand, so that the handler is serialised
// with the strand's other handlers whichever goroutine completes the operation.
func ExampleBind() {
	ioc := executor.NewIOContext()
	strand := executor.NewStrand(ioc)
	h := completion.Bind(strand, completion.Callback(func(n int) { fmt.Println(n) }))
	// The operation asks the handler where it must complete: on the strand, not on ioc.
	fmt.Println("completes on the strand:", completion.AssociatedExecutor[int](h, ioc) == executor.Executor(strand))
	asyncDouble(ioc, 21, h)
	ioc.Run()
	// Output:
	// completes on the strand: true
	// 42
}

// WithContext makes a handler's operation cancellable: when the context ends, the operation
// completes with an error that matches both ErrOperationAborted and the context's error.
func ExampleWithContext() {
	ioc := executor.NewIOContext()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	asyncNever(ioc, completion.WithContext(ctx, completion.Callback(func(err error) {
		fmt.Println(err)
		fmt.Println("aborted:", errors.Is(err, completion.ErrOperationAborted))
		fmt.Println("deadline:", errors.Is(err, context.DeadlineExceeded))
	})))
	ioc.Run()
	// Output:
	// completion: operation aborted: context deadline exceeded
	// aborted: true
	// deadline: true
}

// Await is the synchronous form of an operation: it starts it with a future and waits. The
// executor must be run by another goroutine.
func ExampleAwait() {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc) // keep Run waiting for operations not yet started
	var wg sync.WaitGroup
	wg.Go(func() { ioc.Run() })

	n := completion.Await(func(h completion.Handler[int]) { asyncDouble(ioc, 21, h) })
	fmt.Println(n)

	guard.Reset()
	wg.Wait()
	// Output: 42
}

// asyncPing delivers nil to h on h's associated executor, or the cancellation error if h's context
// is already done: Associated gives both associations with one lookup, as an operation needs them
// when it starts.
func asyncPing(ex executor.Executor, h completion.Handler[error]) {
	hex, ctx := completion.Associated(h, ex)
	var err error
	if ctx != nil && ctx.Err() != nil {
		err = completion.Canceled(ctx)
	}
	hex.Post(func() { h.Complete(err) })
}

// An operation asks its handler where to complete and whether it is cancelled.
func ExampleAssociated() {
	ioc := executor.NewIOContext()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	asyncPing(ioc, completion.WithContext(ctx, completion.Callback(func(err error) {
		fmt.Println(errors.Is(err, completion.ErrOperationAborted), errors.Is(err, context.Canceled))
	})))
	asyncPing(ioc, completion.Callback(func(err error) { fmt.Println(err) }))
	ioc.Run()
	// Output:
	// true true
	// <nil>
}
