package net

import (
	"sync"

	"bytes"
	"io"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// Read sizes of AsyncReadUntil, as Asio's read_until chooses them: at least readUntilMin (or the
// room the buffer has without growing, if more), at most readUntilMax, and never past MaxSize.
const (
	readUntilMin = 512
	readUntilMax = 65536
)

// AsyncReadUntil reads from s into buf until buf's readable bytes contain delim: Asio's
// async_read_until with a dynamic buffer. It is a composed operation made of s.AsyncReadSome calls
// into buf.Prepare'd bytes, and completes h exactly once on h's associated executor (s.Executor()
// when it has none), never inside this call.
//
// On success N is the number of readable bytes of buf up to and including the first delim
// (counting bytes that were in buf before the call), and buf may hold more bytes after it, which
// the next call finds. If delim is already in buf, or delim is empty (N == 0), it completes at
// once (posted) without reading.
//
// On failure N is the number of bytes this call added to buf, all of which stay in buf, and the
// error is ErrBufferOverflow when buf reached its MaxSize without delim, io.EOF when the stream
// ended first, or the stream's error. (Asio reports N == 0 on every failure; the count of bytes
// moved is more use to a caller that must account for them, and the others' helpers report it.)
//
// The reads run on s.Executor(); one must not start another read on s, or touch buf, until h has
// run. When h's context (completion.WithContext) ends, the read in flight is cancelled and
// AsyncReadUntil completes with the cancellation error.
func AsyncReadUntil(s AsyncReadStream, buf DynamicBuffer, delim []byte, h completion.Handler[IOResult]) {
	r := readUntilStates.Get().(*readUntilState)
	r.s, r.buf, r.delim = s, buf, delim
	r.op.Start(s.Executor(), h, r) // the state holds its Op and is its Body, from a pool
}

// readUntilState is the state of an AsyncReadUntil.
type readUntilState struct {
	op    composed.Op[IOResult]
	s     AsyncReadStream
	buf   DynamicBuffer
	delim []byte
	from  int // where the next search starts: no delim begins before it
	n     int // bytes this operation added to buf
	empty int // reads in a row that moved nothing
	read  composed.Slot[IOResult]
}

// Step is the body: it searches buf for delim, and reads more into buf while it is not there.
func (r *readUntilState) Step(op *composed.Op[IOResult]) {
	var readErr error
	if op.Resumed() {
		res := r.read.Value
		r.buf.Commit(res.N)
		r.n += res.N
		readErr = res.Err
		if r.empty = nextEmpty(r.empty, res.N); r.empty >= maxEmptySteps && readErr == nil {
			readErr = io.ErrNoProgress
		}
	}
	// Search what arrived even when the read failed: a delimiter that came with io.EOF is a
	// success, as a full buffer is for AsyncRead.
	if i := r.search(); i >= 0 {
		op.Complete(IOResult{N: i + len(r.delim)})
		return
	}
	if readErr != nil {
		op.Complete(IOResult{N: r.n, Err: readErr})
		return
	}
	if err := op.Err(); err != nil { // cancelled between two reads
		op.Complete(IOResult{N: r.n, Err: err})
		return
	}
	size := r.buf.Size()
	want := min(max(readUntilMin, r.buf.Cap()-size), readUntilMax, r.buf.MaxSize()-size)
	if want == 0 {
		op.Complete(IOResult{N: r.n, Err: ErrBufferOverflow})
		return
	}
	p, err := r.buf.Prepare(want)
	if err != nil { // a buffer that refuses less than MaxSize allows
		op.Complete(IOResult{N: r.n, Err: err})
		return
	}
	r.s.AsyncReadSome(p, composed.Into(op, &r.read))
}

// search looks for delim in the bytes of buf not searched yet, and returns its offset or -1. Only
// the last len(delim)-1 bytes searched can start a match that more data completes, so the next
// search starts there: each byte is looked at a bounded number of times.
func (r *readUntilState) search() int {
	if len(r.delim) == 0 {
		return 0
	}
	data := r.buf.Data()
	if i := indexSeq(data, r.delim, r.from); i >= 0 {
		return i
	}
	r.from = max(0, r.buf.Size()-len(r.delim)+1)
	return -1
}

// indexSeq returns the offset, in the concatenation of seq, of the first delim that starts at or
// after from, or -1. delim must not be empty.
func indexSeq(seq [][]byte, delim []byte, from int) int {
	base := 0
	for i, b := range seq {
		end := base + len(b)
		if from < end {
			start := max(from-base, 0)
			// A match inside b comes before any match that starts in b's last len(delim)-1
			// bytes and runs into the next slices, which can start no earlier.
			if j := bytes.Index(b[start:], delim); j >= 0 {
				return base + start + j
			}
			for p := max(start, len(b)-len(delim)+1); p < len(b); p++ {
				if matchAcross(seq[i:], p, delim) {
					return base + p
				}
			}
		}
		base = end
	}
	return -1
}

// matchAcross reports whether delim starts at offset p of seq[0] and continues through the slices
// after it.
func matchAcross(seq [][]byte, p int, delim []byte) bool {
	for _, b := range seq {
		k := min(len(b)-p, len(delim))
		if !bytes.Equal(b[p:p+k], delim[:k]) {
			return false
		}
		delim = delim[k:]
		if len(delim) == 0 {
			return true
		}
		p = 0
	}
	return false
}

// readUntilStates holds the states of AsyncReadUntils not in flight: a read allocates nothing, as a
// write does not (see writeAllState).
var readUntilStates = sync.Pool{New: func() any { return new(readUntilState) }}

// Released puts the state back in the pool once the read is over (composed.ReleasedBody).
func (r *readUntilState) Released() {
	r.s, r.buf, r.delim, r.from, r.n, r.empty = nil, nil, nil, 0, 0, 0
	r.read.Value = IOResult{}
	readUntilStates.Put(r)
}
