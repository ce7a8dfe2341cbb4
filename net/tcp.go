package net

// The declarations shared by the Linux reactor path (the *_linux.go files) and the portable path
// over Go's net package (the *_portable.go files), so that both have one exported API.

// AcceptResult is the result of an accept: the new connection, or the error.
type AcceptResult struct {
	Socket *TCPSocket
	Err    error
}

// SetErr sets Err (completion.ErrorSetter).
func (r *AcceptResult) SetErr(err error) { r.Err = err }

// ShutdownHow says which direction Shutdown ends.
type ShutdownHow int

// The directions of Shutdown. Their values are those of shutdown(2)'s SHUT_RD, SHUT_WR and
// SHUT_RDWR.
const (
	ShutdownRead  ShutdownHow = 0
	ShutdownWrite ShutdownHow = 1
	ShutdownBoth  ShutdownHow = 2
)
