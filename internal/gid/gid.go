// Package gid identifies the running goroutine cheaply, so that an executor can tell whether its
// caller is one of the goroutines running its handlers (Asio's running_in_this_thread).
//
// Go has no goroutine-local storage and no public goroutine id. Executors do not need either:
// they only compare the caller against the few goroutines they are running right now. Current
// returns the address of the runtime's descriptor of the calling goroutine, read in one
// instruction from the register or thread-local slot where the runtime keeps it. The value is
// unique among live goroutines; a descriptor may be reused after its goroutine exits, which is
// harmless here because executors forget a goroutine before it leaves their run loop.
//
// On architectures without the assembly stub, Current returns 0 ("unknown") and executors fall
// back to the conservative answer: Dispatch posts and RunningInThisThread reports false.
package gid

// Known reports whether Current identifies goroutines on this architecture.
const Known = known
