//go:build linux && !beastgo_portable

package net_test

// On the epoll path, a socket on a wrapping executor uses its context's reactor, not the
// process-wide one (which runs a goroutine of its own): with nobody inside the context's run
// calls, a pending read has no goroutine of the net package serving it, and the read completes on
// the goroutine that then calls RunOne.

import (
	"bytes"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// bbNetGoroutines counts the goroutines with a frame of the net package and none of a test or of
// the runtime's cleanups.
func bbNetGoroutines() int { n, _ := bbNetGoroutineStacks(); return n }

// bbNetGoroutineStacks returns those goroutines' count and stacks.
func bbNetGoroutineStacks() (int, string) {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 2)
	n := 0
	var out []string
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "github.com/beastgo/beast/net.") && !strings.Contains(g, "net_test.") && !strings.Contains(g, "net.TestMain") &&
			// The runtime's cleanup goroutine closing a dead IOContext's reactor: not a server.
			!strings.Contains(g, "runtime.runCleanups") && !strings.Contains(g, "runtime.runfinq") {
			n++
			out = append(out, g)
		}
	}
	return n, strings.Join(out, "\n\n")
}

// bbSettle waits (a bounded poll, as goleak does) for the goroutines of the net package that
// earlier tests left finishing (a System executor's handler goroutines, the process-wide
// reactor's goroutine winding down) to end, so the count below sees only this test's.
func bbSettle() int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := bbNetGoroutines()
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(time.Millisecond)
	}
}

// bbDrive runs ioc's handlers on this goroutine until done is closed.
func bbDrive(ioc *executor.IOContext, done <-chan struct{}) {
	ioc.Restart()
	for {
		select {
		case <-done:
			return
		default:
		}
		ioc.RunOne()
	}
}

func TestBlackboxWrappingExecutorUsesTheContextsReactor(t *testing.T) {
	ioc := executor.NewIOContext()
	var calls atomic.Int64
	ex := bbTracing{ioc, &calls}
	ln := bbStdListener(t)
	s := net.NewTCPSocket(ex)
	defer s.Close()
	fc := completion.NewFuture[error]()
	s.AsyncConnect(bbAddrPort(t, ln.Addr()), fc)
	peer, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	bbDrive(ioc, fc.Done())
	if err := fc.Wait(); err != nil {
		t.Fatal(err)
	}
	before := bbSettle()
	fr := completion.NewFuture[net.IOResult]()
	var ranOn uint64
	s.AsyncReadSome(make([]byte, 8), completion.Callback(func(res net.IOResult) { ranOn = bbGoid(); fr.Complete(res) }))
	if after, stacks := bbNetGoroutineStacks(); after > before {
		t.Errorf("a read pending on a wrapping executor's socket, nobody in Run: %d goroutines of the net package, %d before:\n%s", after, before, stacks)
	}
	if _, err := peer.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	bbDrive(ioc, fr.Done())
	if res := fr.Wait(); res.Err != nil || res.N != 2 {
		t.Errorf("read: %d, %v", res.N, res.Err)
	}
	if ranOn != bbGoid() {
		t.Errorf("the read completed on goroutine %d, not on the one calling RunOne (%d)", ranOn, bbGoid())
	}

	// The control: a socket on System uses the process-wide reactor, with its own goroutine while
	// anything is registered (docs/net.md), which the count above would have seen.
	sys := net.NewTCPSocket(executor.System{})
	if err := completion.Await(func(h completion.Handler[error]) { sys.AsyncConnect(bbAddrPort(t, ln.Addr()), h) }); err != nil {
		t.Fatal(err)
	}
	speer, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	fs := completion.NewFuture[net.IOResult]()
	sys.AsyncReadSome(make([]byte, 8), fs)
	if n := bbNetGoroutines(); n == 0 {
		t.Errorf("control: a read pending on a System socket shows no goroutine of the net package; the check above proves nothing")
	}
	speer.Close()
	fs.Wait()
	sys.Close()
}
