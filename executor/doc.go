// Package executor decides where and when handlers run: Asio's io_context, thread_pool, strand,
// inline and system executors, and work guards, with Asio's guarantees in Go.
//
// Start with [IOContext]: post handlers to it, then call [IOContext.Run] from one goroutine (or
// several) to run them. [Strand] serialises handlers over any executor; [ThreadPool] runs them on a
// fixed set of goroutines; [WorkGuard] keeps Run from returning while the program waits for
// something that is not yet queued.
//
// The three ways to submit a handler keep Asio's meaning:
//   - Post queues the handler; it never runs inside the call.
//   - Defer queues the handler as a continuation of the handler now running; it never runs inside
//     the call, and the executor may keep it on the current goroutine instead of handing it to
//     another one.
//   - Dispatch runs the handler inside the call when the caller is already running on the
//     executor (inside Run of that IOContext, inside a handler of that Strand); otherwise it posts.
//
// Go has neither goroutine-local storage nor a public goroutine id, so "the caller is already
// running on this executor" is decided by comparing the caller's goroutine with the few goroutines
// the executor is running handlers on at that moment; see docs/executors.md for how, and for the
// architectures on which Dispatch falls back to Post.
package executor
