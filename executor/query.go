package executor

// The queries of this file answer, for any executor, what code built on executors needs to know:
// which IOContext runs its handlers (Asio's query(ex, execution::context)), whether its Post
// breaks Post's contract, and whether it runs one handler at a time. beastgo's own executors
// answer them directly; an executor a user writes (one that wraps another to trace or measure it)
// answers them by implementing [ContextExecutor] or [SerialExecutor], or simply by wrapping:
// through [Wrapper], the queries look at the executor it wraps.

// Wrapper is implemented by an executor that runs its handlers on another one: Asio's
// get_inner_executor. [Strand] is one; so is a user's tracing executor that forwards to an inner
// executor. The queries below look through it to the inner executor for what it does not say
// itself.
type Wrapper interface {
	Inner() Executor
}

// ContextExecutor is implemented by an executor that knows which IOContext runs its handlers.
// ExecutionContext returns nil when none does.
type ContextExecutor interface {
	ExecutionContext() *IOContext
}

// SerialExecutor is implemented by an executor that knows whether it runs one handler at a time.
type SerialExecutor interface {
	Serial() bool
}

// ExecutionContext returns the IOContext whose run calls run ex's handlers: ex itself, the context
// under a strand, whatever a [ContextExecutor] says, or the context under a [Wrapper]. It returns
// nil for executors that run handlers elsewhere (System, Inline) or that do not say.
//
// The net package attaches an I/O object's reactor to this context, so that the context's Run
// goroutines serve its sockets and timers with no goroutine of their own.
func ExecutionContext(ex Executor) *IOContext {
	for {
		switch e := ex.(type) {
		case *IOContext:
			return e
		case *Strand:
			ex = e.inner
		case ContextExecutor:
			return e.ExecutionContext()
		case Wrapper:
			ex = e.Inner()
		default:
			return nil
		}
	}
}

// PostsInline reports whether ex runs what is posted to it inside the call to Post: [Inline], or a
// strand or [Wrapper] over it. Such an executor breaks [Executor]'s contract for Post (Asio's
// inline_executor is blocking.always for the same reason) and cannot be the executor of an I/O
// object or of a composed operation's steps.
func PostsInline(ex Executor) bool {
	for {
		switch e := ex.(type) {
		case Inline, *Inline:
			return true
		case *Strand:
			ex = e.inner
		case *IOContext:
			return false
		case Wrapper:
			ex = e.Inner()
		default:
			return false
		}
	}
}

// Serial reports whether ex runs one handler at a time at present: a [Strand] always; an
// [IOContext] while at most one goroutine is inside its run calls (the implicit strand of a
// single-threaded io_context), and never if it was made with a concurrency hint above one
// ([NewIOContextConcurrency], a [ThreadPool] of several goroutines); a [SerialExecutor] when it says so; a [Wrapper] when its inner
// executor is serial. Inline is serial only as far as its callers are. System is never serial.
// An executor that says nothing is trusted to be serial: only the executor knows.
//
// An IOContext's answer can change as goroutines enter and leave Run, so code that relies on it
// checks it each time it relies on it.
func Serial(ex Executor) bool {
	for {
		switch e := ex.(type) {
		case *Strand:
			return true
		case *IOContext:
			return e.serial()
		case System, *System:
			return false
		case SerialExecutor:
			return e.Serial()
		case Wrapper:
			ex = e.Inner()
		default:
			return true
		}
	}
}

// serial reports whether at most one goroutine is inside c's run calls (a handler's nested Poll
// is the same goroutine).
func (c *IOContext) serial() bool {
	if c.concurrent {
		return false
	}
	if c.solo.Load() != nil {
		return true
	}
	rs := c.runners.Load()
	if rs == nil || len(*rs) == 0 {
		return true
	}
	g := (*rs)[0].g
	if g == 0 { // goroutines cannot be told apart here: only a lone runner is known to be serial
		return len(*rs) == 1
	}
	for _, r := range (*rs)[1:] {
		if r.g != g {
			return false
		}
	}
	return true
}
