package benchcases

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/invoke"
)

// ChainSteps is the number of inner operations of the composed comparison's operation.
const ChainSteps = 10

// Composed returns the composed-operation comparison: an operation of ChainSteps inner operations
// written as callbacks by hand, with composed.Start, with a state that keeps its Op and is its own
// Body, with that state kept and started again, and with composed.Spawn. Every case's ns/op is one whole operation.
func Composed() []Case {
	const unit = "operation of 10 steps"
	return []Case{
		{Group: "composed", Name: "callbacks written by hand", Unit: unit, Baseline: true, Bench: ChainCase(AsyncBareChain)},
		{Group: "composed", Name: "composed.Start", Unit: unit, Bench: ChainCase(AsyncStartChain)},
		{Group: "composed", Name: "state as its own Body, op.Start", Unit: unit, Bench: ChainCase(AsyncOpChain)},
		{Group: "composed", Name: "Op kept and started again", Unit: unit, Bench: ChainCase(ReusedChain())},
		{Group: "composed", Name: "composed.Spawn", Unit: unit, Bench: ChainCase(AsyncSpawnChain)},
	}
}

// Ticker is the inner operation of the chained benchmarks: AsyncTick completes by posting to the
// IOContext and then calling the handler on its executor, as a socket read that finds data does,
// and allocates nothing itself, so that the figures show only what the way of composing costs. One
// tick is in flight at a time.
type Ticker struct {
	ioc  *executor.IOContext
	h    completion.Handler[int]
	n    int
	fire func() // t.complete, bound once
}

// NewTicker returns a Ticker whose ticks complete on ioc.
func NewTicker(ioc *executor.IOContext) *Ticker {
	t := &Ticker{ioc: ioc}
	t.fire = t.complete
	return t
}

// Ticks returns how many ticks have completed.
func (t *Ticker) Ticks() int { return t.n }

// AsyncTick delivers the number of ticks so far to h, posted.
func (t *Ticker) AsyncTick(h completion.Handler[int]) {
	t.h = h
	t.ioc.Post(t.fire)
}

func (t *Ticker) complete() {
	h := t.h
	t.h = nil
	t.n++
	if hex := completion.AssociatedExecutor(h, t.ioc); hex != executor.Executor(t.ioc) {
		n := t.n
		hex.Dispatch(func() { h.Complete(n) }) // allocates; no benchmark takes this path
		return
	}
	invoke.Invoke(h, t.n) // running on ioc, the handler's executor: as net's sockets do
}

// ChainFunc starts an operation of n ticks on t that delivers the last tick's count to h.
type ChainFunc func(t *Ticker, n int, h completion.Handler[int])

// bareChain is the baseline: the operation written by hand as callbacks, with its state and its
// one callback made once per operation, as a hand-written Go operation would be.
type bareChain struct {
	t      *Ticker
	left   int
	h      completion.Handler[int]
	onTick completion.Func[int]
}

// AsyncBareChain is the operation written as callbacks.
func AsyncBareChain(t *Ticker, n int, h completion.Handler[int]) {
	c := &bareChain{t: t, left: n, h: h}
	c.onTick = c.tick
	t.AsyncTick(c.onTick)
}

func (c *bareChain) tick(v int) {
	if c.left--; c.left > 0 {
		c.t.AsyncTick(c.onTick)
		return
	}
	c.h.Complete(v)
}

// HandlerChain is the leanest hand-written form, for reference: the state is itself the inner
// operations' handler, so an operation allocates only its state.
func HandlerChain(t *Ticker, n int, h completion.Handler[int]) {
	t.AsyncTick(&handlerChain{t: t, left: n, h: h})
}

type handlerChain struct {
	t    *Ticker
	left int
	h    completion.Handler[int]
}

func (c *handlerChain) Complete(v int) {
	if c.left--; c.left > 0 {
		c.t.AsyncTick(c)
		return
	}
	c.h.Complete(v)
}

// chainState is the operation's state for composed.Start.
type chainState struct {
	t    *Ticker
	left int
	tick composed.Slot[int]
}

// AsyncStartChain is the operation written for composed.Start.
func AsyncStartChain(t *Ticker, n int, h completion.Handler[int]) {
	c := &chainState{t: t, left: n}
	composed.Start(t.ioc, h, c.step)
}

// AsyncOpChain is the operation as composed.Op.Start is meant to be used: the state keeps its Op
// and is its Body, so the whole operation is one allocation.
func AsyncOpChain(t *Ticker, n int, h completion.Handler[int]) {
	c := &opChainState{chainState: chainState{t: t, left: n}}
	c.op.Start(t.ioc, h, c)
}

// opChainState is chainState with its Op, and its Body.
type opChainState struct {
	op composed.Op[int]
	chainState
}

// Step is the body.
func (c *opChainState) Step(op *composed.Op[int]) { c.step(op) }

func (c *chainState) step(op *composed.Op[int]) {
	if op.Resumed() {
		if c.left--; c.left == 0 {
			op.Complete(c.tick.Value)
			return
		}
	}
	c.t.AsyncTick(composed.Into(op, &c.tick))
}

// ReusedChainer runs one chained operation at a time and keeps its state and Op between them, as
// a stream keeps its read operation's: its steady state allocates nothing.
type ReusedChainer struct {
	opChainState
}

// NewReusedChainer returns a ReusedChainer over t.
func NewReusedChainer(t *Ticker) *ReusedChainer {
	return &ReusedChainer{opChainState: opChainState{chainState: chainState{t: t}}}
}

// Async starts an operation of n ticks; the previous one's handler must have been called.
func (c *ReusedChainer) Async(n int, h completion.Handler[int]) {
	c.left = n
	c.op.Start(c.t.ioc, h, &c.opChainState)
}

// ReusedChain returns a ChainFunc that runs every operation on one ReusedChainer per Ticker.
func ReusedChain() ChainFunc {
	var c *ReusedChainer
	return func(t *Ticker, n int, h completion.Handler[int]) {
		if c == nil || c.t != t {
			c = NewReusedChainer(t)
		}
		c.Async(n, h)
	}
}

// AsyncSpawnChain is the operation written with composed.Spawn.
func AsyncSpawnChain(t *Ticker, n int, h completion.Handler[int]) {
	composed.Spawn(t.ioc, h, func(y *composed.Yield) int {
		v := 0
		for range n {
			v = composed.Await(y, t.AsyncTick)
		}
		return v
	})
}

// ChainCase returns the benchmark of operations of ChainSteps ticks started with start.
func ChainCase(start ChainFunc) func(b *testing.B) {
	return func(b *testing.B) { RunChained(b, start, ChainSteps) }
}

// RunChained runs one operation of n steps per iteration, one after another, on an IOContext run
// by the benchmark goroutine: each operation's callback starts the next from inside Run, so the
// figures contain neither Run's own cost nor a hand-off between goroutines. It reports ns/step
// besides ns/op (one operation).
func RunChained(b *testing.B, start ChainFunc, n int) {
	ioc := executor.NewIOContext()
	t := NewTicker(ioc)
	var next completion.Func[int]
	next = func(int) {
		if b.Loop() {
			start(t, n, next)
		}
	}
	b.ReportAllocs()
	ioc.Post(func() { next(0) })
	ioc.Run()
	if t.n != b.N*n {
		b.Fatalf("%d ticks for %d operations of %d steps", t.n, b.N, n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/step")
}
