package completion

import "github.com/beastgo/beast/executor"

// Work is the outstanding work an asynchronous operation holds while it is in flight: one unit on
// its I/O executor, and one on its handler's associated executor when that is another executor
// (Asio's handler_work). Neither context's Run returns while the operation is pending.
//
// An I/O object makes one with [StartWork] when an operation starts and calls [Work.Finish] once,
// as it hands the handler over: just before calling it when it runs on the I/O executor (Asio
// resets its work guard before the upcall), and once it has been dispatched to its own executor
// otherwise, whose context then counts it as a queued handler. So, as in Asio, the I/O executor's
// context may run out of work, and its Run return, while a handler on another executor has yet to
// run: a handler that starts more work on the I/O context needs a work guard there
// ([executor.MakeWorkGuard]) or a Run called again. The zero Work holds nothing; Finish on it
// panics.
type Work struct {
	io      executor.Executor
	handler executor.Executor
}

// StartWork counts one unit of work on io and, when handlerEx is another executor, one on
// handlerEx. handlerEx is the handler's associated executor (see [Associated]), io when it has none.
func StartWork(io, handlerEx executor.Executor) Work {
	io.OnWorkStarted()
	if handlerEx != io {
		handlerEx.OnWorkStarted()
	}
	return Work{io: io, handler: handlerEx}
}

// IO returns the I/O executor the work is counted on.
func (w Work) IO() executor.Executor { return w.io }

// Handler returns the handler's executor: where the operation's handler must run.
func (w Work) Handler() executor.Executor { return w.handler }

// SameExecutor reports whether the handler runs on the I/O executor, so only one unit is held and
// a completion already running there may call the handler at once.
func (w Work) SameExecutor() bool { return w.handler == w.io }

// Finish releases the work StartWork counted: the handler's executor's unit first, then the I/O
// executor's, so the I/O context cannot run out of work while the handler's is still counted.
func (w Work) Finish() {
	if w.handler != w.io {
		w.handler.OnWorkFinished()
	}
	w.io.OnWorkFinished()
}
