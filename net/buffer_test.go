package net_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/beastgo/beast/net"
)

// bufferKind makes one of the DynamicBuffer implementations, so every contract test runs on both.
type bufferKind struct {
	name string
	new  func(max int) net.DynamicBuffer
}

var bufferKinds = []bufferKind{
	{"FlatBuffer", func(max int) net.DynamicBuffer { return net.NewFlatBuffer(max) }},
	{"MultiBuffer", func(max int) net.DynamicBuffer { return net.NewMultiBuffer(max) }},
}

// bufStep is one call on a buffer. Prepare fills the bytes it returns with the next bytes of a
// counter, so a test can tell which bytes became readable.
type bufStep struct {
	op      string // "prepare", "commit" or "consume"
	n       int
	wantErr error // for prepare
}

func prepare(n int) bufStep             { return bufStep{op: "prepare", n: n} }
func prepareFails(n int) bufStep        { return bufStep{op: "prepare", n: n, wantErr: net.ErrBufferOverflow} }
func commit(n int) bufStep              { return bufStep{op: "commit", n: n} }
func consume(n int) bufStep             { return bufStep{op: "consume", n: n} }
func (s bufStep) String() string        { return fmt.Sprintf("%s(%d)", s.op, s.n) }
func joined(b net.DynamicBuffer) []byte { return bytes.Join(b.Data(), nil) }

// model is what a buffer must hold: the readable bytes, and the bytes the last Prepare handed out.
type model struct {
	data     []byte
	prepared []byte
	next     byte
}

// apply runs step on b and on the model, and checks that they agree.
func (m *model) apply(t *testing.T, b net.DynamicBuffer, step bufStep) {
	t.Helper()
	switch step.op {
	case "prepare":
		p, err := b.Prepare(step.n)
		if !errors.Is(err, step.wantErr) {
			t.Fatalf("%v: error %v, want %v", step, err, step.wantErr)
		}
		if err != nil {
			if p != nil {
				t.Fatalf("%v: failed Prepare returned %d bytes", step, len(p))
			}
			break
		}
		if len(p) != step.n {
			t.Fatalf("%v: returned %d bytes", step, len(p))
		}
		for i := range p {
			p[i] = m.next
			m.next++
		}
		m.prepared = append([]byte(nil), p...)
	case "commit":
		k := min(step.n, len(m.prepared))
		m.data = append(m.data, m.prepared[:k]...)
		m.prepared = nil
		b.Commit(step.n)
	case "consume":
		m.data = m.data[min(step.n, len(m.data)):]
		b.Consume(step.n)
	default:
		t.Fatalf("unknown step %v", step)
	}
	if diff := cmp.Diff(m.data, joined(b), cmpEmpty); diff != "" {
		t.Fatalf("after %v: readable bytes (-want +got):\n%s", step, diff)
	}
	if b.Size() != len(m.data) {
		t.Fatalf("after %v: Size %d, want %d", step, b.Size(), len(m.data))
	}
	if b.Size() > b.MaxSize() {
		t.Fatalf("after %v: Size %d is over MaxSize %d", step, b.Size(), b.MaxSize())
	}
}

// cmpEmpty makes nil and empty byte slices equal: Data of an empty buffer is nil.
var cmpEmpty = cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })

func TestDynamicBufferContract(t *testing.T) {
	tests := []struct {
		name  string
		max   int
		steps []bufStep
	}{
		{"prepare, commit, consume", 0, []bufStep{prepare(5), commit(5), consume(2), consume(3)}},
		{"commit fewer than prepared", 0, []bufStep{prepare(8), commit(3), prepare(2), commit(2)}},
		{"commit more than prepared takes what was prepared", 0, []bufStep{prepare(4), commit(100)}},
		{"commit without prepare commits nothing", 0, []bufStep{commit(3), prepare(2), commit(2), commit(2)}},
		{"a second commit commits nothing", 0, []bufStep{prepare(6), commit(3), commit(3)}},
		{"prepare replaces the last prepare", 0, []bufStep{prepare(3), prepare(10), commit(10)}},
		{"prepare zero", 0, []bufStep{prepare(0), commit(1)}},
		{"consume more than size empties", 0, []bufStep{prepare(3), commit(3), consume(10), prepare(2), commit(2)}},
		{"consume between prepare and commit keeps the prepared bytes", 0,
			[]bufStep{prepare(4), commit(4), prepare(6), consume(4), commit(6), consume(1)}},
		{"exactly max", 10, []bufStep{prepare(10), commit(10)}},
		{"over max fails and changes nothing", 10,
			[]bufStep{prepareFails(11), prepare(6), commit(6), prepareFails(5), prepare(4), commit(4), prepareFails(1)}},
		{"consuming makes room under max", 10, []bufStep{prepare(10), commit(10), consume(3), prepare(3), commit(3)}},
		{"growing many times", 0, []bufStep{
			prepare(1), commit(1), prepare(600), commit(600), prepare(2000), commit(1500), consume(700),
			prepare(5000), commit(5000), consume(6000)}},
		{"sliding window", 0, []bufStep{
			prepare(300), commit(300), prepare(300), commit(300), consume(300), prepare(300), commit(300),
			consume(300), prepare(300), commit(300), consume(300), prepare(900), commit(900), consume(1000)}},
	}
	for _, kind := range bufferKinds {
		for _, tt := range tests {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				b := kind.new(tt.max)
				var m model
				for _, step := range tt.steps {
					m.apply(t, b, step)
				}
			})
		}
	}
}

