package composed_test

// Helpers of the black-box tests (blackbox_*_test.go): written from the documentation only
// (README.md, docs/composed.md, go doc of composed, completion and executor).

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// bbRes is a result that can carry an error (completion.Fail can build it).
type bbRes struct {
	V   int
	Err error
}

func (r *bbRes) SetErr(err error) { r.Err = err }

// bbGID is the calling goroutine's id, read from its stack header: the test's own way to tell
// goroutines apart, independent of the library's.
func bbGID() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	s := bytes.TrimPrefix(buf[:n], []byte("goroutine "))
	i := bytes.IndexByte(s, ' ')
	id, err := strconv.ParseUint(string(s[:i]), 10, 64)
	if err != nil {
		panic("bbGID: " + string(buf[:n]))
	}
	return id
}

var (
	bbGIDOnce  sync.Once
	bbGIDAvail bool
)

// bbHaveGID reports whether the library can tell goroutines apart in this build: README says
// RunningInThisThread reports false where it cannot (-tags beastgo_nogid).
func bbHaveGID() bool {
	bbGIDOnce.Do(func() {
		ioc := executor.NewIOContext()
		ioc.Post(func() { bbGIDAvail = ioc.RunningInThisThread() })
		ioc.Run()
	})
	return bbGIDAvail
}

// bbSet is a set of goroutine ids.
type bbSet struct {
	mu  sync.Mutex
	ids map[uint64]bool
}

func (s *bbSet) add(id uint64) {
	s.mu.Lock()
	if s.ids == nil {
		s.ids = map[uint64]bool{}
	}
	s.ids[id] = true
	s.mu.Unlock()
}

func (s *bbSet) has(id uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

// bbBad collects the first few failures seen on other goroutines, to report from the test's.
type bbBad struct {
	mu   sync.Mutex
	n    int
	msgs []string
}

func (b *bbBad) add(format string, args ...any) {
	b.mu.Lock()
	b.n++
	if len(b.msgs) < 10 {
		b.msgs = append(b.msgs, fmt.Sprintf(format, args...))
	}
	b.mu.Unlock()
}

func (b *bbBad) report(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n > 0 {
		t.Errorf("%d failures, first ones:\n%s", b.n, joinLines(b.msgs))
	}
}

func joinLines(ss []string) string {
	var buf bytes.Buffer
	for _, s := range ss {
		buf.WriteString("  ")
		buf.WriteString(s)
		buf.WriteByte('\n')
	}
	return buf.String()
}

// bbDomain is everything that must run one handler at a time: a strand, or an IOContext with one
// Run goroutine. enter and exit bracket each step, final handler and plain handler run there; an
// atomic counter finds an overlap, and entries (a plain int) lets -race find a missing
// happens-before edge.
type bbDomain struct {
	name     string
	on       func() bool // reports whether the caller runs on the domain (where goroutines can be told apart)
	inside   atomic.Int32
	overlaps atomic.Int64
	off      atomic.Int64
	entries  int
}

func bbStrandDomain(name string, s *executor.Strand) *bbDomain {
	return &bbDomain{name: name, on: s.RunningInThisThread}
}

func (d *bbDomain) enter() {
	if d.inside.Add(1) != 1 {
		d.overlaps.Add(1)
	}
	d.entries++
	if d.on != nil && bbHaveGID() && !d.on() {
		d.off.Add(1)
	}
}

func (d *bbDomain) exit() { d.inside.Add(-1) }

func (d *bbDomain) check(t *testing.T) {
	t.Helper()
	if n := d.overlaps.Load(); n != 0 {
		t.Errorf("%s: %d entries overlapped another step or handler of the same serialising executor", d.name, n)
	}
	if n := d.off.Load(); n != 0 {
		t.Errorf("%s: %d entries ran where RunningInThisThread of the serialising executor was false", d.name, n)
	}
}

// bbForeign is a few goroutines outside every executor, from which inner operations complete.
type bbForeign struct {
	ch  chan func()
	wg  sync.WaitGroup
	ids bbSet
}

func newBBForeign(n int) *bbForeign {
	f := &bbForeign{ch: make(chan func(), 4096)}
	ready := make(chan struct{}, n)
	for range n {
		f.wg.Go(func() {
			f.ids.add(bbGID())
			ready <- struct{}{}
			for fn := range f.ch {
				fn()
			}
		})
	}
	for range n {
		<-ready
	}
	return f
}

func (f *bbForeign) do(fn func()) { f.ch <- fn }

func (f *bbForeign) close() {
	close(f.ch)
	f.wg.Wait()
}

// bbWait waits for ch, failing the test (instead of hanging it) if it never comes: a liveness
// guard, not a timing assertion.
func bbWait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("hung waiting for %s", what)
	}
}

// bbPanic runs f and returns what it panicked with (nil if it returned).
func bbPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// bbInner starts an inner operation of one of several shapes, all ending in h.Complete.
func bbInner(kind int, io executor.Executor, f *bbForeign, v int, h completion.Handler[bbRes]) {
	hex := completion.AssociatedExecutor(h, io)
	switch kind % 5 {
	case 0: // a well-behaved operation: posted to its handler's executor
		hex.Post(func() { h.Complete(bbRes{V: v}) })
	case 1: // completed from a goroutine outside every executor, executor ignored
		f.do(func() { h.Complete(bbRes{V: v}) })
	case 2: // completed on the I/O executor, ignoring the handler's (a pool goroutine, off the strand)
		io.Post(func() { h.Complete(bbRes{V: v}) })
	case 3: // dispatched to the handler's executor from another goroutine
		f.do(func() { hex.Dispatch(func() { h.Complete(bbRes{V: v}) }) })
	case 4: // completed inside its initiating call, while the body is still running
		h.Complete(bbRes{V: v})
	}
}
