package composed_test

// Black-box tests of where a composed operation's steps run (docs/composed.md "Where the steps
// run", go doc composed "Where the steps run" and guarantee 3): on the final handler's associated
// executor, or the I/O executor when it has none, one at a time, never beside that executor's
// other handlers.

import (
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// bbStepOp is an operation of several steps, each starting an inner operation of a different
// shape. Every step and the final handler enter its domain, check the goroutine they run on, and
// check the executors the Op reports.
type bbStepOp struct {
	d       *bbDomain
	io      executor.Executor
	f       *bbForeign
	stepEx  executor.Executor // the executor Op.Executor must report
	allowed *bbSet            // when set, the goroutines steps may run on
	bad     *bbBad
	steps   int
	kind    int
	n       int
	slot    composed.Slot[bbRes]
}

func (s *bbStepOp) where(what string) {
	id := bbGID()
	if s.f.ids.has(id) {
		s.bad.add("%s: %s ran on a foreign goroutine %d", s.d.name, what, id)
	}
	if s.allowed != nil && !s.allowed.has(id) {
		s.bad.add("%s: %s ran on goroutine %d, not one of the executor's", s.d.name, what, id)
	}
}

func (s *bbStepOp) step(op *composed.Op[bbRes]) {
	s.d.enter()
	defer s.d.exit()
	s.where("a step")
	if op.Executor() != s.stepEx {
		s.bad.add("%s: Op.Executor() = %v, want the step executor %v", s.d.name, op.Executor(), s.stepEx)
	}
	if op.IOExecutor() != s.io {
		s.bad.add("%s: Op.IOExecutor() = %v, want %v", s.d.name, op.IOExecutor(), s.io)
	}
	if op.Resumed() != (s.n > 0) {
		s.bad.add("%s: Resumed() = %v at step %d", s.d.name, op.Resumed(), s.n)
	}
	if op.Resumed() && s.slot.Value.V != s.n {
		s.bad.add("%s: slot holds %d at step %d", s.d.name, s.slot.Value.V, s.n)
	}
	s.n++
	if s.n > s.steps {
		op.Complete(bbRes{V: s.n})
		return
	}
	bbInner(s.kind+s.n, s.io, s.f, s.n, composed.Into(op, &s.slot))
}

// bbSerialRun is one configuration: where the I/O object is, what the handler is bound to.
type bbSerialRun struct {
	io      executor.Executor   // the I/O executor
	bindTo  []*executor.Strand  // the handler of op i is bound to bindTo[i%len] (nil: unbound)
	domains []*bbDomain         // the domain of op i's steps: domains[i%len]
	stepExs []executor.Executor // the step executor of op i: stepExs[i%len]
	ioOf    []executor.Executor // when set, op i's I/O executor is ioOf[i%len] instead of io
	allowed *bbSet
	noise   []*executor.Strand // plain handlers are posted here beside the steps, entering domains[i%len]
}

// run starts ops operations of steps steps each, at once from several goroutines, from handlers
// of the I/O executor and from handlers of the step executors, with plain handlers of the step
// executors posted among them, and waits for every final handler.
func (c *bbSerialRun) run(t *testing.T, ops, steps int) {
	f := newBBForeign(3)
	defer f.close()
	bad := &bbBad{}
	var done sync.WaitGroup
	done.Add(ops)
	start := func(i int) {
		d := c.domains[i%len(c.domains)]
		io := c.io
		if c.ioOf != nil {
			io = c.ioOf[i%len(c.ioOf)]
		}
		s := &bbStepOp{d: d, io: io, f: f, stepEx: c.stepExs[i%len(c.stepExs)], allowed: c.allowed,
			bad: bad, steps: steps, kind: i}
		var h completion.Handler[bbRes] = completion.Callback(func(r bbRes) {
			d.enter()
			s.where("the final handler")
			if r.V != steps+1 || r.Err != nil {
				bad.add("%s: result %+v, want V=%d", d.name, r, steps+1)
			}
			d.exit()
			done.Done()
		})
		if c.bindTo != nil {
			h = completion.Bind(c.bindTo[i%len(c.bindTo)], h)
		}
		composed.Start(io, h, s.step)
	}
	var starters sync.WaitGroup
	const nStarters = 4
	for g := range nStarters {
		starters.Go(func() {
			for i := g; i < ops; i += nStarters {
				switch i % 3 {
				case 0: // from a goroutine outside the executors
					start(i)
				case 1: // from a handler of the I/O executor
					c.io.Post(func() { start(i) })
				case 2: // from a handler of its own step executor (first step may run inline)
					c.stepExs[i%len(c.stepExs)].Post(func() { start(i) })
				}
				if c.noise != nil && i%2 == 0 {
					d := c.domains[i%len(c.domains)]
					c.noise[i%len(c.noise)].Post(func() { d.enter(); d.exit() })
				}
			}
		})
	}
	starters.Wait()
	ch := make(chan struct{})
	go func() { done.Wait(); close(ch) }()
	bbWait(t, ch, "every final handler")
	bad.report(t)
	for _, d := range c.domains {
		d.check(t)
	}
}

func bbStrands(inner executor.Executor, n int, name string) ([]*executor.Strand, []*bbDomain, []executor.Executor) {
	var ss []*executor.Strand
	var ds []*bbDomain
	var exs []executor.Executor
	for i := range n {
		s := executor.NewStrand(inner)
		ss = append(ss, s)
		ds = append(ds, bbStrandDomain(name+"#"+string(rune('0'+i)), s))
		exs = append(exs, s)
	}
	return ss, ds, exs
}

const (
	bbOps   = 1200
	bbSteps = 5
)

// "The handler bound to a strand ... with the socket on the pool itself: the steps run on the
// strand, and so does h." A ThreadPool of two goroutines as the I/O executor.
func TestBlackboxStepsHandlerBoundToStrandOverPool(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	ss, ds, exs := bbStrands(pool.Executor(), 4, "bound strand over pool")
	c := &bbSerialRun{io: pool.Executor(), bindTo: ss, domains: ds, stepExs: exs, noise: ss}
	c.run(t, bbOps, bbSteps)
}

// The same with an IOContext run by three goroutines: the steps run on those goroutines only, on
// the strand.
func TestBlackboxStepsHandlerBoundToStrandOverMultiRunIOContext(t *testing.T) {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	runners := &bbSet{}
	var wg sync.WaitGroup
	ready := make(chan struct{}, 3)
	for range 3 {
		wg.Go(func() { runners.add(bbGID()); ready <- struct{}{}; ioc.Run() })
	}
	for range 3 {
		<-ready
	}
	defer func() { guard.Reset(); wg.Wait() }()
	ss, ds, exs := bbStrands(ioc, 3, "bound strand over multi-run IOContext")
	c := &bbSerialRun{io: ioc, bindTo: ss, domains: ds, stepExs: exs, allowed: runners, noise: ss}
	c.run(t, bbOps, bbSteps)
}

// "The I/O object on a strand ... the handler has no executor, so the steps and the handler run on
// the socket's strand."
func TestBlackboxStepsIOObjectOnStrandOverPool(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	_, ds, exs := bbStrands(pool.Executor(), 4, "I/O strand over pool")
	c := &bbSerialRun{io: pool.Executor(), ioOf: exs, domains: ds, stepExs: exs, noise: nil}
	// The I/O executor of op i is its strand; starts "from a handler of the I/O executor" post to
	// the pool, which is where a caller of the socket's operation might be too.
	c.run(t, bbOps, bbSteps)
}

// The handler bound to one strand, the I/O object on another: Asio's rule puts the steps on the
// handler's strand, not the I/O object's.
func TestBlackboxStepsHandlerStrandWinsOverIOStrand(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	hs, ds, exs := bbStrands(pool.Executor(), 3, "handler strand")
	_, _, ioExs := bbStrands(pool.Executor(), 2, "io strand")
	c := &bbSerialRun{io: pool.Executor(), ioOf: ioExs, bindTo: hs, domains: ds, stepExs: exs, noise: hs}
	c.run(t, bbOps, bbSteps)
}

// "An IOContext run by one goroutine is an implicit strand and needs neither": the steps run on
// the one Run goroutine, whoever starts the operation and whichever goroutine completes its
// inner operations.
func TestBlackboxStepsOneRunGoroutineIsAnImplicitStrand(t *testing.T) {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	runners := &bbSet{}
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { runners.add(bbGID()); close(ready); ioc.Run() })
	<-ready
	defer func() { guard.Reset(); wg.Wait() }()
	d := &bbDomain{name: "one-goroutine IOContext", on: ioc.RunningInThisThread}
	c := &bbSerialRun{io: ioc, domains: []*bbDomain{d}, stepExs: []executor.Executor{ioc}, allowed: runners}
	c.run(t, bbOps, bbSteps)
}

