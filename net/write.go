package net

import (
	"io"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// AsyncWrite writes all of b to s: Asio's async_write. It is a composed operation made of
// s.AsyncWriteSome calls, and completes h exactly once on h's associated executor (s.Executor()
// when it has none), never inside this call.
//
// It completes with N == len(b) and a nil error, or with the number of bytes written before the
// error that stopped it. An empty b completes at once (posted) with N == 0, writing nothing.
//
// The writes run on s.Executor(); one must not start another write on s until h has run. When
// h's context (completion.WithContext) ends, the write in flight is cancelled (if s supports it)
// and AsyncWrite completes with the bytes written so far and the cancellation error.
func AsyncWrite(s AsyncWriteStream, b []byte, h completion.Handler[IOResult]) {
	w := &writeAllState{s: s, b: b}
	w.op.Start(s.Executor(), h, w) // the state holds its Op and is its Body: one allocation
}

// writeAllState is the state of an AsyncWrite.
type writeAllState struct {
	op    composed.Op[IOResult]
	s     AsyncWriteStream
	b     []byte
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
	}
	if w.n == len(w.b) {
		op.Complete(IOResult{N: w.n})
		return
	}
	if err := op.Err(); err != nil { // cancelled between two writes
		op.Complete(IOResult{N: w.n, Err: err})
		return
	}
	w.s.AsyncWriteSome(w.b[w.n:], composed.Into(op, &w.write))
}
