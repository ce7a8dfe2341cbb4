package net

import (
	"sync"

	"io"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// AsyncWrite writes all of b to s: Asio's async_write. It is a composed operation made of
// s.AsyncWriteSome calls, and completes h exactly once on h's associated executor (s.Executor()
// when it has none), never inside this call. On a TCPSocket on the epoll reactor it is instead
// one operation of the socket's write direction that stays pending until all of b has gone:
// the same contract, at the cost of one AsyncWriteSome. There even an empty b holds the write
// direction until h runs, as AsyncWriteSome of nothing does: another write started meanwhile
// fails with ErrInProgress.
//
// It completes with N == len(b) and a nil error, or with the number of bytes written before the
// error that stopped it. An empty b completes at once (posted) with N == 0, writing nothing.
//
// The writes run on s.Executor(); one must not start another write on s until h has run. When
// h's context (completion.WithContext) ends, the write in flight is cancelled (if s supports it)
// and AsyncWrite completes with the bytes written so far and the cancellation error.
func AsyncWrite(s AsyncWriteStream, b []byte, h completion.Handler[IOResult]) {
	if a, ok := s.(allWriter); ok {
		a.asyncWriteAll(b, h)
		return
	}
	w := writeAllStates.Get().(*writeAllState)
	w.s, w.cur = s, b
	w.op.Start(s.Executor(), h, w) // the state holds its Op and is its Body, from a pool
}

// allWriter is a stream that writes all of a buffer as one operation of its own, completing h as
// AsyncWrite does: a TCPSocket on the epoll reactor.
type allWriter interface {
	asyncWriteAll(b []byte, h completion.Handler[IOResult])
}

// AsyncWriteBuffers writes all of bufs to s, one after the other: Asio's async_write with a
// buffer sequence. It is AsyncWrite for several buffers: a websocket frame's header and payload,
// a message and its trailer. When s is an [AsyncBuffersWriteStream] it writes them with gather
// writes (on a socket, one system call for all of them when the kernel takes them); otherwise
// buffer after buffer with s.AsyncWriteSome.
//
// It completes h exactly once on h's associated executor (s.Executor() when it has none), never
// inside this call, with N the total length of bufs and a nil error, or with the number of bytes
// written before the first error. Empty buffers are skipped; when all are empty it completes at
// once (posted) with N == 0, writing nothing. It never modifies bufs or the slices in it, which
// the caller must leave untouched until h has run. Cancellation is AsyncWrite's.
func AsyncWriteBuffers(s AsyncWriteStream, bufs [][]byte, h completion.Handler[IOResult]) {
	w := writeAllStates.Get().(*writeAllState)
	w.s, w.rest = s, bufs
	if len(bufs) > 0 {
		w.cur = bufs[0]
	}
	w.op.Start(s.Executor(), h, w) // the state holds its Op and is its Body, from a pool
}

// writeAllState is the state of an AsyncWrite or AsyncWriteBuffers. It comes from writeAllStates
// and goes back when the operation is over (Released), so a write allocates nothing: a server
// writing a response per request, or a handshake per connection, would otherwise leave one behind
// each time. Its Op is kept across uses, as composed.Op allows, rather than zeroed: a Start
// resets it.
type writeAllState struct {
	op composed.Op[IOResult]
	s  AsyncWriteStream
	// cur is what is left to write of the current buffer; rest is the caller's buffers from the
	// current one on (nil for AsyncWrite, whose one buffer is cur), never modified.
	cur   []byte
	rest  [][]byte
	n     int // bytes written so far
	empty int // writes in a row that moved nothing
	write composed.Slot[IOResult]
}

// Step is the body: on entry it starts the first write, on every resumption it counts the bytes
// the write took and writes the rest.
func (w *writeAllState) Step(op *composed.Op[IOResult]) {
	if op.Resumed() {
		res := w.write.Value
		w.n += res.N
		if res.Err != nil {
			op.Complete(IOResult{N: w.n, Err: res.Err})
			return
		}
		if w.empty = nextEmpty(w.empty, res.N); w.empty >= maxEmptySteps {
			op.Complete(IOResult{N: w.n, Err: io.ErrNoProgress})
			return
		}
		w.advance(res.N)
	} else {
		w.advance(0) // past empty buffers at the front
	}
	if len(w.cur) == 0 {
		op.Complete(IOResult{N: w.n})
		return
	}
	if err := op.Err(); err != nil { // cancelled between two writes
		op.Complete(IOResult{N: w.n, Err: err})
		return
	}
	// A gather write takes whole buffers from the caller's slice, which must not be modified: the
	// rest of a buffer written in part goes alone, and the gather resumes after it.
	if len(w.rest) > 1 && len(w.cur) == len(w.rest[0]) {
		if g, ok := w.s.(AsyncBuffersWriteStream); ok {
			g.AsyncWriteSomeBuffers(w.rest, composed.Into(op, &w.write))
			return
		}
	}
	w.s.AsyncWriteSome(w.cur, composed.Into(op, &w.write))
}

// advance moves the position n bytes on, and past the empty buffers after it. A stream that
// reports more bytes than it was given cannot move it past the end.
func (w *writeAllState) advance(n int) {
	for {
		if n < len(w.cur) {
			w.cur = w.cur[n:]
			return
		}
		n -= len(w.cur)
		if len(w.rest) <= 1 {
			w.cur, w.rest = nil, nil
			return
		}
		w.rest = w.rest[1:]
		w.cur = w.rest[0]
	}
}

// writeAllStates holds the states of writes not in flight.
var writeAllStates = sync.Pool{New: func() any { return new(writeAllState) }}

// Released puts the state back in the pool once the write is over (composed.ReleasedBody).
func (w *writeAllState) Released() {
	w.s, w.cur, w.rest, w.n, w.empty = nil, nil, nil, 0, 0
	w.write.Value = IOResult{}
	writeAllStates.Put(w)
}
