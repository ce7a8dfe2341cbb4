// Package completion delivers the results of asynchronous operations: Asio's completion handlers
// and tokens in Go.
//
// Every asynchronous operation in beastgo takes a [Handler] of its result type and returns nothing;
// the handler receives the result exactly once. Go methods cannot have type parameters, so an
// operation cannot return a type chosen by its token, as Asio's async_result does; instead each
// token is a value that satisfies Handler:
//
//	sock.AsyncReadSome(buf, completion.Callback(func(r net.IOResult) { ... })) // a callback
//	f := completion.NewFuture[net.IOResult]()                                  // a future
//	sock.AsyncReadSome(buf, f); r := f.Wait()
//	sock.AsyncReadSome(buf, completion.Chan(ch))                               // a channel
//	sock.AsyncReadSome(buf, completion.Detached[net.IOResult]())               // nothing
//
// A handler may carry associated characteristics, found by the operation through
// [AssociatedExecutor] and [AssociatedContext]: the executor its completion runs on ([Bind], Asio's
// bind_executor) and a context.Context whose end cancels the operation ([WithContext], Asio's
// bind_cancellation_slot). Binders forward the characteristics they do not set, so binding one
// never loses the other (Asio's lost-strand trap).
//
// Results with more than one value are one small struct, such as net.IOResult{N, Err}, so every
// operation has a single result type R; [Fail] builds an R that carries an error.
package completion
