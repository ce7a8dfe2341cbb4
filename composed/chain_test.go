package composed_test

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// Guarantee 4: a chain of inner operations that complete at once neither grows the stack nor
// starves the executor's other handlers.

// chainKind is how each inner operation of a chain completes at once.
type chainKind struct {
	name  string
	start func(obj *testIO, v int, h completion.Handler[opResult])
}

var chainKinds = []chainKind{
	{"posted at once", func(obj *testIO, v int, h completion.Handler[opResult]) { obj.AsyncImmediate(v, h) }},
	{"inline, inside the initiating call", func(obj *testIO, v int, h completion.Handler[opResult]) { obj.AsyncInline(v, h) }},
}

// depthTracker records the stack depth of a chain's steps: the first and the deepest seen.
type depthTracker struct{ first, deepest int }

func (d *depthTracker) sample() {
	n := stackDepth()
	if d.first == 0 {
		d.first = n
	}
	d.deepest = max(d.deepest, n)
}

// check fails the test if the stack grew along the chain. A few frames of slack allow for the
// executor's own loop being entered by different paths; a chain that recursed would be thousands
// of frames deep.
func (d *depthTracker) check(t *testing.T) {
	t.Helper()
	if d.first == 0 {
		t.Fatal("no stack depth was sampled")
	}
	if d.deepest > d.first+16 {
		t.Fatalf("the stack grew along the chain: %d frames at the first step, %d at the deepest", d.first, d.deepest)
	}
}

func TestStartChainOfAMillionImmediateOperations(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 50_000
	}
	for _, tok := range tokens {
		for _, kind := range chainKinds {
			t.Run(tok.name+"/"+kind.name, func(t *testing.T) {
				io := executor.NewIOContext()
				obj := newTestIO(io)
				h, p := tok.new(nil)
				var depth depthTracker
				otherRanAt := -1 // the step count when the handler posted early in the chain ran
				var slot composed.Slot[opResult]
				i := 0
				var mismatch bool
				composed.Start(io, h, func(op *composed.Op[opResult]) {
					if op.Resumed() {
						if slot.Value.V != i {
							mismatch = true
						}
					}
					if i%1024 == 0 || i == n {
						depth.sample()
					}
					if i == n {
						op.Complete(opResult{V: i})
						return
					}
					if i == 10 {
						io.Post(func() { otherRanAt = i })
					}
					i++
					kind.start(obj, i, composed.Into(op, &slot))
				})
				io.Run()
				expectResult(t, p, opResult{V: n})
				if mismatch {
					t.Fatal("a step saw another step's result")
				}
				depth.check(t)
				if otherRanAt < 0 || otherRanAt >= n {
					t.Fatalf("a handler posted at step 10 ran at step %d of %d: the chain starved it", otherRanAt, n)
				}
			})
		}
	}
}

func TestSpawnChainOfImmediateOperations(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 10_000
	}
	for _, tok := range tokens {
		for _, kind := range chainKinds {
			t.Run(tok.name+"/"+kind.name, func(t *testing.T) {
				io := executor.NewIOContext()
				obj := newTestIO(io)
				// The body's goroutine has a stack of its own, flat by construction; the one that
				// could grow is the executor's, where completions resume the operation. Posted
				// completions are sampled there.
				var depth depthTracker
				completions := 0
				obj.onComplete = func() {
					if completions%256 == 0 {
						depth.sample()
					}
					completions++
				}
				h, p := tok.new(nil)
				otherRanAt := -1
				step := 0 // written by the body, read by the other handler: both serialised on io
				composed.Spawn(io, h, func(y *composed.Yield) opResult {
					for step = 1; step <= n; step++ {
						if step == 10 {
							io.Post(func() { otherRanAt = step })
						}
						if r := composed.Await(y, func(h completion.Handler[opResult]) { kind.start(obj, step, h) }); r.V != step {
							return opResult{V: -step}
						}
					}
					return opResult{V: n}
				})
				io.Run()
				expectResult(t, p, opResult{V: n})
				if kind.name == "posted at once" {
					depth.check(t)
				}
				if otherRanAt < 0 || otherRanAt >= n {
					t.Fatalf("a handler posted at step 10 ran at step %d of %d: the chain starved it", otherRanAt, n)
				}
			})
		}
	}
}
