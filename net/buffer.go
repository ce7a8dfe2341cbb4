package net

import (
	"errors"
	"math"
)

// ErrBufferOverflow is the error of a [DynamicBuffer.Prepare] that would take the buffer past its
// MaxSize, and of [AsyncReadUntil] when the buffer fills up before the delimiter arrives.
var ErrBufferOverflow = errors.New("net: buffer overflow")

// DynamicBuffer is Beast's DynamicBuffer concept: a buffer that grows on demand up to a maximum
// size, into which readers write through Prepare and Commit and from which consumers read through
// Data and Consume. [AsyncReadUntil] reads into one; [FlatBuffer] and [MultiBuffer] are the two
// implementations.
//
// The bytes of a buffer are in two areas: the readable bytes (Data, Size), and after them the
// writable bytes handed out by the last Prepare. Commit moves writable bytes to the readable area;
// Consume drops readable bytes from the front.
//
// Data returns a sequence of slices, not one slice, because that is what a buffer made of blocks
// can give without copying: Beast's data() is a buffer sequence for the same reason. A reader that
// wants one contiguous slice uses a FlatBuffer, whose Bytes gives it. The sequence has the shape of
// net.Buffers in Go's net package, ready for a gathering write.
//
// A DynamicBuffer is not safe for concurrent use.
type DynamicBuffer interface {
	// Prepare returns n writable bytes after the readable ones, growing the buffer if it must; the
	// readable bytes do not change. It returns ErrBufferOverflow, and changes nothing, when
	// Size()+n > MaxSize(). The slice stays valid, and keeps its place in the buffer, until the
	// next Prepare or Commit; Consume does not disturb it. It panics if n is negative.
	Prepare(n int) ([]byte, error)
	// Commit appends the first n bytes of the last Prepare's slice to the readable bytes, at most
	// as many as were prepared, and ends that Prepare (a second Commit commits nothing).
	Commit(n int)
	// Data returns the readable bytes, in order, as slices of the buffer's own storage (nil when
	// it is empty). The sequence and its slices stay valid until the next Prepare, Commit or
	// Consume; the buffer reuses the storage of the sequence itself, so Data allocates nothing.
	Data() [][]byte
	// Consume drops the first n readable bytes, or all of them if there are fewer.
	Consume(n int)
	// Size returns the number of readable bytes.
	Size() int
	// MaxSize returns the most readable bytes the buffer may hold.
	MaxSize() int
	// Cap returns the bytes of storage the buffer holds (readable, writable and reusable): what it
	// costs in memory, and about as much as it can hold without allocating.
	Cap() int
}

// FlatBuffer is a DynamicBuffer whose readable bytes are always one contiguous slice (Bytes):
// Beast's flat_buffer. When Prepare needs room, it first moves the readable bytes to the front of
// the storage if that makes enough, and otherwise allocates storage of twice the size (or of what
// is needed, if more) and copies them there.
//
// The zero value is an empty buffer with no size limit.
type FlatBuffer struct {
	buf  []byte    // the storage; len(buf) is its capacity
	in   int       // first readable byte
	out  int       // end of the readable bytes, where the prepared bytes start
	prep int       // bytes prepared and not yet committed
	max  int       // the size limit; 0 for none
	seq  [1][]byte // what Data returns, kept here so Data allocates nothing
}

// NewFlatBuffer returns an empty FlatBuffer that holds at most max readable bytes; max <= 0 means
// no limit. It allocates nothing until the first Prepare.
func NewFlatBuffer(max int) *FlatBuffer { return &FlatBuffer{max: max} }

