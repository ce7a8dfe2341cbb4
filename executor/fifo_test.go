package executor

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// record pushes handlers that append their number to out.
func record(q *fifo, out *[]int, from, to int) {
	for i := from; i < to; i++ {
		q.push(func() { *out = append(*out, i) })
	}
}

func drain(q *fifo) {
	for q.len() > 0 {
		q.pop()()
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestFifoOrderAcrossChunks(t *testing.T) {
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 7, 300_000} {
		var q fifo
		var got []int
		record(&q, &got, 0, n)
		if q.len() != n {
			t.Fatalf("len %d after %d pushes", q.len(), n)
		}
		drain(&q)
		if diff := cmp.Diff(seq(0, n), got); n > 0 && diff != "" {
			t.Fatalf("n=%d: order (-want +got):\n%.500s", n, diff)
		}
	}
}

func TestFifoInterleavedKeepsOneChunk(t *testing.T) {
	var q fifo
	var got []int
	for i := range 1000 {
		record(&q, &got, i, i+1)
		drain(&q)
	}
	if diff := cmp.Diff(seq(0, 1000), got); diff != "" {
		t.Fatalf("order (-want +got):\n%.500s", diff)
	}
	if q.head == nil || q.head != q.tail {
		t.Fatal("an emptied fifo should keep exactly its last chunk")
	}
	q.release()
	if q.head != nil || q.len() != 0 {
		t.Fatal("release left a chunk")
	}
}

func TestFifoAppendPushFrontTake(t *testing.T) {
	var a, b, c fifo
	var got []int
	record(&a, &got, 10, 20)
	record(&b, &got, 20, 30)
	a.append(&b) // a: 10..29
	if b.len() != 0 {
		t.Fatal("append left handlers in its argument")
	}
	record(&c, &got, 0, 10)
	a.pushFront(&c) // a: 0..29
	var d fifo
	a.take(&d, 5) // d: 0..4, a: 5..29
	var e fifo
	e.append(&d) // append to an empty fifo moves the chunks
	drain(&e)
	drain(&a)
	if diff := cmp.Diff(seq(0, 30), got); diff != "" {
		t.Fatalf("order (-want +got):\n%s", diff)
	}
}

// take of everything into an empty fifo swaps the two; into a fifo that holds handlers, or of
// less than everything, it moves them one by one. Either way the order holds and both fifos stay
// usable: the one taken from can be filled and drained again.
func TestFifoTakeAll(t *testing.T) {
	var q, dst fifo
	var got []int
	record(&dst, &got, 0, 3)
	drain(&dst) // dst: empty, with a chunk
	got = nil
	record(&q, &got, 0, chunkSize+10) // across two chunks
	q.take(&dst, chunkSize+10)        // all of it, into an empty fifo
	if q.len() != 0 || dst.len() != chunkSize+10 {
		t.Fatalf("after taking all: q %d, dst %d", q.len(), dst.len())
	}
	record(&q, &got, chunkSize+10, chunkSize+20) // q is usable
	q.take(&dst, 1<<30)                          // all of it, into a fifo that holds handlers
	record(&q, &got, chunkSize+20, chunkSize+30)
	q.take(&dst, 4) // part of it
	drain(&dst)
	drain(&q)
	if diff := cmp.Diff(seq(0, chunkSize+30), got); diff != "" {
		t.Fatalf("order (-want +got):\n%s", diff)
	}
}
