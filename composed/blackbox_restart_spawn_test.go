package composed_test

// Black-box tests of a kept Op started again from its own handler on another strand, and of a
// spawned body serialised with its strand's other handlers over a pool.

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

type bbRestarted struct {
	op    composed.Op[bbRes]
	ds    []*bbDomain
	cur   *bbDomain
	slot  composed.Slot[bbRes]
	f     *bbForeign
	io    executor.Executor
	steps int
	n     int
	again func()
}

func (r *bbRestarted) Step(op *composed.Op[bbRes]) {
	r.cur.enter()
	defer r.cur.exit()
	if !op.Resumed() {
		r.n = 0
		if r.again != nil {
			r.again()
		}
	}
	r.n++
	if r.n > r.steps {
		op.Complete(bbRes{V: r.n})
		return
	}
	bbInner(r.n, r.io, r.f, r.n, composed.Into(op, &r.slot))
}

// "An Op may be started again once its handler has been called, from inside the handler too,
// whatever executor it runs on; starting it while it is still in flight panics." Each run's
// handler is bound to the next of three strands over a pool and starts the next run.
func TestBlackboxKeptOpRestartedAcrossStrands(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	ss, ds, _ := bbStrands(pool.Executor(), 3, "restart strand")
	f := newBBForeign(2)
	defer f.close()
	r := &bbRestarted{ds: ds, f: f, io: pool.Executor(), steps: 3}
	const runs = 600
	var count int
	done := make(chan struct{})
	var inFlightPanic atomic.Int32
	var h completion.Handler[bbRes]
	var startNext func()
	startNext = func() {
		c := count // the run started below may end, and its handler count, at once
		i := c % len(ss)
		r.cur = ds[i]
		r.again = nil
		if c%50 == 0 { // the first step starts the Op again, in flight for sure
			r.again = func() {
				if bbPanic(func() { r.op.Start(r.io, completion.Bind(executor.Executor(ss[i]), h), r) }) != nil {
					inFlightPanic.Add(1)
				}
			}
		}
		r.op.Start(r.io, completion.Bind(executor.Executor(ss[i]), h), r)
	}
	h = completion.Callback(func(res bbRes) {
		d := r.cur
		d.enter()
		if res.V != r.steps+1 {
			t.Errorf("run %d: result %+v", count, res)
		}
		count++
		d.exit()
		if count == runs {
			close(done)
			return
		}
		startNext() // from inside the handler, on the strand of the run that ended
	})
	startNext()
	bbWait(t, done, "the runs")
	if want := int32((runs + 49) / 50); inFlightPanic.Load() != want {
		t.Errorf("Start of an Op in flight panicked %d times, want %d", inFlightPanic.Load(), want)
	}
	for _, d := range ds {
		d.check(t)
	}
}

// Spawn: "its code between awaits is serialised with ex's other handlers exactly as a handler of
// ex is (on a strand, with the strand's other handlers)". Bodies spawned on strands over a pool,
// with plain handlers on the same strands, inner operations completing from other goroutines.
func TestBlackboxSpawnSerialisedWithItsStrand(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	ss, _, _ := bbStrands(pool.Executor(), 3, "spawn strand")
	ds := []*bbDomain{{name: "spawn#0"}, {name: "spawn#1"}, {name: "spawn#2"}} // the body is on a goroutine of its own
	f := newBBForeign(2)
	defer f.close()
	const n = 150
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		s, d := ss[i%3], ds[i%3]
		composed.Spawn(s, completion.Callback(func(r bbRes) {
			if r.V != 4 {
				t.Errorf("spawned result %+v", r)
			}
			wg.Done()
		}), func(y *composed.Yield) bbRes {
			v := 0
			for k := range 4 {
				d.enter()
				d.exit()
				r := composed.Await(y, func(h completion.Handler[bbRes]) { bbInner(k+i, s, f, 1, h) })
				d.enter()
				v += r.V
				d.exit()
			}
			return bbRes{V: v}
		})
		s.Post(func() { d.enter(); d.exit() })
	}
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	bbWait(t, ch, "the spawned operations")
	for _, d := range ds {
		d.check(t)
	}
}
