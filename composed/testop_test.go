package composed_test

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
)

// This file holds the test doubles of the composed tests: an I/O object whose operations behave as
// real ones will (they count work on their executor while pending and complete on their handler's
// associated executor), the three completion tokens as a table, and small helpers.

// opResult is the result of the test operations, shaped like net.IOResult: a value and an error,
// with SetErr so that completion.Fail can build a failed one.
type opResult struct {
	V   int
	Err error
}

func (r *opResult) SetErr(err error) { r.Err = err }

// testIO stands for an I/O object (a socket, a timer) with its own executor.
type testIO struct {
	ex      executor.Executor
	pending atomic.Int64 // operations started and not yet completed
	total   atomic.Int64 // operations ever started
	// onComplete, if set, runs just before a posted completion calls its handler, on the goroutine
	// that calls it (for stack measurements).
	onComplete func()
}

func newTestIO(ex executor.Executor) *testIO { return &testIO{ex: ex} }

func (o *testIO) begin() {
	o.pending.Add(1)
	o.total.Add(1)
	o.ex.OnWorkStarted()
}

// started reports how many operations were ever started on the object (inline ones excepted).
func (o *testIO) started() int64 { return o.total.Load() }

func (o *testIO) end() {
	o.pending.Add(-1)
	o.ex.OnWorkFinished()
}

// AsyncImmediate completes at once with v, as a read that finds data already buffered does: the
// handler is posted to its associated executor (the object's own when it has none), never called
// inside this call. A handler whose context is already done gets the cancellation error instead.
func (o *testIO) AsyncImmediate(v int, h completion.Handler[opResult]) {
	o.begin()
	r := opResult{V: v}
	if ctx := completion.AssociatedContext(h); ctx != nil && ctx.Err() != nil {
		r = opResult{Err: completion.Canceled(ctx)}
	}
	completion.AssociatedExecutor(h, o.ex).Post(func() {
		defer o.end()
		if o.onComplete != nil {
			o.onComplete()
		}
		h.Complete(r)
	})
}

// AsyncInline calls its handler inside this call: an operation that breaks the rule real ones keep
// (Asio's bind_immediate_executor with an inline executor). Composed operations must stay correct
// over it: their own handler still never runs inside their initiating function, and their stack
// stays flat.
func (o *testIO) AsyncInline(v int, h completion.Handler[opResult]) { h.Complete(opResult{V: v}) }

// pendingOp is an operation of testIO that completes when the test says so (Finish, from any
// goroutine), or when its handler's context ends, with the error of completion.Canceled. Without
// a context it is the "later" operation; with one, the cancellable one.
type pendingOp struct {
	io      *testIO
	started chan struct{}
	h       completion.Handler[opResult]
	stop    func() bool
	done    atomic.Bool
}

func (o *testIO) newPending() *pendingOp { return &pendingOp{io: o, started: make(chan struct{})} }

// Start is the initiating function. A pendingOp runs once.
func (p *pendingOp) Start(h completion.Handler[opResult]) {
	p.io.begin()
	p.h = h
	// The cancel runs on the object's executor (posted there by OnCancel), which the operation
	// keeps alive with its work until it completes.
	p.stop = completion.OnCancel(h, p.io.ex, func(err error) { p.complete(opResult{Err: err}) })
	close(p.started)
}

// Started is closed once Start has armed the operation: from then on Finish may be called, and
// races with cancellation safely.
func (p *pendingOp) Started() <-chan struct{} { return p.started }

// Finish completes the operation with v from the calling goroutine, dispatching the handler to its
// associated executor. It reports false when cancellation got there first.
func (p *pendingOp) Finish(v int) bool {
	<-p.started
	if !p.stop() {
		return false
	}
	p.complete(opResult{V: v})
	return true
}

func (p *pendingOp) complete(r opResult) {
	if !p.done.CompareAndSwap(false, true) {
		panic("pendingOp completed twice")
	}
	h := p.h
	completion.AssociatedExecutor(h, p.io.ex).Dispatch(func() {
		defer p.io.end()
		h.Complete(r)
	})
}

// probe observes a token's deliveries.
type probe[R any] interface {
	// result returns the result if the handler has received it, without waiting.
	result() (R, bool)
	// wait waits for the result.
	wait() R
	// extra reports how many deliveries beyond the first the token has seen.
	extra() int
}

