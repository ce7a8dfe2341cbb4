package net_test

import (
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// This file holds what the tests of the composed helpers share: a handler that records its
// deliveries, and the fault-injection sweep that fails each inner operation of a helper in turn.

var modes = []struct {
	name string
	mode nettest.Mode
}{{"Immediate", nettest.Immediate}, {"Later", nettest.Later}}

var errBoom = errors.New("boom")

// recorder is a callback handler that records every result it receives, and whether it was
// called inside the call that started its operation (which it must never be).
type recorder struct {
	got      []net.IOResult
	starting bool // set while inside the initiating call
	inline   bool
}

// start calls initiate with the recorder's handler, noting the call.
func (r *recorder) start(initiate func(completion.Handler[net.IOResult])) {
	r.starting = true
	initiate(completion.Callback(func(res net.IOResult) {
		if r.starting {
			r.inline = true
		}
		r.got = append(r.got, res)
	}))
	r.starting = false
}

// once checks the operation completed exactly once, not inline, and returns its result.
func (r *recorder) once(t *testing.T) net.IOResult {
	t.Helper()
	if r.inline {
		t.Fatal("handler called inside the initiating call")
	}
	if len(r.got) != 1 {
		t.Fatalf("handler called %d times, want once: %+v", len(r.got), r.got)
	}
	return r.got[0]
}

// runInHandler starts an operation from a handler of ioc (where a wrong inline completion would
// show, since Dispatch runs inline there), runs ioc until it is out of work, and returns the
// operation's one result.
func runInHandler(t *testing.T, ioc *executor.IOContext, initiate func(completion.Handler[net.IOResult])) net.IOResult {
	t.Helper()
	var r recorder
	ioc.Restart()
	ioc.Post(func() { r.start(initiate) })
	ioc.Run()
	return r.once(t)
}

// sweepFailures walks a failure through every inner operation of a helper. run performs the
// helper once on a fresh pair whose counted end uses fc, checks what it can (the bytes moved are
// the right ones), and returns the helper's result. The sweep first runs it with a FailCount that
// only counts, to learn k, the number of inner operations (which must be wantOps), and then for
// n = 1..k fails the nth: the helper must complete exactly once (run's recorder checks that) with
// the injected error and with N == moved(n), the bytes moved by the n-1 operations before it.
func sweepFailures(t *testing.T, wantOps int, moved func(n int) int, run func(t *testing.T, fc *nettest.FailCount) net.IOResult) {
	t.Helper()
	counter := nettest.NewFailCount(0, nil)
	if res := run(t, counter); res.Err != nil {
		t.Fatalf("without failures: %+v", res)
	}
	k := counter.Count()
	if k != wantOps {
		t.Fatalf("the helper made %d inner operations, want %d", k, wantOps)
	}
	for n := 1; n <= k; n++ {
		res := run(t, nettest.NewFailCount(n, errBoom))
		if want := (net.IOResult{N: moved(n), Err: errBoom}); res != want {
			t.Fatalf("failing operation %d of %d: got %+v, want %+v", n, k, res, want)
		}
	}
}

// chunks returns the number of operations of at most chunk bytes (0: no limit) that move total.
func chunks(total, chunk int) int {
	if chunk == 0 || total == 0 {
		return 1
	}
	return (total + chunk - 1) / chunk
}

// movedBefore returns the bytes that n-1 operations of at most chunk bytes move out of total.
func movedBefore(n, total, chunk int) int {
	if chunk == 0 {
		chunk = total
	}
	return min((n-1)*chunk, total)
}
