package completion

// Await starts an operation with a future as its handler and waits for its result: the
// synchronous form of any asynchronous operation.
//
//	r := completion.Await(func(h completion.Handler[net.IOResult]) { sock.AsyncReadSome(buf, h) })
//
// The operation's executor must be run by another goroutine: Await called from the only goroutine
// running it waits for ever.
func Await[R any](start func(Handler[R])) R {
	f := NewFuture[R]()
	start(f)
	return f.Wait()
}
