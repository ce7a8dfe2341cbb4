package executor_test

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/executor"
)

// bbGoid reads the calling goroutine's id out of runtime.Stack: slow, but independent of the
// package's own goroutine identification, so the black-box tests can check "inline" claims.
func bbGoid() uint64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	b := bytes.TrimPrefix(buf[:n], []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("bbGoid: " + err.Error())
	}
	return id
}

// bbGidKnown is what the build promises: goroutines are identified with the gc compiler on amd64
// and arm64 unless built with -tags beastgo_nogid (bbNoGidTag). The tests assert the inline
// behaviour or the documented fallback accordingly, and bbProbeGid checks that the library agrees.
func bbGidKnown() bool {
	return !bbNoGidTag && runtime.Compiler == "gc" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64")
}

// bbProbeGid asks an IOContext whether a handler runs on it.
func bbProbeGid() bool {
	ctx := executor.NewIOContext()
	var in bool
	ctx.Post(func() { in = ctx.RunningInThisThread() })
	ctx.Run()
	return in
}

// bbRunRecover calls run and reports whether it panicked (and with what).
func bbRunRecover(run func() int) (n int, panicked bool, val any) {
	defer func() {
		if r := recover(); r != nil {
			panicked, val = true, r
		}
	}()
	n = run()
	return n, false, nil
}

// bbRunners starts n goroutines calling ctx.Run, each calling it again after a panic in a handler
// (recovered and counted), until a call returns normally. wait waits for all of them.
type bbRunners struct {
	wg     sync.WaitGroup
	panics atomic.Int64
	ran    atomic.Int64
}

func bbStartRunners(ctx *executor.IOContext, n int) *bbRunners {
	r := &bbRunners{}
	for range n {
		r.wg.Go(func() {
			for {
				k, p, _ := bbRunRecover(ctx.Run)
				r.ran.Add(int64(k))
				if !p {
					return
				}
				r.panics.Add(1)
			}
		})
	}
	return r
}

func (r *bbRunners) wait() { r.wg.Wait() }

// bbUserExec is an executor written outside the package that says nothing about itself: it
// forwards to an inner executor without implementing any query interface.
type bbUserExec struct{ in executor.Executor }

func (e *bbUserExec) Post(f func())     { e.in.Post(f) }
func (e *bbUserExec) Dispatch(f func()) { e.in.Dispatch(f) }
func (e *bbUserExec) Defer(f func())    { e.in.Defer(f) }
func (e *bbUserExec) OnWorkStarted()    { e.in.OnWorkStarted() }
func (e *bbUserExec) OnWorkFinished()   { e.in.OnWorkFinished() }

// bbWrapper is a tracing executor that says it wraps its inner one.
type bbWrapper struct{ bbUserExec }

func (e *bbWrapper) Inner() executor.Executor { return e.in }

func bbNewWrapper(in executor.Executor) *bbWrapper { return &bbWrapper{bbUserExec{in}} }

func TestBBGidProbeMatchesBuild(t *testing.T) {
	if got, want := bbProbeGid(), bbGidKnown(); got != want {
		t.Fatalf("IOContext.RunningInThisThread inside a handler = %v; the build (nogid tag %v, %s/%s) promises %v",
			got, bbNoGidTag, runtime.Compiler, runtime.GOARCH, want)
	}
}
