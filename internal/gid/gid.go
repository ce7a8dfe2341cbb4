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
// The read is assembly for the gc compiler on amd64 and arm64. Elsewhere (another architecture,
// gccgo, or a build with the tag beastgo_nogid, which forces this fallback so that it can be
// tested anywhere), and wherever the self-check at start-up finds two live goroutines without
// distinct identifiers, Current returns 0 ("unknown") and executors give the conservative
// answers: Dispatch posts and RunningInThisThread reports false.
package gid

// Known reports whether Current identifies goroutines in this program. It is set once, when the
// package initialises, and never changes afterwards.
var Known = asm && identifiesGoroutines(current)

// Current returns an identifier of the calling goroutine, unique among live goroutines and the
// same for the whole life of the goroutine, or 0 when goroutines cannot be identified (Known is
// false).
func Current() uintptr {
	if !Known {
		return 0
	}
	return current()
}

// identifiesGoroutines is the self-check: it reports whether read gives two live goroutines
// distinct non-zero identifiers, and one goroutine the same identifier each time. It guards
// against a runtime that keeps its goroutine descriptor somewhere else than the assembly reads.
func identifiesGoroutines(read func() uintptr) bool {
	mine := read()
	theirs := make(chan uintptr)
	go func() { theirs <- read() }() // alive until the value is received
	other := <-theirs
	return mine != 0 && other != 0 && mine != other && read() == mine
}
