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

// AsyncReadStream reads asynchronously: Asio's AsyncReadStream concept. [AsyncRead] and
// [AsyncReadUntil] read through one, and so does a websocket stream's reading side; a stream that
// only reads (a decompressor, a recording) needs nothing more.
type AsyncReadStream interface {
	// AsyncReadSome reads at least one byte into b, unless b is empty or an error occurs, and
	// completes h with how many. A zero-length read completes at once (posted) with N == 0.
	AsyncReadSome(b []byte, h completion.Handler[IOResult])
	// Executor returns the executor the stream's operations complete on when their handlers have
	// none of their own (Asio's get_executor): the I/O executor of a composed operation over it.
	Executor() executor.Executor
}

// AsyncReadWaiter is a read stream that can wait until it has something to read without reading
// it: Asio's async_wait(wait_read). A reader that would otherwise hold a buffer through a long
// wait (a WebSocket between messages, a server's idle connections) waits with it and takes a
// buffer only when a read can go on at once. [TCPSocket] has it.
type AsyncReadWaiter interface {
	// AsyncWaitRead completes h with nil once a read would not wait: bytes have arrived, or the
	// peer has shut down its side, or the connection has failed (the read then reports which).
	// It consumes nothing. It is the read direction's operation while it waits: a read started
	// meanwhile fails with ErrInProgress. Cancellation and Close end it as they end a read.
	// Readiness is the system's word for it, as with Asio: rarely (an event for bytes an earlier
	// read already took) the read that follows still waits.
	AsyncWaitRead(h completion.Handler[error])
}

// AsyncWriteStream writes asynchronously: Asio's AsyncWriteStream concept.
type AsyncWriteStream interface {
	// AsyncWriteSome writes at least one byte of b, unless b is empty or an error occurs, and
	// completes h with how many.
	AsyncWriteSome(b []byte, h completion.Handler[IOResult])
	// Executor returns the executor the stream's operations complete on when their handlers have
	// none of their own (Asio's get_executor): the I/O executor of a composed operation over it.
	Executor() executor.Executor
}

// AsyncStream is a stream that reads and writes asynchronously: what a websocket stream layers
// over. Both directions complete on the same executor.
type AsyncStream interface {
	AsyncReadStream
	AsyncWriteStream
}

// AsyncBuffersWriteStream is a write stream that can write several buffers in one operation: a
// gather write (writev(2) on a socket), with which a websocket frame's header and payload leave
// in one system call, neither copied into the other. [AsyncWriteBuffers] uses it when the stream
// has it.
type AsyncBuffersWriteStream interface {
	AsyncWriteStream
	// AsyncWriteSomeBuffers writes at least one byte of the concatenation of bufs, unless all are
	// empty or an error occurs, and completes h with how many in all. It never modifies bufs or
	// the slices in it; the caller must leave them untouched until h runs. All buffers empty
	// completes at once (posted) with N == 0.
	AsyncWriteSomeBuffers(bufs [][]byte, h completion.Handler[IOResult])
}
