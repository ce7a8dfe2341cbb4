// Package composed builds asynchronous operations out of other asynchronous operations: Asio's
// async_compose, spawn and parallel_group, and Beast's soft mutex.
//
// [Start] runs an operation written as a state machine: its body starts an inner operation with a
// [Slot] as that operation's handler, returns, and is entered again when the inner operation
// completes; it finishes with [Op.Complete]. A state that keeps its [Op] and is its own [Body]
// starts it with [Op.Start], and is then the whole operation in one allocation, or none when it is
// kept and started again. [Spawn] runs an operation written as straight-line Go that awaits inner
// operations with [Await]. [AllOf] and [FirstOf] run several operations at once. A [Mutex] is a
// resource one operation holds while the others wait for their turn.
//
// # Where the steps run
//
// As in Asio, a composed operation's intermediate steps run on the final handler's associated
// executor, or on the I/O executor when the handler has none: the step executor. The handler of
// every inner operation (a Slot from [Into]) has the step executor as its associated executor, so
// an inner operation dispatches its completion straight there. The step executor must run one
// handler at a time, and either of Beast's idioms gives one:
//
//   - the I/O object on an executor.Strand (its executor is the I/O executor), or
//   - the handler bound to a strand with completion.Bind (Asio's bind_executor).
//
// An IOContext with one Run goroutine is an implicit strand and needs neither. Where nothing
// serialises the steps (a ThreadPool of several goroutines, an IOContext with several Run
// goroutines, asked through executor.Serial), Start panics before anything runs, naming the fix.
// An executor written outside beastgo is asked too: it answers through executor.SerialExecutor,
// or executor.Wrapper to be judged by the executor it wraps; one that answers neither is trusted
// to run one handler at a time, as only it can know.
// A step that comes through the executor's queue (a posted step, a completion from another
// goroutine) asks again, and so does the next Start, so a context that gains a second Run
// goroutine under a running operation panics rather than letting its steps race; a completion an
// I/O object dispatches straight onto the step executor lands without asking, to keep a step
// cheap. Where goroutines cannot be told apart (the beastgo_nogid build, architectures without
// the goroutine-identity read), only Start asks: a handler's own Poll would look like a second
// Run goroutine. [Spawn] runs its body's steps on the executor it is given, as Asio's spawn does,
// with the same checks.
//
// # Guarantees
//
// Every composed operation keeps Asio's guarantees:
//  1. The final handler is never called inside the function that started the operation: a
//     completion during the operation's first step is posted through the I/O executor, and then
//     dispatched to the handler's; a later one is dispatched to the handler's executor.
//  2. While the operation is in flight it counts outstanding work on the I/O executor and on the
//     handler's executor, so neither context's Run returns under it.
//  3. Its steps run on the step executor, one at a time, never concurrently with that executor's
//     other handlers when it is a strand (above).
//  4. A chain of inner operations that complete at once does not grow the stack: inner operations
//     post their completions, and a resumption that arrives while the body is still running is
//     posted behind it.
//  5. The handler's context (completion.WithContext) is the context of every inner operation, so
//     cancelling it reaches the inner operation in flight; a context already done when the
//     operation starts completes it at once (posted) without running its body.
//
// docs/composed.md is the tutorial.
package composed
