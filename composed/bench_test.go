package composed_test

import (
	"strconv"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// chainSteps is the number of inner operations of the chained benchmarks' operation.
const chainSteps = 10

// ticker is the inner operation of the benchmarks: AsyncTick completes by posting to the
// IOContext, as a socket read that finds data does, and allocates nothing itself, so that the
// figures show only what the way of composing costs. One tick is in flight at a time.
type ticker struct {
	ioc  *executor.IOContext
	h    completion.Handler[int]
	n    int
	fire func() // t.complete, bound once
}

func newTicker(ioc *executor.IOContext) *ticker {
	t := &ticker{ioc: ioc}
	t.fire = t.complete
	return t
}

// AsyncTick delivers the number of ticks so far to h, posted.
func (t *ticker) AsyncTick(h completion.Handler[int]) {
	t.h = h
	t.ioc.Post(t.fire)
}

func (t *ticker) complete() {
	h := t.h
	t.h = nil
	t.n++
	h.Complete(t.n)
}

// bareChain is the baseline: an operation of n ticks written by hand as callbacks, with its state
// and its one callback made once per operation, as a hand-written Go operation would be.
type bareChain struct {
	t      *ticker
	left   int
	h      completion.Handler[int]
	onTick completion.Func[int]
}

func asyncBareChain(t *ticker, n int, h completion.Handler[int]) {
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

// handlerChain is the leanest hand-written form, for reference: the state is itself the inner
// operations' handler, so an operation allocates only its state.
type handlerChain struct {
	t    *ticker
	left int
	h    completion.Handler[int]
}

func asyncHandlerChain(t *ticker, n int, h completion.Handler[int]) {
	t.AsyncTick(&handlerChain{t: t, left: n, h: h})
}

func (c *handlerChain) Complete(v int) {
	if c.left--; c.left > 0 {
		c.t.AsyncTick(c)
		return
	}
	c.h.Complete(v)
}

// startChain is the same operation written for composed.Start.
type startChain struct {
	t    *ticker
	left int
	tick composed.Slot[int]
}

func asyncStartChain(t *ticker, n int, h completion.Handler[int]) {
	c := &startChain{t: t, left: n}
	composed.Start(t.ioc, h, c.step)
}

func (c *startChain) step(op *composed.Op[int]) {
	if op.Resumed() {
		if c.left--; c.left == 0 {
			op.Complete(c.tick.Value)
			return
		}
	}
	c.t.AsyncTick(composed.Into(op, &c.tick))
}

// opChain is startChain with its Op in its state, started with Op.Start: one allocation fewer.
type opChain struct {
	op   composed.Op[int]
	t    *ticker
	left int
	tick composed.Slot[int]
}

func asyncOpChain(t *ticker, n int, h completion.Handler[int]) {
	c := &opChain{t: t, left: n}
	c.op.Start(t.ioc, h, c.step)
}

func (c *opChain) step(op *composed.Op[int]) {
	if op.Resumed() {
		if c.left--; c.left == 0 {
			op.Complete(c.tick.Value)
			return
		}
	}
	c.t.AsyncTick(composed.Into(op, &c.tick))
}

// reusedChain is a ticker object that runs one chained operation at a time and keeps its state,
// Op and body between them, as a stream keeps its read operation's: steady state allocates
// nothing.
type reusedChain struct {
	opChain
	body func(*composed.Op[int])
}

func newReusedChain(t *ticker) *reusedChain {
	c := &reusedChain{opChain: opChain{t: t}}
	c.body = c.step
	return c
}

func (c *reusedChain) async(n int, h completion.Handler[int]) {
	c.left = n
	c.op.Start(c.t.ioc, h, c.body)
}

// asyncSpawnChain is the same operation written with composed.Spawn.
func asyncSpawnChain(t *ticker, n int, h completion.Handler[int]) {
	composed.Spawn(t.ioc, h, func(y *composed.Yield) int {
		v := 0
		for range n {
			v = composed.Await(y, t.AsyncTick)
		}
		return v
	})
}

type chainFunc func(t *ticker, n int, h completion.Handler[int])

// runChained runs one operation of n steps per iteration, one after another, on an IOContext run
// by the benchmark goroutine: each operation's callback starts the next from inside Run, so the
// figures contain neither Run's own cost nor a hand-off between goroutines.
func runChained(b *testing.B, start chainFunc, n int) {
	ioc := executor.NewIOContext()
	t := newTicker(ioc)
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

// BenchmarkChain measures an operation of 10 inner operations (and of 1) written as bare
// callbacks (Bare; Handler is the same with the state as the handler), with Start, with an Op kept
// in the operation's state (Op; Op-reused keeps the whole state between operations) and with
// Spawn, each called with a callback. ns/op is per whole operation, ns/step per inner operation.
func BenchmarkChain(b *testing.B) {
	for _, c := range []struct {
		name  string
		start chainFunc
	}{
		{"Bare", asyncBareChain},
		{"Handler", asyncHandlerChain},
		{"Start", asyncStartChain},
		{"Op", asyncOpChain},
		{"Op-reused", func() chainFunc {
			var c *reusedChain
			return func(t *ticker, n int, h completion.Handler[int]) {
				if c == nil || c.t != t {
					c = newReusedChain(t)
				}
				c.async(n, h)
			}
		}()},
		{"Spawn", asyncSpawnChain},
	} {
		for _, n := range []int{chainSteps, 1} {
			b.Run(c.name+"/steps="+strconv.Itoa(n), func(b *testing.B) { runChained(b, c.start, n) })
		}
	}
}

// BenchmarkToken measures a 1-step operation with each token, as a program on one goroutine uses
// it: start the operation, Run the IOContext until it runs out of work, take the result. Run's own
// cost (a few allocations per call) is in every row; Bare is the operation written as callbacks.
func BenchmarkToken(b *testing.B) {
	b.Run("Bare/callback", func(b *testing.B) {
		ioc := executor.NewIOContext()
		t := newTicker(ioc)
		got := 0
		h := completion.Callback(func(v int) { got = v })
		b.ReportAllocs()
		for b.Loop() {
			asyncBareChain(t, 1, h)
			ioc.Run()
			ioc.Restart()
		}
		if got != t.n {
			b.Fatal("missed a result")
		}
	})
	b.Run("Start/callback", func(b *testing.B) {
		ioc := executor.NewIOContext()
		t := newTicker(ioc)
		got := 0
		h := completion.Callback(func(v int) { got = v })
		b.ReportAllocs()
		for b.Loop() {
			asyncStartChain(t, 1, h)
			ioc.Run()
			ioc.Restart()
		}
		if got != t.n {
			b.Fatal("missed a result")
		}
	})
	b.Run("Start/future", func(b *testing.B) {
		ioc := executor.NewIOContext()
		t := newTicker(ioc)
		got := 0
		b.ReportAllocs()
		for b.Loop() {
			f := completion.NewFuture[int]()
			asyncStartChain(t, 1, f)
			ioc.Run()
			ioc.Restart()
			got = f.Wait()
		}
		if got != t.n {
			b.Fatal("missed a result")
		}
	})
	b.Run("Start/channel", func(b *testing.B) {
		ioc := executor.NewIOContext()
		t := newTicker(ioc)
		ch := make(chan int, 1)
		h := completion.Chan(ch)
		got := 0
		b.ReportAllocs()
		for b.Loop() {
			asyncStartChain(t, 1, h)
			ioc.Run()
			ioc.Restart()
			got = <-ch
		}
		if got != t.n {
			b.Fatal("missed a result")
		}
	})
}
