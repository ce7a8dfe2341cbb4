package executor

// System is an executor whose handlers run on goroutines of their own: Asio's system_executor,
// whose hidden pool is Go's own scheduler. Post and Defer start a goroutine that runs the handler
// and exits, so nothing outlives the handlers it was given; Dispatch runs the handler at once,
// since every goroutine counts as running on the system executor (as every thread does in Asio).
//
// A panic in a posted handler crashes the program, as a panic in any goroutine does.
type System struct{}

// Post runs f on a new goroutine.
func (System) Post(f func()) { go f() }

// Dispatch runs f at once, inside the call.
func (System) Dispatch(f func()) { f() }

// Defer runs f on a new goroutine.
func (System) Defer(f func()) { go f() }

// OnWorkStarted does nothing: the system executor never runs out of goroutines.
func (System) OnWorkStarted() {}

// OnWorkFinished does nothing.
func (System) OnWorkFinished() {}
