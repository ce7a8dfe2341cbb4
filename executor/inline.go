package executor

// Inline is an executor that runs every function at once, inside the call that submits it, even
// Post and Defer: Asio's inline_executor. It is for tests, benchmarks and handlers that are known
// to be cheap and reentrant; it must not be an I/O object's executor, because its Post breaks the
// rule that a handler never runs inside the function that starts its operation.
type Inline struct{}

// Post runs f at once.
func (Inline) Post(f func()) { f() }

// Dispatch runs f at once.
func (Inline) Dispatch(f func()) { f() }

// Defer runs f at once.
func (Inline) Defer(f func()) { f() }

// OnWorkStarted does nothing: Inline has no run loop to keep alive.
func (Inline) OnWorkStarted() {}

// OnWorkFinished does nothing.
func (Inline) OnWorkFinished() {}
