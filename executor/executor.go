package executor

// Executor runs handlers: the Go form of Asio's executor concept. Every executor in beastgo, and
// every executor a user writes for it, satisfies it.
//
// Executors are compared with == (a composed operation skips counting work twice when its handler's
// executor is its I/O executor), so an implementation must be a comparable type: a pointer, or a
// struct of comparable fields, as Asio requires executors to be equality-comparable.
//
// One executor in this package breaks the contract of Post and Defer: [Inline] runs everything at
// once, as Asio's inline_executor does (it is blocking.always). It is for tests and benchmarks; it
// cannot be the executor of an I/O object or of a composed operation, which check [PostsInline].
//
// An executor written outside this package, one that wraps another to trace or measure it, says
// what it is through the interfaces of the queries [ExecutionContext], [PostsInline] and [Serial]
// ([Wrapper], [ContextExecutor], [SerialExecutor]), so that sockets attach to its context's reactor
// and composed operations know whether it serialises their steps.
type Executor interface {
	// Post queues f to run later. f never runs inside the call to Post.
	Post(f func())
	// Dispatch runs f inside the call when the caller is already running on this executor, and
	// otherwise behaves as Post.
	Dispatch(f func())
	// Defer queues f as a continuation of the handler now running: f never runs inside the call,
	// and the executor may run it on the current goroutine once the current handler returns
	// rather than wake another one.
	Defer(f func())
	// OnWorkStarted counts one unit of outstanding work: something that will post a handler later
	// (a pending operation, a work guard). A context does not run out of work while any is counted.
	OnWorkStarted()
	// OnWorkFinished releases one unit counted by OnWorkStarted.
	OnWorkFinished()
}