// Prepare returns n writable bytes after the readable ones; see [DynamicBuffer].
func (f *FlatBuffer) Prepare(n int) ([]byte, error) {
	if n < 0 {
		panic("net: FlatBuffer.Prepare with a negative count")
	}
	size := f.out - f.in
	if n > f.MaxSize()-size {
		return nil, ErrBufferOverflow
	}
	switch {
	case len(f.buf)-f.out >= n:
	case len(f.buf)-size >= n:
		// Reclaim the consumed front: a copy of the readable bytes is cheaper than new storage
		// and keeps the memory of a long-lived connection flat.
		copy(f.buf, f.buf[f.in:f.out])
		f.in, f.out = 0, size
	default:
		c := min(max(2*len(f.buf), size+n), f.MaxSize())
		nb := make([]byte, c)
		copy(nb, f.buf[f.in:f.out])
		f.buf, f.in, f.out = nb, 0, size
	}
	f.prep = n
	return f.buf[f.out : f.out+n : f.out+n], nil
}

// Commit makes the first n prepared bytes readable; see [DynamicBuffer].
func (f *FlatBuffer) Commit(n int) {
	if n < 0 {
		panic("net: FlatBuffer.Commit with a negative count")
	}
	f.out += min(n, f.prep)
	f.prep = 0
}

// Data returns the readable bytes as a sequence of at most one slice; see [DynamicBuffer].
func (f *FlatBuffer) Data() [][]byte {
	if f.out == f.in {
		return nil
	}
	f.seq[0] = f.buf[f.in:f.out:f.out]
	return f.seq[:]
}

// Bytes returns the readable bytes, valid until the next Prepare, Commit or Consume.
func (f *FlatBuffer) Bytes() []byte { return f.buf[f.in:f.out:f.out] }

// Consume drops the first n readable bytes; see [DynamicBuffer].
func (f *FlatBuffer) Consume(n int) {
	if n < 0 {
		panic("net: FlatBuffer.Consume with a negative count")
	}
	f.in += min(n, f.out-f.in)
	if f.in == f.out && f.prep == 0 {
		// Empty: start again at the front, so the next Prepare needs neither a move nor new
		// storage. Not while bytes are prepared: they must stay where the reader writes them.
		f.in, f.out = 0, 0
	}
}

// Size returns the number of readable bytes.
func (f *FlatBuffer) Size() int { return f.out - f.in }

// MaxSize returns the most readable bytes the buffer may hold (math.MaxInt when unlimited).
func (f *FlatBuffer) MaxSize() int {
	if f.max <= 0 {
		return math.MaxInt
	}
	return f.max
}

// Cap returns the size of the buffer's storage.
func (f *FlatBuffer) Cap() int { return len(f.buf) }

// minBlock is the smallest block a MultiBuffer allocates, so that a run of small Prepares does not
// make a block each.
const minBlock = 512

// MultiBuffer is a DynamicBuffer made of a list of blocks: Beast's multi_buffer. When Prepare
// needs room it adds a block, so committed bytes are never copied and a large buffer grows without
// a large reallocation; the price is that Data may return several slices. A new block is at least
// as large as the readable bytes (so the storage grows geometrically), at least 512 bytes, and at
// least as large as the Prepare needs.
//
// It keeps one block that Consume emptied, for the next Prepare that needs one, so a buffer used
// as a window that slides over a stream allocates nothing once it has reached its size.
//
// The zero value is an empty buffer with no size limit.
type MultiBuffer struct {
	blocks []block  // in order; every block but the last holds readable bytes
	size   int      // readable bytes in all blocks
	prep   int      // bytes prepared (always in the last block, after its readable ones)
	max    int      // the size limit; 0 for none
	spare  []byte   // an emptied block kept for reuse
	seq    [][]byte // what Data returns, reused so Data allocates nothing
}

// block is one block of storage; b[lo:hi] are its readable bytes.
type block struct {
	b      []byte
	lo, hi int
}

// NewMultiBuffer returns an empty MultiBuffer that holds at most max readable bytes; max <= 0
// means no limit. It allocates nothing until the first Prepare.
func NewMultiBuffer(max int) *MultiBuffer { return &MultiBuffer{max: max} }

