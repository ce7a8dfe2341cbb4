package net

import (
	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// IOResult is the result of a read or write: how many bytes moved, and the error that ended the
// operation, if any (io.EOF at the end of a stream). N may be positive with a non-nil Err.
type IOResult struct {
	N   int
	Err error
}

// SetErr sets Err; it lets generic code build a failed IOResult (completion.Fail).
func (r *IOResult) SetErr(err error) { r.Err = err }

// AsyncReadStream reads asynchronously: Asio's AsyncReadStream concept.
type AsyncReadStream interface {
	// AsyncReadSome reads at least one byte into b, unless b is empty or an error occurs, and
	// completes h with how many. A zero-length read completes at once (posted) with N == 0.
	AsyncReadSome(b []byte, h completion.Handler[IOResult])
}

// AsyncWriteStream writes asynchronously: Asio's AsyncWriteStream concept.
type AsyncWriteStream interface {
	// AsyncWriteSome writes at least one byte of b, unless b is empty or an error occurs, and
	// completes h with how many.
	AsyncWriteSome(b []byte, h completion.Handler[IOResult])
}

// AsyncStream is a stream that reads and writes asynchronously, and says which executor its
// operations complete on when their handlers have none of their own.
type AsyncStream interface {
	AsyncReadStream
	AsyncWriteStream
	Executor() executor.Executor
}