// tokenCase is one of the completion tokens. inside, if not nil, is called inside the handler
// when it runs, where the token can run code (only the callback can).
type tokenCase[R any] struct {
	name string
	new  func(inside func()) (completion.Handler[R], probe[R])
}

// tokens is the table of the three tokens for the test operations' result.
var tokens = tokensOf[opResult]()

// tokensOf returns the callback, future and channel tokens for results of type R.
func tokensOf[R any]() []tokenCase[R] {
	return []tokenCase[R]{
		{"callback", func(inside func()) (completion.Handler[R], probe[R]) {
			p := &callbackProbe[R]{done: make(chan struct{})}
			return completion.Callback(func(r R) {
				if inside != nil {
					inside()
				}
				p.mu.Lock()
				defer p.mu.Unlock()
				p.got = append(p.got, r)
				if len(p.got) == 1 {
					close(p.done)
				}
			}), p
		}},
		{"future", func(func()) (completion.Handler[R], probe[R]) {
			f := completion.NewFuture[R]()
			return f, futureProbe[R]{f}
		}},
		{"channel", func(func()) (completion.Handler[R], probe[R]) {
			ch := make(chan R, 2) // room for a wrong second delivery, so it shows
			return completion.Chan(ch), &chanProbe[R]{ch: ch}
		}},
	}
}

type callbackProbe[R any] struct {
	mu   sync.Mutex
	got  []R
	done chan struct{}
}

func (p *callbackProbe[R]) result() (R, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.got) == 0 {
		var zero R
		return zero, false
	}
	return p.got[0], true
}

func (p *callbackProbe[R]) wait() R {
	<-p.done
	r, _ := p.result()
	return r
}

func (p *callbackProbe[R]) extra() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(len(p.got)-1, 0)
}

type futureProbe[R any] struct{ f *completion.Future[R] }

func (p futureProbe[R]) result() (R, bool) { return p.f.Result() }
func (p futureProbe[R]) wait() R           { return p.f.Wait() }
func (p futureProbe[R]) extra() int        { return 0 } // a second Complete panics

type chanProbe[R any] struct {
	ch  chan R
	mu  sync.Mutex
	got *R
}

func (p *chanProbe[R]) result() (R, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.got == nil {
		select {
		case r := <-p.ch:
			p.got = &r
		default:
			var zero R
			return zero, false
		}
	}
	return *p.got, true
}

func (p *chanProbe[R]) wait() R {
	if r, ok := p.result(); ok {
		return r
	}
	r := <-p.ch
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = &r
	return r
}

func (p *chanProbe[R]) extra() int {
	p.result()
	return len(p.ch)
}

// expectResult waits for the probe's result and checks it, and that it was delivered once.
func expectResult(t *testing.T, p probe[opResult], want opResult) {
	t.Helper()
	got := p.wait()
	if got.V != want.V || got.Err != want.Err {
		t.Fatalf("handler received %+v, want %+v", got, want)
	}
	if n := p.extra(); n != 0 {
		t.Fatalf("handler received %d results more than one", n)
	}
}

// expectNotDelivered fails the test if the handler has received its result.
func expectNotDelivered[R any](t *testing.T, p probe[R], when string) {
	t.Helper()
	if r, ok := p.result(); ok {
		t.Fatalf("handler received %+v %s", r, when)
	}
}

// gidKnown reports whether executors identify goroutines on this architecture: then
// RunningInThisThread answers and Dispatch runs inline on its own executor.
func gidKnown() bool { return gid.Known }

// stackDepth returns the number of frames on the calling goroutine's stack (capped at 4096).
func stackDepth() int {
	var pcs [4096]uintptr
	return runtime.Callers(0, pcs[:])
}

// countingExecutor wraps an executor and counts its outstanding work, so a test can see that an
// operation holds work while in flight and releases all of it. It is a pointer, so comparable.
type countingExecutor struct {
	executor.Executor
	work atomic.Int64
}

func (c *countingExecutor) OnWorkStarted() {
	c.work.Add(1)
	c.Executor.OnWorkStarted()
}

func (c *countingExecutor) OnWorkFinished() {
	if c.work.Add(-1) < 0 {
		panic("countingExecutor: more work finished than started")
	}
	c.Executor.OnWorkFinished()
}

// inIOHandler runs f as a handler of io and runs io until it is out of work, so that f is called
// on an executor's goroutine, as initiating functions usually are.
func inIOHandler(io *executor.IOContext, f func()) {
	io.Post(f)
	io.Run()
}