func TestDynamicBufferMaxSize(t *testing.T) {
	for _, kind := range bufferKinds {
		for _, tt := range []struct{ max, want int }{{0, int(^uint(0) >> 1)}, {-1, int(^uint(0) >> 1)}, {64, 64}} {
			t.Run(fmt.Sprintf("%s/%d", kind.name, tt.max), func(t *testing.T) {
				if got := kind.new(tt.max).MaxSize(); got != tt.want {
					t.Fatalf("MaxSize() = %d, want %d", got, tt.want)
				}
			})
		}
	}
}

func TestDynamicBufferZeroValue(t *testing.T) {
	for _, b := range []net.DynamicBuffer{new(net.FlatBuffer), new(net.MultiBuffer)} {
		t.Run(fmt.Sprintf("%T", b), func(t *testing.T) {
			if b.Size() != 0 || b.Cap() != 0 || b.Data() != nil {
				t.Fatalf("zero value: Size %d, Cap %d, Data %q", b.Size(), b.Cap(), b.Data())
			}
			var m model
			for _, step := range []bufStep{prepare(100), commit(100), consume(50)} {
				m.apply(t, b, step)
			}
		})
	}
}

func TestDynamicBufferNegativeCountsPanic(t *testing.T) {
	calls := map[string]func(net.DynamicBuffer){
		"Prepare": func(b net.DynamicBuffer) { _, _ = b.Prepare(-1) },
		"Commit":  func(b net.DynamicBuffer) { b.Commit(-1) },
		"Consume": func(b net.DynamicBuffer) { b.Consume(-1) },
	}
	for _, kind := range bufferKinds {
		for name, call := range calls {
			t.Run(kind.name+"/"+name, func(t *testing.T) {
				defer func() {
					if recover() == nil {
						t.Fatalf("%s(-1) did not panic", name)
					}
				}()
				call(kind.new(0))
			})
		}
	}
}

// The prepared slice must be capped at its length: an append to it must not write over bytes the
// buffer owns.
func TestDynamicBufferPreparedSliceIsCapped(t *testing.T) {
	for _, kind := range bufferKinds {
		t.Run(kind.name, func(t *testing.T) {
			b := kind.new(0)
			p, _ := b.Prepare(4)
			if cap(p) != 4 {
				t.Fatalf("cap of prepared slice = %d, want 4", cap(p))
			}
		})
	}
}

func TestFlatBufferGrowth(t *testing.T) {
	type check struct {
		step    bufStep
		wantCap int
	}
	tests := []struct {
		name   string
		max    int
		checks []check
	}{
		{"first prepare allocates what it needs", 0, []check{{prepare(10), 10}}},
		{"growth doubles", 0, []check{{prepare(10), 10}, {commit(10), 10}, {prepare(5), 20}, {commit(5), 20}}},
		{"growth takes what is needed when more than double", 0, []check{{prepare(10), 10}, {commit(10), 10}, {prepare(50), 60}}},
		{"moves to the front instead of growing", 0, []check{
			{prepare(20), 20}, {commit(20), 20}, {consume(15), 20}, {prepare(12), 20}, {commit(12), 20}}},
		{"growth stops at max", 30, []check{{prepare(20), 20}, {commit(20), 20}, {prepare(10), 30}}},
		{"consuming everything starts again at the front", 0, []check{
			{prepare(16), 16}, {commit(16), 16}, {consume(16), 16}, {prepare(16), 16}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := net.NewFlatBuffer(tt.max)
			var m model
			for _, c := range tt.checks {
				m.apply(t, b, c.step)
				if b.Cap() != c.wantCap {
					t.Fatalf("after %v: Cap %d, want %d", c.step, b.Cap(), c.wantCap)
				}
				if len(b.Data()) > 1 {
					t.Fatalf("after %v: Data has %d slices", c.step, len(b.Data()))
				}
				if !bytes.Equal(b.Bytes(), joined(b)) {
					t.Fatalf("after %v: Bytes %q, Data %q", c.step, b.Bytes(), joined(b))
				}
			}
		})
	}
}