// Prepare returns n writable bytes after the readable ones, in one block; see [DynamicBuffer].
func (m *MultiBuffer) Prepare(n int) ([]byte, error) {
	if n < 0 {
		panic("net: MultiBuffer.Prepare with a negative count")
	}
	if n > m.MaxSize()-m.size {
		return nil, ErrBufferOverflow
	}
	m.prep = 0
	if k := len(m.blocks); k > 0 {
		last := &m.blocks[k-1]
		if last.lo == last.hi {
			last.lo, last.hi = 0, 0
		}
		if len(last.b)-last.hi >= n {
			m.prep = n
			return last.b[last.hi : last.hi+n : last.hi+n], nil
		}
		if last.hi == 0 { // empty and too small: replace it rather than keep an empty block
			m.recycle(last.b)
			m.blocks = m.blocks[:k-1]
		}
	}
	b := m.newBlock(n)
	m.blocks = append(m.blocks, block{b: b})
	m.prep = n
	return b[:n:n], nil
}

// newBlock returns storage for a block that must hold n bytes: the spare if it is large enough.
func (m *MultiBuffer) newBlock(n int) []byte {
	if len(m.spare) >= n {
		b := m.spare
		m.spare = nil
		return b
	}
	room := m.MaxSize() - m.size
	return make([]byte, max(n, min(max(minBlock, m.size), room)))
}

// recycle keeps b as the spare if it is larger than the one kept.
func (m *MultiBuffer) recycle(b []byte) {
	if len(b) > len(m.spare) {
		m.spare = b
	}
}

// Commit makes the first n prepared bytes readable; see [DynamicBuffer].
func (m *MultiBuffer) Commit(n int) {
	if n < 0 {
		panic("net: MultiBuffer.Commit with a negative count")
	}
	n = min(n, m.prep)
	m.prep = 0
	if n == 0 {
		return
	}
	m.blocks[len(m.blocks)-1].hi += n
	m.size += n
}

// Data returns the readable bytes, one slice per block that holds some; see [DynamicBuffer].
func (m *MultiBuffer) Data() [][]byte {
	if m.size == 0 {
		return nil
	}
	m.seq = m.seq[:0]
	for _, b := range m.blocks {
		if b.hi > b.lo {
			m.seq = append(m.seq, b.b[b.lo:b.hi:b.hi])
		}
	}
	return m.seq
}

// Consume drops the first n readable bytes, and the blocks they empty; see [DynamicBuffer].
func (m *MultiBuffer) Consume(n int) {
	if n < 0 {
		panic("net: MultiBuffer.Consume with a negative count")
	}
	n = min(n, m.size)
	m.size -= n
	for n > 0 {
		b := &m.blocks[0]
		k := min(n, b.hi-b.lo)
		b.lo += k
		n -= k
		if b.lo < b.hi {
			break
		}
		if len(m.blocks) == 1 {
			// The last block holds the prepared bytes, if any, so it stays; when there are none
			// it starts again at the front.
			if m.prep == 0 {
				b.lo, b.hi = 0, 0
			}
			break
		}
		m.recycle(b.b)
		k = copy(m.blocks, m.blocks[1:])
		m.blocks[k] = block{} // do not keep the storage reachable from the unused tail
		m.blocks = m.blocks[:k]
	}
}

// Size returns the number of readable bytes.
func (m *MultiBuffer) Size() int { return m.size }

// MaxSize returns the most readable bytes the buffer may hold (math.MaxInt when unlimited).
func (m *MultiBuffer) MaxSize() int {
	if m.max <= 0 {
		return math.MaxInt
	}
	return m.max
}

// Cap returns the bytes of storage the buffer holds: its blocks and the spare block.
func (m *MultiBuffer) Cap() int {
	c := len(m.spare)
	for _, b := range m.blocks {
		c += len(b.b)
	}
	return c
}

var (
	_ DynamicBuffer = (*FlatBuffer)(nil)
	_ DynamicBuffer = (*MultiBuffer)(nil)
)
