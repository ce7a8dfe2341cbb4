package net

import (
	"sync"

	"io"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// maxEmptySteps is how many inner operations in a row may move no byte, without an error, before
// a helper gives up with io.ErrNoProgress. A stream that keeps doing that breaks its contract;
// looping on it for ever would hide the bug (bufio.Reader gives up after 100 too).
const maxEmptySteps = 100

// AsyncRead reads from s until b is full: Asio's async_read. It is a composed operation made of
// s.AsyncReadSome calls, and completes h exactly once on h's associated executor (s.Executor()
// when it has none), never inside this call.
//
// It completes with N == len(b) and a nil error when b is full, even if the stream reported an
// error with the last bytes. Otherwise N is the number of bytes read before the error that
// stopped it, and the error follows io.ReadFull rather than Asio (which says eof in both cases):
// io.EOF if the stream ended before the first byte, io.ErrUnexpectedEOF if it ended after some.
// An empty b completes at once (posted) with N == 0, reading nothing.
//
// The reads run on s.Executor(); one must not start another read on s until h has run. When h's
// context (completion.WithContext) ends, the read in flight is cancelled and AsyncRead completes
// with the bytes read so far and the cancellation error.
func AsyncRead(s AsyncReadStream, b []byte, h completion.Handler[IOResult]) {
	r := readFullStates.Get().(*readFullState)
	r.s, r.b = s, b
	r.op.Start(s.Executor(), h, r) // the state holds its Op and is its Body, from a pool
}

// readFullState is the state of an AsyncRead.
type readFullState struct {
	op    composed.Op[IOResult]
	s     AsyncReadStream
	b     []byte
	n     int // bytes read so far
	empty int // reads in a row that moved nothing
	read  composed.Slot[IOResult]
}

// Step is the body: on entry it starts the first read, on every resumption it counts the bytes
// the read delivered and reads again until b is full.
func (r *readFullState) Step(op *composed.Op[IOResult]) {
	if op.Resumed() {
		res := r.read.Value
		r.n += res.N
		if r.n < len(r.b) && res.Err != nil {
			op.Complete(IOResult{N: r.n, Err: fullReadError(res.Err, r.n)})
			return
		}
		if r.empty = nextEmpty(r.empty, res.N); r.empty >= maxEmptySteps {
			op.Complete(IOResult{N: r.n, Err: io.ErrNoProgress})
			return
		}
	}
	if r.n == len(r.b) {
		op.Complete(IOResult{N: r.n})
		return
	}
	if err := op.Err(); err != nil { // cancelled between two reads
		op.Complete(IOResult{N: r.n, Err: err})
		return
	}
	r.s.AsyncReadSome(r.b[r.n:], composed.Into(op, &r.read))
}

// fullReadError turns the end of the stream into io.ReadFull's errors.
func fullReadError(err error, n int) error {
	if err == io.EOF && n > 0 {
		return io.ErrUnexpectedEOF
	}
	return err
}

// nextEmpty returns the count of empty steps in a row after a step that moved n bytes.
func nextEmpty(empty, n int) int {
	if n > 0 {
		return 0
	}
	return empty + 1
}

// readFullStates holds the states of AsyncReads not in flight: a read allocates nothing, as a
// write does not (see writeAllState).
var readFullStates = sync.Pool{New: func() any { return new(readFullState) }}

// Released puts the state back in the pool once the read is over (composed.ReleasedBody).
func (r *readFullState) Released() {
	r.s, r.b, r.n, r.empty = nil, nil, 0, 0
	r.read.Value = IOResult{}
	readFullStates.Put(r)
}
