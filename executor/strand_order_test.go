package executor_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/beastgo/beast/executor"
	"github.com/google/go-cmp/cmp"
)

// submit is one of the ways to queue a handler on a strand.
type submit struct {
	name string
	call func(s *executor.Strand, f func())
}

var (
	post     = submit{"Post", (*executor.Strand).Post}
	deferTo  = submit{"Defer", (*executor.Strand).Defer}
	dispatch = submit{"Dispatch", (*executor.Strand).Dispatch}
)

// worker is a goroutine that runs what it is handed, the way a handler hands work to another part
// of a program (a database client, a logger) that answers by posting to the strand.
type worker struct {
	jobs chan func()
	done chan struct{}
}

func startWorker(t *testing.T) *worker {
	w := &worker{jobs: make(chan func()), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for job := range w.jobs {
			job()
		}
	}()
	t.Cleanup(func() {
		close(w.jobs)
		<-w.done
	})
	return w
}

// call runs job on the worker and returns when it has returned: what happens in job happens
// before call returns.
func (w *worker) call(job func()) {
	returned := make(chan struct{})
	w.jobs <- func() {
		job()
		close(returned)
	}
	<-returned
}

// step is one submission made by a handler running on the strand: from inside (the handler itself)
// or from outside (the worker, while the handler waits for it).
type step struct {
	label   string
	outside bool
}

// runScript posts one handler to s that makes the script's submissions, in order, and checks that
// the handlers submitted run in that order: each submission happens before the next, so the strand
// must run them so, whichever goroutine made them.
func runScript(t *testing.T, s *executor.Strand, w *worker, inside, outside submit, script []step) {
	t.Helper()
	var (
		got []string // appended to only by handlers of s
		wg  sync.WaitGroup
	)
	wg.Add(len(script))
	handler := func(label string) func() {
		return func() {
			got = append(got, label)
			wg.Done()
		}
	}
	s.Post(func() {
		for _, st := range script {
			if st.outside {
				w.call(func() { outside.call(s, handler(st.label)) })
			} else {
				inside.call(s, handler(st.label))
			}
		}
	})
	wg.Wait()
	var want []string
	for _, st := range script {
		want = append(want, st.label)
	}
	// wg.Wait orders this read after the handlers' appends.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("inside %s, outside %s: strand broke the order of submissions (-want +got):\n%s",
			inside.name, outside.name, diff)
	}
}

// strandOrderScripts are the interleavings the strand must keep: a handler's own submissions and
// those it causes on another goroutine, in every order.
var strandOrderScripts = [][]step{
	{{"a (inside)", false}, {"b (outside, after a)", true}},
	{{"b (outside)", true}, {"a (inside, after b)", false}},
	{{"a1", false}, {"b1", true}, {"a2", false}, {"b2", true}, {"a3", false}},
	longScript(),
}

// longScript interleaves submissions from inside and outside in runs of different lengths.
func longScript() []step {
	var script []step
	for i, c := range "iioiooiiioooioiiiiooooiooioi" {
		script = append(script, step{fmt.Sprint(i), c == 'o'})
	}
	return script
}

func testStrandOrder(t *testing.T, inner executor.Executor, iterations int) {
	w := startWorker(t)
	s := executor.NewStrand(inner)
	for _, inside := range []submit{post, deferTo} {
		for _, outside := range []submit{post, deferTo, dispatch} {
			for i, script := range strandOrderScripts {
				t.Run(fmt.Sprintf("%s-%s-%d", inside.name, outside.name, i), func(t *testing.T) {
					for range iterations {
						runScript(t, s, w, inside, outside, script)
					}
				})
			}
		}
	}
}

func TestStrandOrderWithHandOffOverThreadPool(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	testStrandOrder(t, pool.Executor(), 200)
}

func TestStrandOrderWithHandOffOverIOContextWithTwoRunGoroutines(t *testing.T) {
	ctx := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ctx)
	var runners sync.WaitGroup
	for range 2 {
		runners.Go(func() { ctx.Run() })
	}
	defer runners.Wait()
	defer guard.Reset()
	testStrandOrder(t, ctx, 200)
}

// TestStrandOrderWithAsynchronousHandOff hands the outside post to another goroutine without
// waiting for it, as a handler that starts an operation and then finishes its own work
// does: however the goroutines interleave, the handler's own post happens before the pool's, so it
// runs first.
func TestStrandOrderWithAsynchronousHandOff(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	s := executor.NewStrand(pool.Executor())
	w := startWorker(t)
	const runs = 5000
	broken := 0
	for range runs {
		var (
			got []string // appended to only by handlers of s
			wg  sync.WaitGroup
		)
		wg.Add(2)
		add := func(label string) func() {
			return func() {
				got = append(got, label)
				wg.Done()
			}
		}
		s.Post(func() {
			s.Post(add("a"))
			w.jobs <- func() { s.Post(add("b")) }
			sink = work(sink) // the rest of the handler, while the worker posts b
		})
		wg.Wait()
		if got[0] != "a" {
			broken++
		}
	}
	if broken != 0 {
		t.Fatalf("b ran before a in %d of %d runs", broken, runs)
	}
}

// sink keeps work from being optimised away; only handlers of one strand touch it.
var sink uint64

// work stands for a handler's own computation: some microseconds of it.
func work(x uint64) uint64 {
	for i := range 20_000 {
		x = x*6364136223846793005 + uint64(i)
	}
	return x
}
