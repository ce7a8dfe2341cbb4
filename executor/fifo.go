package executor

import "sync"

// chunkSize is the number of handlers one chunk of a fifo holds. 256 pointers is 2 KiB: large
// enough that a burst of posts touches the allocator once per 256 handlers, small enough that an
// idle context holds little memory.
const chunkSize = 256

type chunk struct {
	fns  [chunkSize]func()
	next *chunk
}

// chunks recycles emptied chunks across every fifo in the process, so a steady stream of posts
// allocates nothing and a burst of hundreds of thousands of posts never copies a growing slice.
var chunks = sync.Pool{New: func() any { return new(chunk) }}

// fifo is an unbounded first-in first-out queue of handlers made of linked fixed-size chunks.
// It is not safe for concurrent use; its owner locks it. An emptied fifo keeps its last chunk, so
// a queue that is filled and emptied one handler at a time (a chain of posts) never touches the
// pool; owners that go idle for long call release to give it back.
type fifo struct {
	head, tail *chunk
	hi, ti     int // next slot to pop in head, next slot to fill in tail
	n          int
}

func (q *fifo) len() int { return q.n }

func (q *fifo) push(f func()) {
	if q.tail == nil {
		c := chunks.Get().(*chunk)
		q.head, q.tail, q.hi, q.ti = c, c, 0, 0
	} else if q.ti == chunkSize {
		c := chunks.Get().(*chunk)
		q.tail.next = c
		q.tail, q.ti = c, 0
	}
	q.tail.fns[q.ti] = f
	q.ti++
	q.n++
}

// pop removes and returns the oldest handler. The queue must not be empty.
func (q *fifo) pop() func() {
	c := q.head
	f := c.fns[q.hi]
	c.fns[q.hi] = nil // let the handler's closure be collected once it has run
	q.hi++
	q.n--
	if q.n == 0 {
		q.hi, q.ti = 0, 0
	} else if q.hi == chunkSize {
		q.head, q.hi = c.next, 0
		c.next = nil
		chunks.Put(c)
	}
	return f
}

// release returns the chunk an empty queue keeps to the pool.
func (q *fifo) release() {
	if q.head != nil {
		q.head.next = nil
		chunks.Put(q.head)
	}
	*q = fifo{}
}

// pushFront puts the handlers of front, in order, ahead of everything in q, and empties front.
func (q *fifo) pushFront(front *fifo) {
	if front.n == 0 {
		return
	}
	for q.n > 0 {
		front.push(q.pop())
	}
	*q, *front = *front, fifo{}
}

// append moves every handler of other, in order, to the back of q, and empties other.
func (q *fifo) append(other *fifo) {
	if q.n == 0 {
		q.release()
		*q, *other = *other, fifo{}
		return
	}
	for other.n > 0 {
		q.push(other.pop())
	}
}

// take moves up to max handlers from the front of q to the back of dst.
func (q *fifo) take(dst *fifo, max int) {
	if max >= q.n && dst.n == 0 {
		// All of it into an empty batch: swap the two, each keeping its chunks, rather than move
		// the handlers one by one (a sixth of a post-then-run's time).
		*q, *dst = *dst, *q
		return
	}
	for ; max > 0 && q.n > 0; max-- {
		dst.push(q.pop())
	}
}