// A handler bound to a strand over a one-goroutine IOContext whose I/O executor is a ThreadPool:
// the steps run on the other context's goroutine.
func TestBlackboxStepsHandlerBoundToAnotherContext(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	runners := &bbSet{}
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { runners.add(bbGID()); close(ready); ioc.Run() })
	<-ready
	defer func() { guard.Reset(); wg.Wait() }()
	d := &bbDomain{name: "handler's one-goroutine IOContext", on: ioc.RunningInThisThread}
	// Bind to the IOContext itself: a one-goroutine IOContext is serial.
	c := &bbSerialRun{io: pool.Executor(), domains: []*bbDomain{d}, stepExs: []executor.Executor{ioc}, allowed: runners}
	f := newBBForeign(2)
	defer f.close()
	bad := &bbBad{}
	var done sync.WaitGroup
	const ops = 600
	done.Add(ops)
	for i := range ops {
		s := &bbStepOp{d: d, io: c.io, f: f, stepEx: ioc, allowed: runners, bad: bad, steps: bbSteps, kind: i}
		h := completion.Bind(executor.Executor(ioc), completion.Callback(func(r bbRes) {
			d.enter()
			s.where("the final handler")
			d.exit()
			done.Done()
		}))
		if i%2 == 0 {
			composed.Start(c.io, h, s.step)
		} else {
			pool.Executor().Post(func() { composed.Start(c.io, h, s.step) })
		}
	}
	ch := make(chan struct{})
	go func() { done.Wait(); close(ch) }()
	bbWait(t, ch, "every final handler")
	bad.report(t)
	d.check(t)
}