// MultiBuffer never copies committed bytes: they stay where they were written while the buffer
// grows, and each block's bytes are one slice of Data.
func TestMultiBufferNeverMovesCommittedBytes(t *testing.T) {
	b := net.NewMultiBuffer(0)
	p, _ := b.Prepare(100)
	first := &p[0]
	b.Commit(100)
	if b.Cap() != 512 {
		t.Fatalf("first block: Cap %d, want 512", b.Cap())
	}
	var m model
	m.data = append([]byte(nil), b.Data()[0]...)
	for range 5 {
		m.apply(t, b, prepare(3000))
		m.apply(t, b, commit(3000))
		if got := &b.Data()[0][0]; got != first {
			t.Fatalf("the first committed byte moved from %p to %p", first, got)
		}
	}
	if n := len(b.Data()); n < 2 {
		t.Fatalf("Data has %d slices after growing, want several", n)
	}
	m.apply(t, b, consume(100))
	if got := &b.Data()[0][0]; got == first {
		t.Fatalf("consumed block still first in Data")
	}
}

// A MultiBuffer adds blocks that grow with its size, so the number of blocks grows with the log
// of the size and not with the number of Prepares.
func TestMultiBufferBlocksGrowGeometrically(t *testing.T) {
	b := net.NewMultiBuffer(0)
	for range 1000 {
		if _, err := b.Prepare(1000); err != nil {
			t.Fatal(err)
		}
		b.Commit(1000)
	}
	if n := len(b.Data()); n > 20 {
		t.Fatalf("1 MB in %d blocks, want a few", n)
	}
	if b.Cap() > 4*b.Size() {
		t.Fatalf("Cap %d for Size %d", b.Cap(), b.Size())
	}
}

// steadyPatterns are uses of a buffer that reach a steady state, after which they must not
// allocate: the same Prepare, Commit and Consume over and over, and a window that slides over a
// stream, always holding some bytes (a reader that finds half a message at the end of each read).
var steadyPatterns = []struct {
	name string
	run  func(b net.DynamicBuffer, size int)
}{
	{"same sizes", func(b net.DynamicBuffer, size int) {
		p, _ := b.Prepare(size)
		p[0] = 1
		b.Commit(size)
		_ = b.Data()
		b.Consume(size)
	}},
	{"sliding window", func(b net.DynamicBuffer, size int) {
		if b.Size() == 0 {
			_, _ = b.Prepare(size / 2)
			b.Commit(size / 2)
		}
		_, _ = b.Prepare(size)
		b.Commit(size)
		_ = b.Data()
		b.Consume(size)
	}},
}

func TestDynamicBufferSteadyStateAllocatesNothing(t *testing.T) {
	for _, kind := range bufferKinds {
		for _, pat := range steadyPatterns {
			for _, size := range []int{64, 4096, 100_000} {
				t.Run(fmt.Sprintf("%s/%s/%d", kind.name, pat.name, size), func(t *testing.T) {
					b := kind.new(0)
					for range 10 { // reach the steady state
						pat.run(b, size)
					}
					if a := testing.AllocsPerRun(100, func() { pat.run(b, size) }); a != 0 {
						t.Fatalf("%v allocations per round, want 0", a)
					}
				})
			}
		}
	}
}

func BenchmarkDynamicBuffer(b *testing.B) {
	for _, kind := range bufferKinds {
		for _, pat := range steadyPatterns {
			for _, size := range []int{64, 4096} {
				b.Run(fmt.Sprintf("%s/%s/%d", kind.name, pat.name, size), func(b *testing.B) {
					buf := kind.new(0)
					b.ReportAllocs()
					b.SetBytes(int64(size))
					for b.Loop() {
						pat.run(buf, size)
					}
				})
			}
		}
	}
}

// FuzzDynamicBuffer runs random sequences of calls on both buffers and checks each against the
// model: every byte committed is read back in order, once.
func FuzzDynamicBuffer(f *testing.F) {
	f.Add([]byte{0, 10, 1, 10, 2, 5}, uint16(0))
	f.Add([]byte{0, 200, 1, 100, 0, 250, 1, 250, 2, 40, 0, 3, 1, 3}, uint16(300))
	f.Fuzz(func(t *testing.T, prog []byte, max uint16) {
		for _, kind := range bufferKinds {
			b := kind.new(int(max))
			var m model
			for i := 0; i+1 < len(prog); i += 2 {
				n := int(prog[i+1]) * 7
				step := [...]bufStep{prepare(n), commit(n), consume(n)}[prog[i]%3]
				if step.op == "prepare" && max > 0 && len(m.data)+n > int(max) {
					step.wantErr = net.ErrBufferOverflow
				}
				m.apply(t, b, step)
			}
		}
	})
}

// Data must return slices of the buffer's storage, not copies: a reader that parses in place
// depends on it.
func TestDynamicBufferDataIsNotACopy(t *testing.T) {
	for _, kind := range bufferKinds {
		t.Run(kind.name, func(t *testing.T) {
			b := kind.new(0)
			p, _ := b.Prepare(8)
			b.Commit(8)
			if d := b.Data(); unsafe.SliceData(d[0]) != unsafe.SliceData(p) {
				t.Fatalf("Data does not alias the prepared storage")
			}
		})
	}
}
