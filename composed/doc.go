// Package composed builds asynchronous operations out of other asynchronous operations: Asio's
// async_compose, spawn and parallel_group.
//
// [Start] runs an operation written as a state machine: its body starts an inner operation with a
// [Slot] as that operation's handler, returns, and is entered again, on the I/O executor, when
// the inner operation completes; it finishes with [Op.Complete]. A state that keeps its [Op] and is
// its own [Body] starts it with [Op.Start], and is then the whole operation in one allocation, or
// none when it is kept and started again. [Spawn] runs an operation written as straight-line Go
// that awaits inner operations with [Await]. [AllOf] and [FirstOf] run several operations at once.
// An inner operation that completes on its handler's executor may use [Invoke].
//
// Every composed operation keeps Asio's guarantees:
//  1. The final handler is never called inside the function that started the operation: a
//     completion during the operation's first step is posted; a later one is dispatched to the
//     handler's associated executor.
//  2. While the operation is in flight it counts outstanding work on the I/O executor and on the
//     handler's executor, so an IOContext's Run does not return under it.
//  3. Intermediate steps run on the I/O executor (a strand keeps them serialised with its other
//     handlers). The I/O executor must run one handler at a time, a Strand or an IOContext with
//     one Run goroutine, as Asio requires a strand for composed operations on a multi-threaded
//     io_context: on a pool, an inner operation could resume the body while it still runs.
//  4. A chain of inner operations that complete at once does not grow the stack: inner operations
//     post their completions, and a resumption that arrives while the body is still running is
//     posted behind it.
//  5. The handler's context (completion.WithContext) is the context of every inner operation, so
//     cancelling it reaches the inner operation in flight; a context already done when the
//     operation starts completes it at once (posted) without running its body.
//
// docs/composed.md is the tutorial.
package composed
