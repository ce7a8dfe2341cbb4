package websocket_test

// Black-box tests of a read waiting idle between messages, written from docs/websocket.md ("What
// an idle connection holds", "Closing", "Timeouts", "Where handlers run") and go doc only: a read
// started between frames waits for the next frame's first bytes without holding its state, and
// every documented promise must hold whatever happens while it waits. Each test is bounded: a
// promise broken by a hang fails the test after irBound instead of hanging it, and no assertion
// depends on how long anything takes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	stdnet "net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// irBound bounds every wait of these tests.
const irBound = 20 * time.Second

// irOp records one operation's handler, which may run on any goroutine: how many times it ran,
// whether it ran inside the initiating call or off the executor it must run on, and its first
// result, which a goroutine waits for.
type irOp[R any] struct {
	on       func() bool // where the handler must run (nil: anywhere)
	hook     func(R)     // called inside the handler, before the result is recorded
	calls    atomic.Int32
	inside   atomic.Bool
	off      atomic.Bool
	returned atomic.Bool
	res      R
	done     chan struct{}
	started  chan struct{}
}

func newIROp[R any](on func() bool, hook func(R)) *irOp[R] {
	return &irOp[R]{on: on, hook: hook, done: make(chan struct{}), started: make(chan struct{})}
}

// handler returns the operation's handler, bound to ex when ex is not nil.
func (op *irOp[R]) handler(ex executor.Executor) completion.Handler[R] {
	var h completion.Handler[R] = completion.Callback(func(v R) {
		if !op.returned.Load() {
			op.inside.Store(true)
		}
		if op.on != nil && gid.Known && !op.on() {
			op.off.Store(true)
		}
		if op.hook != nil {
			op.hook(v)
		}
		if op.calls.Add(1) == 1 {
			op.res = v
			close(op.done)
		}
	})
	if ex != nil {
		h = completion.Bind(ex, h)
	}
	return h
}

// begin starts the operation with its handler, on the calling goroutine.
func (op *irOp[R]) begin(ex executor.Executor, start func(h completion.Handler[R])) {
	start(op.handler(ex))
	op.returned.Store(true)
	close(op.started)
}

// irGo starts an operation from a handler posted to ex (the stream's strand, or its IOContext),
// its handler bound to ex, and returns its record at once.
func irGo[R any](ex executor.Executor, on func() bool, hook func(R), start func(h completion.Handler[R])) *irOp[R] {
	op := newIROp(on, hook)
	irStarted.Lock()
	irStarted.checks = append(irStarted.checks, op.check)
	irStarted.Unlock()
	ex.Post(func() { op.begin(ex, start) })
	return op
}

// irStarted holds a check of each operation irGo started since irCheckOnce last ran.
var irStarted struct {
	sync.Mutex
	checks []func() error
}

// irForget drops the checks of operations started before, by a test that may have failed.
func irForget() {
	irStarted.Lock()
	irStarted.checks = nil
	irStarted.Unlock()
}

// irCheckOnce fails the test unless every operation irGo started since the last check has had its
// handler called exactly once, after its initiating call returned, where it must run. Call it once
// nothing can run any more (after irRunner.drain).
func irCheckOnce(t *testing.T) {
	t.Helper()
	irStarted.Lock()
	checks := irStarted.checks
	irStarted.checks = nil
	irStarted.Unlock()
	for i, c := range checks {
		if err := c(); err != nil {
			t.Fatalf("operation %d of %d: %v", i+1, len(checks), err)
		}
	}
}

// irNow starts an operation on the calling goroutine, for a stream whose executor nobody is
// running at the moment (the test's goroutine runs it afterwards).
func irNow[R any](on func() bool, start func(h completion.Handler[R])) *irOp[R] {
	op := newIROp[R](on, nil)
	op.begin(nil, start)
	return op
}

// wait waits for the handler's first call and returns its result, failing the test after irBound
// or if the handler ran inside the initiating call or off its executor.
func (op *irOp[R]) wait(t *testing.T, what string) R {
	t.Helper()
	select {
	case <-op.done:
	case <-time.After(irBound):
		t.Fatalf("%s: handler not called within %v", what, irBound)
	}
	if op.inside.Load() {
		t.Fatalf("%s: handler ran inside the initiating call", what)
	}
	if op.off.Load() {
		t.Fatalf("%s: handler ran off its executor", what)
	}
	return op.res
}

// check reports what is wrong with the handler's calls, once nothing can run any more.
func (op *irOp[R]) check() error {
	switch {
	case op.calls.Load() != 1:
		return fmt.Errorf("handler ran %d times, want exactly once", op.calls.Load())
	case op.inside.Load():
		return errors.New("handler ran inside the initiating call")
	case op.off.Load():
		return errors.New("handler ran off its executor")
	}
	return nil
}

// isDone reports whether the handler has run.
func (op *irOp[R]) isDone() bool { return op.calls.Load() > 0 }

// once fails the test unless the handler ran exactly once; call it once nothing can run any more.
func (op *irOp[R]) once(t *testing.T, what string) {
	t.Helper()
	if n := op.calls.Load(); n != 1 {
		t.Fatalf("%s: handler ran %d times, want exactly once", what, n)
	}
}

// irRunner runs an executor on goroutines of its own until drain.
type irRunner struct {
	ex      executor.Executor
	join    func() // releases the runner's hold and waits for its goroutines
	stop    func()
	drained bool
}

// irRunIOC runs ioc with n goroutines, kept running by a work guard until drain.
func irRunIOC(t *testing.T, ioc *executor.IOContext, n int) *irRunner {
	guard := executor.MakeWorkGuard(ioc)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { ioc.Run() })
	}
	r := &irRunner{ex: ioc, join: func() { guard.Reset(); wg.Wait() }, stop: ioc.Stop}
	t.Cleanup(func() { r.drain(t) })
	return r
}

// irRunPool runs a ThreadPool of n goroutines until drain.
func irRunPool(t *testing.T, n int) *irRunner {
	pool := executor.NewThreadPool(n)
	r := &irRunner{ex: pool.Executor(), join: pool.Join, stop: pool.Stop}
	t.Cleanup(func() { r.drain(t) })
	return r
}

// drain lets the goroutines return once the executor runs out of work and waits for them: every
// operation started has completed and nothing counts work any more. It fails the test when work
// is still counted after irBound (an operation that never completed, a leak). After a failure it
// stops the executor at once.
func (r *irRunner) drain(t *testing.T) {
	t.Helper()
	if r.drained {
		return
	}
	r.drained = true
	if t.Failed() {
		r.stop()
		r.join()
		return
	}
	done := make(chan struct{})
	go func() { r.join(); close(done) }()
	select {
	case <-done:
	case <-time.After(irBound):
		r.stop()
		<-done
		t.Errorf("work still counted %v after the end: an operation never completed", irBound)
	}
}

// irPump runs ioc on the calling goroutine until cond holds, failing the test after irBound.
func irPump(t *testing.T, ioc *executor.IOContext, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(irBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %v", what, irBound)
		}
		ioc.RunFor(2 * time.Millisecond)
		ioc.Restart()
	}
}

// irSettle runs the handlers that are ready, and those they post, without waiting.
func irSettle(ioc *executor.IOContext) {
	for ioc.Poll() > 0 {
	}
	ioc.Restart()
}

// irOutOfWork runs ioc on the calling goroutine until it runs out of work, failing the test if it
// still counts work after irBound: an operation left pending.
func irOutOfWork(t *testing.T, ioc *executor.IOContext, what string) {
	t.Helper()
	deadline := time.Now().Add(irBound)
	for {
		ioc.RunFor(5 * time.Millisecond)
		if ioc.Stopped() {
			ioc.Restart()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: work still counted after %v: an operation never completed", what, irBound)
		}
	}
}

// irCancelErr reports whether err is the error of an operation cancelled through a context whose
// error is cause: it matches cause and completion.ErrOperationAborted.
func irCancelErr(err, cause error) bool {
	return errors.Is(err, cause) && errors.Is(err, completion.ErrOperationAborted)
}

// irSameErr reports whether later is the error first again, as a later operation on a stream
// that first ended gets it: the same text, and matching every sentinel first matches. (It may be a
// distinct value: a cancellation's error is a *completion.CanceledError made per operation.)
func irSameErr(later, first error) bool {
	if later == nil || later.Error() != first.Error() {
		return false
	}
	for _, target := range []error{context.Canceled, context.DeadlineExceeded, completion.ErrOperationAborted, websocket.ErrTimeout,
		websocket.ErrClosed, websocket.ErrProtocol, io.EOF, stdnet.ErrClosed} {
		if errors.Is(first, target) != errors.Is(later, target) {
			return false
		}
	}
	return true
}

// irPayload returns n bytes of a message: ASCII for a text message, anything for a binary one.
func irPayload(rng *rand.Rand, n int, text bool) []byte {
	b := make([]byte, n)
	for i := range b {
		if text {
			b[i] = byte('a' + rng.IntN(26))
		} else {
			b[i] = byte(rng.IntN(256))
		}
	}
	return b
}

// irStreamEnded checks, from the test goroutine while nobody runs ioc, that s ended with first:
// not open, a later read and write failing with first's error, its next layer own closed.
func irStreamEnded(t *testing.T, ioc *executor.IOContext, s *websocket.Stream, own *nettest.Stream, first error, name string) {
	t.Helper()
	if s.IsOpen() {
		t.Fatalf("%s: stream still open after %v", name, first)
	}
	r := irNow(ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
	w := irNow(ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("x"), h) })
	irPump(t, ioc, name+": later operations", func() bool { return r.isDone() && w.isDone() })
	for _, e := range []error{r.wait(t, name+" later read").Err, w.wait(t, name+" later write").Err} {
		if !irSameErr(e, first) {
			t.Fatalf("%s: a later operation failed with %v, want the error that ended the stream, %v", name, e, first)
		}
	}
	if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
		t.Fatalf("%s: next layer still open after %v (Close: %v)", name, first, err)
	}
}

// docs/websocket.md, "Timeouts": "Cancelling a read [...] closes the next layer at once, since a
// frame may be half read [...]: the error matches context.Canceled [...] and
// completion.ErrOperationAborted, and every later operation fails with it"; and "What an idle
// connection holds": a read started between frames waits for the next frame's first bytes without
// its state, and "Either way the read follows the same rules, cancellation included". A read waits
// idle; the first k bytes of the next message arrive (k from 0, nothing, to all of them), and then
// its context is cancelled. Until every byte has come the read cannot have completed, so it fails
// with the cancellation and the stream is over; with every byte in, the read has the whole
// message and the stream stays usable. Both roles, both nettest modes, whole reads and a byte at
// a time; AsyncRead over a message of two frames with a ping between them, and AsyncReadSome
// started between those two frames.
func TestBBIdleReadCancelAfterKBytes(t *testing.T) {
	for _, role := range roles {
		masked := role == websocket.RoleServer
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			for _, readSize := range []int{0, 1} {
				o := nettest.Options{Mode: mode, ReadSize: readSize}
				// AsyncRead: the whole message, started idle before it.
				input := cat(rawFrame(false, websocket.OpText, masked, []byte("hello, ")), rawFrame(true, websocket.OpPing, masked, []byte("p")),
					rawFrame(true, websocket.OpContinuation, masked, []byte("world")))
				for k := 0; k <= len(input); k++ {
					name := fmt.Sprintf("%s/mode%d/size%d/read/k=%d", roleName(role), mode, readSize, k)
					irCancelAfterK(t, name, role, o, input, k)
				}
				// AsyncReadSome started between the message's two frames, after a ReadSome took the
				// first one whole: it completes once a byte of the second frame's payload is in.
				first := rawFrame(false, websocket.OpText, masked, []byte("hello, "))
				ping := rawFrame(true, websocket.OpPing, masked, []byte("p"))
				second := rawFrame(true, websocket.OpContinuation, masked, []byte("world"))
				rest := cat(ping, second)
				payloadAt := len(ping) + len(second) - len("world") // bytes of rest before the first payload byte
				for k := 0; k <= len(rest); k++ {
					name := fmt.Sprintf("%s/mode%d/size%d/readsome/k=%d", roleName(role), mode, readSize, k)
					irCancelAfterKSome(t, name, role, o, first, rest, k, payloadAt)
				}
			}
		}
	}
}

// irFeedThenCancel starts a read bound to a context on the test's IOContext, lets it wait idle,
// gives its next layer own the first k bytes of input, cancels the context, and returns the read's
// result once its handler has run.
func irFeedThenCancel(t *testing.T, p *bbPair, own *nettest.Stream, input []byte, k int, name string,
	start func(ctx context.Context, h completion.Handler[net.IOResult])) (*irOp[net.IOResult], net.IOResult) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { start(ctx, h) })
	irSettle(p.ioc) // the read waits idle
	if rd.isDone() {
		t.Fatalf("%s: read completed with nothing to read: %+v", name, rd.res)
	}
	if k > 0 {
		own.Append(input[:k])
		irSettle(p.ioc)
	}
	cancel()
	irPump(t, p.ioc, name, rd.isDone)
	return rd, rd.wait(t, name)
}

// irCancelAfterK runs one case of TestBBIdleReadCancelAfterKBytes for AsyncRead.
func irCancelAfterK(t *testing.T, name string, role websocket.Role, o nettest.Options, input []byte, k int) {
	t.Helper()
	p := openBBPair(t, o, o, nil, nil)
	s, own, _ := p.ends(role)
	var buf net.FlatBuffer
	rd, res := irFeedThenCancel(t, p, own, input, k, name, func(ctx context.Context, h completion.Handler[net.IOResult]) {
		s.AsyncRead(&buf, completion.WithContext(ctx, h))
	})
	if k < len(input) {
		if !irCancelErr(res.Err, context.Canceled) {
			t.Fatalf("%s: read %+v with %d of %d bytes in, want the cancellation", name, res, k, len(input))
		}
		irStreamEnded(t, p.ioc, s, own, res.Err, name)
	} else {
		if res.Err != nil || res.N != len("hello, world") || string(buf.Bytes()) != "hello, world" {
			t.Fatalf("%s: read %+v %q with the whole message in, want it whole", name, res, buf.Bytes())
		}
		irNextMessage(t, p, role, name)
	}
	irCaseOver(t, p, rd, name)
}

// irCaseOver closes both next layers and checks that the IOContext runs out of work and that the
// read's handler ran once.
func irCaseOver(t *testing.T, p *bbPair, rd *irOp[net.IOResult], name string) {
	t.Helper()
	p.sEnd.Close()
	p.cEnd.Close()
	irOutOfWork(t, p.ioc, name)
	rd.once(t, name)
}

// irCancelAfterKSome runs one case of TestBBIdleReadCancelAfterKBytes for AsyncReadSome.
func irCancelAfterKSome(t *testing.T, name string, role websocket.Role, o nettest.Options, first, rest []byte, k, payloadAt int) {
	t.Helper()
	p := openBBPair(t, o, o, nil, nil)
	s, own, _ := p.ends(role)
	own.Append(first)
	b := make([]byte, 64)
	var got []byte
	for len(got) < len("hello, ") {
		r := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(b, h) })
		irPump(t, p.ioc, name+": first frame", r.isDone)
		if res := r.wait(t, name); res.Err != nil {
			t.Fatalf("%s: reading the first frame: %v", name, res.Err)
		} else {
			got = append(got, b[:res.N]...)
		}
	}
	if string(got) != "hello, " || s.IsMessageDone() {
		t.Fatalf("%s: first frame read as %q, message done %v", name, got, s.IsMessageDone())
	}
	rd, res := irFeedThenCancel(t, p, own, rest, k, name, func(ctx context.Context, h completion.Handler[net.IOResult]) {
		s.AsyncReadSome(b, completion.WithContext(ctx, h))
	})
	if k <= payloadAt {
		if !irCancelErr(res.Err, context.Canceled) {
			t.Fatalf("%s: ReadSome %+v before any payload byte, want the cancellation", name, res)
		}
		irStreamEnded(t, p.ioc, s, own, res.Err, name)
	} else {
		if res.Err != nil || res.N < 1 || res.N > k-payloadAt || string(b[:res.N]) != "world"[:res.N] {
			t.Fatalf("%s: ReadSome %+v %q with %d payload bytes in, want a prefix of them", name, res, b[:res.N], k-payloadAt)
		}
		got := string(b[:res.N])
		own.Append(rest[k:])
		if !s.IsMessageDone() {
			got += string(irReadRest(t, p, s, 64, name+": rest"))
		}
		if got != "world" {
			t.Fatalf("%s: second frame read as %q", name, got)
		}
		irNextMessage(t, p, role, name)
	}
	irCaseOver(t, p, rd, name)
}

// irNextMessage checks that the stream of role still reads: a fresh message appended to its next
// layer is read whole.
func irNextMessage(t *testing.T, p *bbPair, role websocket.Role, name string) {
	t.Helper()
	s, own, _ := p.ends(role)
	if !s.IsOpen() {
		t.Fatalf("%s: stream not open", name)
	}
	own.Append(rawFrame(true, websocket.OpBinary, role == websocket.RoleServer, []byte("next")))
	var buf net.FlatBuffer
	r := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&buf, h) })
	irPump(t, p.ioc, name+": next message", r.isDone)
	if res := r.wait(t, name+": next message"); res.Err != nil || string(buf.Bytes()) != "next" || !s.GotBinary() {
		t.Fatalf("%s: next message: %+v %q binary %v", name, res, buf.Bytes(), s.GotBinary())
	}
}

// irRawAccepted is a server Stream opened over a nettest pair by an upgrade request the test
// wrote, with behind appended right behind it in the same bytes: what a client sends when it
// writes its first frame with its request.
func irRawAccepted(t *testing.T, o nettest.Options, behind []byte) *bbPair {
	t.Helper()
	p := newBBPair(t, o, o, nil, nil)
	p.sEnd.Append(append([]byte(upgradeRequest), behind...))
	acc := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[error]) { p.server.AsyncAccept(nil, h) })
	irPump(t, p.ioc, "accept", acc.isDone)
	if err := acc.wait(t, "accept"); err != nil {
		t.Fatalf("accept: %v", err)
	}
	return p
}

// irRawHandshaken is a client Stream opened over a nettest pair by a 101 response the test wrote,
// with behind appended right behind it in the same bytes.
func irRawHandshaken(t *testing.T, o nettest.Options, behind []byte) *bbPair {
	t.Helper()
	p := newBBPair(t, o, o, nil, nil)
	hs := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[error]) { p.client.AsyncHandshake("example.com", "/", nil, h) })
	irSettle(p.ioc)
	m := keyLine.FindSubmatch(p.sEnd.Unread())
	if m == nil {
		t.Fatalf("no Sec-WebSocket-Key in the request %q", p.sEnd.Unread())
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		acceptKey(string(m[1])) + "\r\n\r\n"
	p.cEnd.Append(append([]byte(resp), behind...))
	irPump(t, p.ioc, "handshake", hs.isDone)
	if err := hs.wait(t, "handshake"); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return p
}

// irReadAll reads one whole message with AsyncRead, running the test's IOContext.
func irReadAll(t *testing.T, p *bbPair, s *websocket.Stream, name string) (net.IOResult, []byte) {
	t.Helper()
	var buf net.FlatBuffer
	r := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&buf, h) })
	irPump(t, p.ioc, name, r.isDone)
	return r.wait(t, name), buf.Bytes()
}

// irReadRest reads with AsyncReadSome until the message ends, running the test's IOContext.
func irReadRest(t *testing.T, p *bbPair, s *websocket.Stream, n int, name string) []byte {
	t.Helper()
	var got []byte
	b := make([]byte, n)
	for {
		r := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(b, h) })
		irPump(t, p.ioc, name, r.isDone)
		res := r.wait(t, name)
		if res.Err != nil {
			t.Fatalf("%s: ReadSome: %v", name, res.Err)
		}
		got = append(got, b[:res.N]...)
		if s.IsMessageDone() {
			return got
		}
	}
}

// docs/websocket.md, "Timeouts": "A context already done when an operation starts completes it at
// once (never inside the call) with that error, and the stream is left as it was"; go doc of
// completion.WithContext: the error matches completion.ErrOperationAborted and ctx.Err(). A read
// whose context is done (cancelled, or past its deadline) is started where a read can begin:
// idle right after the opening handshake, idle after a message, with a whole message already
// waiting, between two frames of a message, in the middle of a frame, and with a frame that came
// behind the handshake (from the client behind its request, from the server behind its response)
// not yet taken. Each time its handler runs once with the context's error, the stream stays open,
// and the next read gets exactly what it would have got without the cancelled one.
func TestBBIdleReadDoneContext(t *testing.T) {
	type position struct {
		name string
		// set leaves the stream of role ready for a read, and returns what must be appended after
		// the cancelled read, and how the next reads must find the rest: whole, the message's
		// payload; some, the payload the AsyncReadSome calls must find up to the message's end.
		set func(t *testing.T, o nettest.Options, role websocket.Role) (p *bbPair, after []byte, whole, some string)
	}
	frame := func(role websocket.Role, fin bool, op websocket.Opcode, s string) []byte {
		return rawFrame(fin, op, role == websocket.RoleServer, []byte(s))
	}
	positions := []position{
		{"fresh", func(t *testing.T, o nettest.Options, role websocket.Role) (*bbPair, []byte, string, string) {
			return openBBPair(t, o, o, nil, nil), frame(role, true, websocket.OpText, "one"), "one", ""
		}},
		{"after a message", func(t *testing.T, o nettest.Options, role websocket.Role) (*bbPair, []byte, string, string) {
			p := openBBPair(t, o, o, nil, nil)
			s, own, _ := p.ends(role)
			own.Append(frame(role, true, websocket.OpText, "zero"))
			if res, got := irReadAll(t, p, s, "first message"); res.Err != nil || string(got) != "zero" {
				t.Fatalf("first message: %+v %q", res, got)
			}
			return p, frame(role, true, websocket.OpBinary, "one"), "one", ""
		}},
		{"a message waiting", func(t *testing.T, o nettest.Options, role websocket.Role) (*bbPair, []byte, string, string) {
			p := openBBPair(t, o, o, nil, nil)
			_, own, _ := p.ends(role)
			own.Append(frame(role, true, websocket.OpText, "waiting"))
			return p, nil, "waiting", ""
		}},
		{"between frames", func(t *testing.T, o nettest.Options, role websocket.Role) (*bbPair, []byte, string, string) {
			p := openBBPair(t, o, o, nil, nil)
			s, own, _ := p.ends(role)
			own.Append(frame(role, false, websocket.OpText, "hel"))
			got := []byte{}
			b := make([]byte, 16)
			for len(got) < 3 {
				r := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(b, h) })
				irPump(t, p.ioc, "first frame", r.isDone)
				res := r.wait(t, "first frame")
				if res.Err != nil {
					t.Fatalf("first frame: %v", res.Err)
				}
				got = append(got, b[:res.N]...)
			}
			if string(got) != "hel" || s.IsMessageDone() {
				t.Fatalf("first frame %q, message done %v", got, s.IsMessageDone())
			}
			return p, frame(role, true, websocket.OpContinuation, "lo"), "", "lo"
		}},
		{"mid frame", func(t *testing.T, o nettest.Options, role websocket.Role) (*bbPair, []byte, string, string) {
			p := openBBPair(t, o, o, nil, nil)
			s, own, _ := p.ends(role)
			own.Append(frame(role, true, websocket.OpText, "hello"))
			b := make([]byte, 2)
			r := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(b, h) })
			irPump(t, p.ioc, "part of the frame", r.isDone)
			res := r.wait(t, "part of the frame")
			if res.Err != nil || res.N < 1 || string(b[:res.N]) != "hello"[:res.N] || s.IsMessageDone() {
				t.Fatalf("part of the frame: %+v %q, done %v", res, b[:res.N], s.IsMessageDone())
			}
			return p, nil, "", "hello"[res.N:]
		}},
		{"behind the handshake", func(t *testing.T, o nettest.Options, role websocket.Role) (*bbPair, []byte, string, string) {
			if role == websocket.RoleServer {
				return irRawAccepted(t, o, frame(role, true, websocket.OpText, "behind")), nil, "behind", ""
			}
			return irRawHandshaken(t, o, frame(role, true, websocket.OpText, "behind")), nil, "behind", ""
		}},
	}
	for _, pos := range positions {
		for _, role := range roles {
			for _, o := range []nettest.Options{{}, {Mode: nettest.Later, ReadSize: 1}} {
				for _, kind := range []string{"read", "readsome"} {
					for _, cause := range []error{context.Canceled, context.DeadlineExceeded} {
						name := fmt.Sprintf("%s/%s/mode%d/size%d/%s/%v", pos.name, roleName(role), o.Mode, o.ReadSize, kind, cause)
						p, after, whole, some := pos.set(t, o, role)
						s, own, _ := p.ends(role)
						ctx, cancel := context.WithCancel(context.Background())
						if cause == context.DeadlineExceeded {
							ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
						}
						cancel()
						rd := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) {
							if kind == "read" {
								s.AsyncRead(net.NewFlatBuffer(0), completion.WithContext(ctx, h))
							} else {
								s.AsyncReadSome(make([]byte, 16), completion.WithContext(ctx, h))
							}
						})
						irPump(t, p.ioc, name, rd.isDone)
						if res := rd.wait(t, name); !irCancelErr(res.Err, cause) || res.N != 0 {
							t.Fatalf("%s: read with a done context: %+v, want the context's error", name, res)
						}
						if !s.IsOpen() {
							t.Fatalf("%s: the stream is not open after a read with a done context", name)
						}
						own.Append(after)
						if whole != "" {
							res, got := irReadAll(t, p, s, name+": next read")
							if res.Err != nil || string(got) != whole || res.N != len(whole) {
								t.Fatalf("%s: next read %+v %q, want %q", name, res, got, whole)
							}
						} else if got := irReadRest(t, p, s, 16, name+": next reads"); string(got) != some {
							t.Fatalf("%s: next reads %q, want %q", name, got, some)
						}
						irNextMessage(t, p, role, name)
						p.sEnd.Close()
						p.cEnd.Close()
						irOutOfWork(t, p.ioc, name)
						rd.once(t, name)
					}
				}
			}
		}
	}
}

// docs/websocket.md: "Bytes the client sent behind its request are kept for the first read", and
// "Bytes the server sent behind its response are kept for the first read". The peer writes a
// frame, or a message of several frames and a ping, right behind its handshake in the same bytes,
// whole or with only the first part of it: the first read gets the message, the rest arriving
// later byte by byte; then the stream reads on.
func TestBBIdleReadBehindHandshake(t *testing.T) {
	for _, role := range roles {
		masked := role == websocket.RoleServer
		msg := cat(rawFrame(false, websocket.OpBinary, masked, []byte("behind ")), rawFrame(true, websocket.OpPing, masked, nil),
			rawFrame(true, websocket.OpContinuation, masked, bytes.Repeat([]byte("x"), 200)))
		want := "behind " + string(bytes.Repeat([]byte("x"), 200))
		for _, o := range []nettest.Options{{}, {Mode: nettest.Later}, {ReadSize: 1}, {Mode: nettest.Later, ReadSize: 1}} {
			for _, cut := range []int{0, 1, 2, 9, len(msg) - 1, len(msg)} {
				name := fmt.Sprintf("%s/mode%d/size%d/%d of %d behind", roleName(role), o.Mode, o.ReadSize, cut, len(msg))
				var p *bbPair
				if role == websocket.RoleServer {
					p = irRawAccepted(t, o, msg[:cut])
				} else {
					p = irRawHandshaken(t, o, msg[:cut])
				}
				s, own, peer := p.ends(role)
				var buf net.FlatBuffer
				rd := irNow(p.ioc.RunningInThisThread, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&buf, h) })
				irSettle(p.ioc)
				for i := cut; i < len(msg); i++ {
					if rd.isDone() {
						t.Fatalf("%s: read completed with %d of %d bytes: %+v", name, i, len(msg), rd.res)
					}
					own.Append(msg[i : i+1])
					irSettle(p.ioc)
				}
				irPump(t, p.ioc, name, rd.isDone)
				if res := rd.wait(t, name); res.Err != nil || string(buf.Bytes()) != want || !s.GotBinary() {
					t.Fatalf("%s: first read %+v %q, want the message", name, res, buf.Bytes())
				}
				// The ping was answered: a pong carrying its (empty) payload went out.
				var pongs int
				sent := peer.Unread()
				head := bytes.Index(sent, []byte("\r\n\r\n"))
				frames, tail := parseFrames(sent[head+4:])
				if head < 0 || len(tail) != 0 {
					t.Fatalf("%s: the peer got %q", name, sent)
				}
				for _, f := range frames {
					if f.op == websocket.OpPong {
						pongs++
					}
				}
				if pongs != 1 {
					t.Fatalf("%s: %d pongs sent for one ping", name, pongs)
				}
				irNextMessage(t, p, role, name)
				p.sEnd.Close()
				p.cEnd.Close()
				irOutOfWork(t, p.ioc, name)
				rd.once(t, name)
			}
		}
	}
}

// irSide is one end of an open connection: its Stream, the executor its operations start from and
// complete on (its strand, or the IOContext its next layer is on), and its next layer.
type irSide struct {
	ws   *websocket.Stream
	ex   executor.Executor
	on   func() bool
	next interface{ Close() error }
}

// read starts an AsyncRead of a whole message into a buffer of its own; hook, if not nil, runs
// inside the handler (on the stream's executor) with the buffer.
func (s irSide) read(ctx context.Context, hook func(net.IOResult, *net.FlatBuffer)) *irOp[net.IOResult] {
	buf := new(net.FlatBuffer)
	var h func(net.IOResult)
	if hook != nil {
		h = func(r net.IOResult) { hook(r, buf) }
	}
	return irGo(s.ex, s.on, h, func(h completion.Handler[net.IOResult]) {
		if ctx != nil {
			h = completion.WithContext(ctx, h)
		}
		s.ws.AsyncRead(buf, h)
	})
}

// readMsg starts an AsyncRead whose handler keeps a copy of the message and its kind.
func (s irSide) readMsg(ctx context.Context) (*irOp[net.IOResult], *irMsg) {
	m := new(irMsg)
	return s.read(ctx, func(r net.IOResult, b *net.FlatBuffer) {
		m.data, m.text, m.reason = append([]byte(nil), b.Bytes()...), s.ws.GotText(), s.ws.Reason()
	}), m
}

// irMsg is what a read's handler saw: the message, its kind, and the stream's Reason.
type irMsg struct {
	data   []byte
	text   bool
	reason websocket.CloseReason
}

// write starts an AsyncWrite of b as a text or binary message.
func (s irSide) write(b []byte, text bool) *irOp[net.IOResult] { return s.writeThen(b, text, nil) }

// writeThen is write with hook, if not nil, run inside the handler (on the stream's executor).
func (s irSide) writeThen(b []byte, text bool, hook func(net.IOResult)) *irOp[net.IOResult] {
	return irGo(s.ex, s.on, hook, func(h completion.Handler[net.IOResult]) {
		if text {
			s.ws.SetText()
		} else {
			s.ws.SetBinary()
		}
		s.ws.AsyncWrite(b, h)
	})
}

// close starts an AsyncClose.
func (s irSide) close(cr websocket.CloseReason) *irOp[error] {
	return irGo(s.ex, s.on, nil, func(h completion.Handler[error]) { s.ws.AsyncClose(cr, h) })
}

// irTransport opens connections of one kind on a runner of its own.
type irTransport struct {
	name string
	run  func(t *testing.T) *irRunner
	open func(t *testing.T, r *irRunner, cws, sws *websocket.Options) (client, server irSide)
}

// irIOCRunner runs a fresh IOContext with one goroutine.
func irIOCRunner(t *testing.T) *irRunner { return irRunIOC(t, executor.NewIOContext(), 1) }

// irStrandSide is a side on a strand of its own over ex.
func irStrandSide(ws *websocket.Stream, ex executor.Executor, next interface{ Close() error }) irSide {
	st := executor.NewStrand(ex)
	return irSide{ws: ws, ex: st, on: st.RunningInThisThread, next: next}
}

// irIOCSide is a side whose operations run on ex, an IOContext run by one goroutine.
func irIOCSide(ws *websocket.Stream, ex executor.Executor, next interface{ Close() error }) irSide {
	return irSide{ws: ws, ex: ex, on: executor.ExecutionContext(ex).RunningInThisThread, next: next}
}

var irTransports = []irTransport{
	{"nettest", irIOCRunner, func(t *testing.T, r *irRunner, cws, sws *websocket.Options) (irSide, irSide) {
		return irNettestOpen(t, r, nettest.Options{}, cws, sws)
	}},
	{"nettest-later-byte", irIOCRunner, func(t *testing.T, r *irRunner, cws, sws *websocket.Options) (irSide, irSide) {
		return irNettestOpen(t, r, nettest.Options{Mode: nettest.Later, ReadSize: 1}, cws, sws)
	}},
	{"tcp", irIOCRunner, func(t *testing.T, r *irRunner, cws, sws *websocket.Options) (irSide, irSide) {
		cs, ss := rcTCPPair(t, r.ex)
		t.Cleanup(func() { cs.Close(); ss.Close() })
		return irOpen(t, irIOCSide(websocket.NewStream(cs, cws), r.ex, cs), irIOCSide(websocket.NewStream(ss, sws), r.ex, ss))
	}},
	{"tcp-pool-strands", func(t *testing.T) *irRunner { return irRunPool(t, 2) }, func(t *testing.T, r *irRunner, cws, sws *websocket.Options) (irSide, irSide) {
		cs, ss := rcTCPPair(t, r.ex)
		t.Cleanup(func() { cs.Close(); ss.Close() })
		return irOpen(t, irStrandSide(websocket.NewStream(cs, cws), r.ex, cs), irStrandSide(websocket.NewStream(ss, sws), r.ex, ss))
	}},
	{"tls", irIOCRunner, func(t *testing.T, r *irRunner, cws, sws *websocket.Options) (irSide, irSide) {
		cc, sc := tlsPair(t)
		cn, sn := net.FromConn(cc, r.ex), net.FromConn(sc, r.ex)
		t.Cleanup(func() { cn.Close(); sn.Close() })
		return irOpen(t, irIOCSide(websocket.NewStream(cn, cws), r.ex, cn), irIOCSide(websocket.NewStream(sn, sws), r.ex, sn))
	}},
}

// irNettestOpen opens a client and a server over a nettest pair on r's IOContext.
func irNettestOpen(t *testing.T, r *irRunner, o nettest.Options, cws, sws *websocket.Options) (irSide, irSide) {
	a, b := nettest.NewPair(r.ex, o, o)
	t.Cleanup(func() { a.Close(); b.Close() })
	return irOpen(t, irIOCSide(websocket.NewStream(a, cws), r.ex, a), irIOCSide(websocket.NewStream(b, sws), r.ex, b))
}

// irOpen runs the opening handshake on both sides.
func irOpen(t *testing.T, c, s irSide) (irSide, irSide) {
	t.Helper()
	acc := irGo(s.ex, s.on, nil, func(h completion.Handler[error]) { s.ws.AsyncAccept(nil, h) })
	hs := irGo(c.ex, c.on, nil, func(h completion.Handler[error]) { c.ws.AsyncHandshake("example.com", "/", nil, h) })
	if err := acc.wait(t, "accept"); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if err := hs.wait(t, "handshake"); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return c, s
}

// irOnSide runs f on the side's executor and waits for it.
func irOnSide(t *testing.T, s irSide, f func()) {
	t.Helper()
	done := make(chan struct{})
	s.ex.Post(func() { f(); close(done) })
	select {
	case <-done:
	case <-time.After(irBound):
		t.Fatalf("a step posted to the stream's executor did not run within %v", irBound)
	}
}

// irCountFrames sets the side's control callback to count the control frames of a kind its reads
// receive.
func irCountFrames(t *testing.T, s irSide, kind websocket.FrameType) *atomic.Int32 {
	t.Helper()
	n := new(atomic.Int32)
	irOnSide(t, s, func() {
		s.ws.SetControlCallback(func(k websocket.FrameType, _ []byte) {
			if k == kind {
				n.Add(1)
			}
		})
	})
	return n
}

// irScenario is one thing that happens while a read waits idle, played with me, the side whose
// read waits, and peer, the other side, over every transport and with each role as me.
type irScenario struct {
	name     string
	me, peer *websocket.Options
	only     []string // the transports it runs over (nil: all)
	server   bool     // played only with the server as me
	play     func(t *testing.T, me, peer irSide)
}

// irEndByPeerClose ends a connection whose streams are both open and idle: peer closes while me's
// read waits, which fails with ErrClosed holding the peer's reason.
func irEndByPeerClose(t *testing.T, me, peer irSide, name string) {
	t.Helper()
	rd, m := me.readMsg(nil)
	<-rd.started
	cl := peer.close(websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "done"})
	if err := cl.wait(t, name+": peer's close"); err != nil {
		t.Fatalf("%s: peer's close: %v", name, err)
	}
	if res := rd.wait(t, name+": read during the peer's close"); !errors.Is(res.Err, websocket.ErrClosed) ||
		m.reason != (websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "done"}) {
		t.Fatalf("%s: read during the peer's close: %+v, Reason %+v", name, res, m.reason)
	}
}

// irDeliver checks that rd, a read waiting for a message nobody has sent, is still waiting; then
// peer sends msg as a text message, and rd must get it whole.
func irDeliver(t *testing.T, peer irSide, rd *irOp[net.IOResult], m *irMsg, msg, what string) {
	t.Helper()
	if rd.isDone() {
		t.Fatalf("%s completed with nothing to read: %+v", what, rd.res)
	}
	w := peer.write([]byte(msg), true)
	if res := rd.wait(t, what); res.Err != nil || string(m.data) != msg || !m.text {
		t.Fatalf("%s: %+v %q, want %q", what, res, m.data, msg)
	}
	if res := w.wait(t, "the peer's write"); res.Err != nil {
		t.Fatalf("the peer's write: %+v", res)
	}
}

// irLaterFails checks that a read and a write started on s now fail, with the error want when it
// is not nil (irSameErr), and returns their errors.
func irLaterFails(t *testing.T, s irSide, want error, name string) {
	t.Helper()
	r, m := s.readMsg(nil)
	w := s.write([]byte("late"), false)
	rres, wres := r.wait(t, name+": later read"), w.wait(t, name+": later write")
	for _, e := range []error{rres.Err, wres.Err} {
		if e == nil || (want != nil && !irSameErr(e, want)) {
			t.Fatalf("%s: later operations completed with: read %+v (%q), write %+v; want %v", name, rres, m.data, wres, want)
		}
	}
}

var irSizes = []int{0, 1, 125, 126, 127, 4096, 65535, 65536, 65537}

var irScenarios = []irScenario{
	{name: "messages", play: func(t *testing.T, me, peer irSide) {
		// A read waits idle, then a message comes: each size, text and binary, read whole.
		rng := rand.New(rand.NewPCG(1, 2))
		for i, n := range irSizes {
			text := i%2 == 0
			msg := irPayload(rng, n, text)
			rd, m := me.readMsg(nil)
			<-rd.started
			w := peer.write(msg, text)
			if res := rd.wait(t, "read"); res.Err != nil || res.N != n || !bytes.Equal(m.data, msg) || m.text != text {
				t.Fatalf("message of %d bytes (text %v): read %+v, %d bytes, text %v", n, text, res, len(m.data), m.text)
			}
			if res := w.wait(t, "write"); res.Err != nil || res.N != n {
				t.Fatalf("write of %d bytes: %+v", n, res)
			}
		}
		irEndByPeerClose(t, me, peer, "messages")
	}},
	{name: "second read", play: func(t *testing.T, me, peer irSide) {
		// docs/websocket.md: "A second read while one is in flight [...] completes with
		// ErrOperationInProgress, and the one in flight is not disturbed."
		first, m := me.readMsg(nil)
		<-first.started
		second, _ := me.readMsg(nil)
		some := irGo(me.ex, me.on, nil, func(h completion.Handler[net.IOResult]) { me.ws.AsyncReadSome(make([]byte, 8), h) })
		ctx, cancel := context.WithCancel(context.Background())
		withCtx, _ := me.readMsg(ctx)
		for what, op := range map[string]*irOp[net.IOResult]{"AsyncRead": second, "AsyncReadSome": some, "AsyncRead with a context": withCtx} {
			if res := op.wait(t, what); !errors.Is(res.Err, websocket.ErrOperationInProgress) || res.N != 0 {
				t.Fatalf("second read (%s) while one waits: %+v", what, res)
			}
		}
		cancel() // the second read's context: nothing of the first's
		irDeliver(t, peer, first, m, "undisturbed", "the first read")
		irEndByPeerClose(t, me, peer, "second read")
	}},
	{name: "our close, peer reading", play: func(t *testing.T, me, peer irSide) {
		irCloseWhileWaiting(t, me, peer, true, "before")
	}},
	{name: "our close, peer reads later", play: func(t *testing.T, me, peer irSide) {
		irCloseWhileWaiting(t, me, peer, true, "after")
	}},
	{name: "peer's close, peer reading", play: func(t *testing.T, me, peer irSide) {
		irCloseWhileWaiting(t, me, peer, false, "before")
	}},
	{name: "peer's close", play: func(t *testing.T, me, peer irSide) {
		irCloseWhileWaiting(t, me, peer, false, "never")
	}},
	{name: "both close", play: func(t *testing.T, me, peer irSide) {
		// Both sides close at once, each with a read waiting. Where the two run in parallel (a
		// pool), one side's read may meet the other's close frame before its own AsyncClose
		// starts; that AsyncClose then fails with ErrClosed, as one started once the closing
		// handshake has begun, and the read's echo carries the first side's code. Otherwise both
		// closing handshakes complete with nil, each side's Reason the other's close frame.
		mr, mm := me.readMsg(nil)
		pr, pm := peer.readMsg(nil)
		<-mr.started
		<-pr.started
		mine, theirs := websocket.CloseReason{Code: websocket.CloseNormal, Reason: "me"}, websocket.CloseReason{Code: 4000, Reason: "peer"}
		mc, pc := me.close(mine), peer.close(theirs)
		mErr, pErr := mc.wait(t, "my close"), pc.wait(t, "peer's close")
		if !isAny(mErr, websocket.ErrClosed) && mErr != nil || !isAny(pErr, websocket.ErrClosed) && pErr != nil || mErr != nil && pErr != nil {
			t.Fatalf("closes at once: mine %v, the peer's %v", mErr, pErr)
		}
		wantMine, wantTheirs := theirs, mine // what my read's Reason and the peer's must hold
		if mErr != nil {                     // the peer's close went first; my read echoed its code
			wantTheirs = websocket.CloseReason{Code: theirs.Code}
		}
		if pErr != nil {
			wantMine = websocket.CloseReason{Code: mine.Code}
		}
		if res := mr.wait(t, "my read"); !errors.Is(res.Err, websocket.ErrClosed) || mm.reason != wantMine {
			t.Fatalf("my read: %+v, Reason %+v, want %+v (closes: mine %v, the peer's %v)", res, mm.reason, wantMine, mErr, pErr)
		}
		if res := pr.wait(t, "peer's read"); !errors.Is(res.Err, websocket.ErrClosed) || pm.reason != wantTheirs {
			t.Fatalf("peer's read: %+v, Reason %+v, want %+v (closes: mine %v, the peer's %v)", res, pm.reason, wantTheirs, mErr, pErr)
		}
		irLaterFails(t, me, websocket.ErrClosed, "me")
		irLaterFails(t, peer, websocket.ErrClosed, "peer")
	}},
	{name: "cancel", play: func(t *testing.T, me, peer irSide) {
		// docs/websocket.md, "Timeouts": cancelling a read closes the next layer at once; the
		// error matches context.Canceled and completion.ErrOperationAborted, and every later
		// operation fails with it. The peer sees the connection end, with no close frame.
		pr, _ := peer.readMsg(nil)
		ctx, cancel := context.WithCancel(context.Background())
		rd, _ := me.readMsg(ctx)
		<-rd.started
		<-pr.started
		cancel()
		res := rd.wait(t, "read")
		if !irCancelErr(res.Err, context.Canceled) {
			t.Fatalf("cancelled read: %+v", res)
		}
		irLaterFails(t, me, res.Err, "me")
		if pres := pr.wait(t, "peer's read"); pres.Err == nil || errors.Is(pres.Err, websocket.ErrClosed) {
			t.Fatalf("peer's read after the cancelled read closed the connection: %+v", pres)
		}
	}},
	{name: "next layer closed", play: func(t *testing.T, me, peer irSide) {
		// "Closing the next layer yourself ends the WebSocket abruptly": the waiting read fails with
		// the next layer's error, the stream is over, and the peer sees the connection end.
		pr, _ := peer.readMsg(nil)
		rd, _ := me.readMsg(nil)
		<-rd.started
		<-pr.started
		me.next.Close()
		if res := rd.wait(t, "read"); !isAny(res.Err, completion.ErrOperationAborted, stdnet.ErrClosed) {
			t.Fatalf("read when its next layer was closed: %+v", res)
		}
		irLaterFails(t, me, nil, "me")
		if pres := pr.wait(t, "peer's read"); pres.Err == nil || errors.Is(pres.Err, websocket.ErrClosed) {
			t.Fatalf("peer's read after the connection was closed: %+v", pres)
		}
	}},
	{name: "idle timeout", me: &websocket.Options{Timeout: websocket.Timeout{Idle: 100 * time.Millisecond}}, play: func(t *testing.T, me, peer irSide) {
		// docs/websocket.md, "Timeouts": Timeout.Idle ends an open stream once nothing has arrived;
		// the next layer is closed at once; the first operation to see it fails with ErrTimeout,
		// every one after it with an error matching both ErrTimeout and ErrOperationAborted.
		pr, _ := peer.readMsg(nil)
		rd, _ := me.readMsg(nil)
		if res := rd.wait(t, "read"); !errors.Is(res.Err, websocket.ErrTimeout) || errors.Is(res.Err, completion.ErrOperationAborted) {
			t.Fatalf("read waiting past the idle timeout: %+v, want ErrTimeout itself", res)
		}
		r2, _ := me.readMsg(nil)
		if res := r2.wait(t, "later read"); !errors.Is(res.Err, websocket.ErrTimeout) || !errors.Is(res.Err, completion.ErrOperationAborted) {
			t.Fatalf("read after the idle timeout: %+v, want the timeout's abort", res)
		}
		if pres := pr.wait(t, "peer's read"); pres.Err == nil || errors.Is(pres.Err, websocket.ErrClosed) {
			t.Fatalf("peer's read after the idle timeout: %+v", pres)
		}
	}},
	{name: "idle timeout with pings, peer silent", me: &websocket.Options{Timeout: websocket.Timeout{Idle: 100 * time.Millisecond, KeepAlivePings: true}},
		play: func(t *testing.T, me, peer irSide) {
			// A peer that does not answer: the keep-alive ping goes out half way, and the stream
			// still ends once a further half passes with nothing read. The peer, reading only
			// afterwards, finds the ping.
			rd, _ := me.readMsg(nil)
			if res := rd.wait(t, "read"); !errors.Is(res.Err, websocket.ErrTimeout) {
				t.Fatalf("read waiting past the idle timeout: %+v", res)
			}
			pings := irCountFrames(t, peer, websocket.FramePing)
			pr, _ := peer.readMsg(nil)
			if pres := pr.wait(t, "peer's read"); pres.Err == nil || pings.Load() < 1 {
				t.Fatalf("peer's read after the idle timeout: %+v, %d pings seen", pres, pings.Load())
			}
		}},
	{name: "keep-alive", me: &websocket.Options{Timeout: websocket.Timeout{Idle: time.Second, KeepAlivePings: true}},
		only: []string{"nettest-later-byte", "tcp-pool-strands", "tls"}, server: true,
		play: func(t *testing.T, me, peer irSide) {
			// docs/websocket.md, "Timeouts": a quiet stream sends a ping half way, a peer that is
			// alive answers with a pong and keeps the stream open. The read waits through two
			// pongs (each taken by the waiting read), and then gets the message.
			pongs := irCountFrames(t, me, websocket.FramePong)
			pr, _ := peer.readMsg(nil)
			rd, m := me.readMsg(nil)
			deadline := time.Now().Add(irBound)
			for pongs.Load() < 2 && !rd.isDone() {
				if time.Now().After(deadline) {
					t.Fatalf("%d pongs after %v", pongs.Load(), irBound)
				}
				time.Sleep(5 * time.Millisecond)
			}
			irDeliver(t, peer, rd, m, "still here", "the read through the keep-alive pings")
			if pr.isDone() {
				t.Fatalf("the peer's read ended: %+v", pr.res)
			}
			cl := me.close(websocket.CloseReason{Code: websocket.CloseNormal})
			if err := cl.wait(t, "close"); err != nil {
				t.Fatalf("close: %v", err)
			}
			if pres := pr.wait(t, "peer's read"); !errors.Is(pres.Err, websocket.ErrClosed) {
				t.Fatalf("peer's read during the close: %+v", pres)
			}
		}},
}

// irCloseWhileWaiting: docs/websocket.md, "Closing". While my read waits idle, I close (ours), or
// the peer does. The peer's read is pending before the close, started once it has begun, or never
// started (only when the peer closes: its AsyncClose reads for itself). The read that meets the
// closer's frame answers it, tears down and fails with ErrClosed, Reason holding that frame; the
// closer's read "goes on, discarding frames, until the peer's close frame, then ErrClosed", Reason
// holding the echo of its code; AsyncClose gets nil once both close frames have crossed. My
// control callback sees the peer's close frame once, and nothing once my own close frame has gone
// out. Every later operation fails with ErrClosed.
func irCloseWhileWaiting(t *testing.T, me, peer irSide, ours bool, peerReads string) {
	var mu sync.Mutex
	var seen []string
	irOnSide(t, me, func() {
		me.ws.SetControlCallback(func(k websocket.FrameType, b []byte) {
			mu.Lock()
			seen = append(seen, k.String()+":"+string(b))
			mu.Unlock()
		})
	})
	var pr *irOp[net.IOResult]
	pm := new(irMsg)
	if peerReads == "before" {
		pr, pm = peer.readMsg(nil)
		<-pr.started
	}
	rd, m := me.readMsg(nil)
	<-rd.started
	closer, closerMsg, otherMsg := peer, pm, m
	cr := websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "away"}
	if ours {
		closer, closerMsg, otherMsg = me, m, pm
		cr = websocket.CloseReason{Code: websocket.CloseNormal, Reason: "bye"}
	}
	cl := closer.close(cr)
	if peerReads == "after" {
		<-cl.started
		pr, pm = peer.readMsg(nil)
		closerMsg, otherMsg = m, pm
	}
	if err := cl.wait(t, "close"); err != nil {
		t.Fatalf("close while a read waits: %v", err)
	}
	if res := rd.wait(t, "my read"); !errors.Is(res.Err, websocket.ErrClosed) {
		t.Fatalf("my read waiting through the close: %+v", res)
	}
	if pr != nil {
		if res := pr.wait(t, "peer's read"); !errors.Is(res.Err, websocket.ErrClosed) {
			t.Fatalf("peer's read: %+v", res)
		}
	}
	if otherMsg.reason != cr || pr != nil && closerMsg.reason != (websocket.CloseReason{Code: cr.Code}) {
		t.Fatalf("Reason: %+v on the side that got the close frame, %+v on the closer; want %+v and its echo", otherMsg.reason, closerMsg.reason, cr)
	}
	want := "[]"
	if !ours {
		want = fmt.Sprint([]string{websocket.FrameClose.String() + ":" + cr.Reason})
	}
	mu.Lock()
	got := fmt.Sprint(seen)
	mu.Unlock()
	if got != want {
		t.Fatalf("my control callback saw %v, want %v", got, want)
	}
	irLaterFails(t, me, websocket.ErrClosed, "me")
	irLaterFails(t, peer, websocket.ErrClosed, "peer")
}

// TestBBIdleReadScenarios plays each scenario over each transport (nettest, nettest a byte at a
// time in Mode Later, loopback TCP, TCP on a ThreadPool of two with a strand per stream, TLS
// through net.FromConn), with the client and then the server as the side whose read waits. Every
// handler runs once, where it must; after each scenario both streams are over and the runner's
// executor runs out of work (no operation left pending), and goleak finds no goroutine left.
func TestBBIdleReadScenarios(t *testing.T) {
	for _, tr := range irTransports {
		for _, sc := range irScenarios {
			if sc.only != nil && !containsString(sc.only, tr.name) {
				continue
			}
			for _, role := range roles {
				if sc.server && role != websocket.RoleServer {
					continue
				}
				t.Run(fmt.Sprintf("%s/%s/%s waits", tr.name, sc.name, roleName(role)), func(t *testing.T) {
					r := tr.run(t)
					var me, peer irSide
					if role == websocket.RoleClient {
						me, peer = tr.open(t, r, sc.me, sc.peer)
					} else {
						peer, me = tr.open(t, r, sc.peer, sc.me)
					}
					irForget()
					sc.play(t, me, peer)
					r.drain(t)
					irCheckOnce(t)
				})
			}
		}
	}
}

// containsString reports whether list holds s.
func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// irStartCtx tells whether a read's context was done just before the call that started the read,
// and just after it, seen from the read's executor step. A deadline may pass before a read starts:
// a read whose context is done when it starts leaves the stream as it was, one whose context ends
// while it is in flight ends the stream; in between the two looks, either is right.
type irStartCtx struct{ doneBefore, doneAfter bool }

// irReadCtx starts an AsyncRead bound to ctx, whose handler keeps a copy of the message and its
// kind, recording whether ctx was done around the start. The flags may be read once the
// operation's started channel is closed.
func irReadCtx(s irSide, ctx context.Context) (*irOp[net.IOResult], *irMsg, *irStartCtx) {
	m, at := new(irMsg), new(irStartCtx)
	buf := new(net.FlatBuffer)
	op := irGo(s.ex, s.on, func(net.IOResult) {
		m.data, m.text, m.reason = append([]byte(nil), buf.Bytes()...), s.ws.GotText(), s.ws.Reason()
	}, func(h completion.Handler[net.IOResult]) {
		at.doneBefore = ctx.Err() != nil
		s.ws.AsyncRead(buf, completion.WithContext(ctx, h))
		at.doneAfter = ctx.Err() != nil
	})
	return op, m, at
}

// irEnded reports whether s is no longer open, asked on its executor.
func irEnded(t *testing.T, s irSide) bool {
	t.Helper()
	var open bool
	irOnSide(t, s, func() { open = s.ws.IsOpen() })
	return !open
}

// irSpin yields the processor a random number of times: a random moment, without a clock.
func irSpin(rng *rand.Rand, max int) {
	for range rng.IntN(max + 1) {
		runtime.Gosched()
	}
}

// irRace runs, on two goroutines of their own, feed and a cancellation: after a random number of
// yields (up to spins), cancel when cause is context.Canceled (a deadline ends by itself). It
// returns once both are done.
func irRace(rng *rand.Rand, spins int, cause error, cancel context.CancelFunc, feed func(*rand.Rand)) {
	seedA, seedB := rng.Uint64(), rng.Uint64()
	var wg sync.WaitGroup
	wg.Go(func() {
		irSpin(rand.New(rand.NewPCG(seedA, 1)), spins)
		if cause == context.Canceled {
			cancel()
		}
	})
	wg.Go(func() { feed(rand.New(rand.NewPCG(seedB, 2))) })
	wg.Wait()
}

// TestBBIdleReadCancelRacingMessage races, from two goroutines of their own, a read's cancellation
// against the arrival of the next message, the read having started idle: over each transport, with
// each role waiting, many times. Whichever wins, the read's handler runs once; a read that
// completes has the whole message; a read that fails does so with the cancellation, every later
// operation fails with it, and the peer sees the connection end, unless the context was done when
// the read started (a short deadline), which leaves the stream as it was, the message still to
// read. After each transport's runs the executor runs out of work.
func TestBBIdleReadCancelRacingMessage(t *testing.T) {
	iters := map[string]int{"nettest": 150, "nettest-later-byte": 100, "tcp": 60, "tcp-pool-strands": 60, "tls": 20}
	sizes := []int{0, 1, 2, 125, 126, 300}
	for _, tr := range irTransports {
		t.Run(tr.name, func(t *testing.T) {
			irForget()
			r := tr.run(t)
			rng := rand.New(rand.NewPCG(uint64(len(tr.name)), 7))
			outcomes := map[string]int{}
			for i := range iters[tr.name] {
				role := roles[i%2]
				var me, peer irSide
				if role == websocket.RoleClient {
					me, peer = tr.open(t, r, nil, nil)
				} else {
					peer, me = tr.open(t, r, nil, nil)
				}
				name := fmt.Sprintf("run %d, %s waits", i, roleName(role))
				msg := irPayload(rng, sizes[rng.IntN(len(sizes))], false)
				var ctx context.Context
				var cancel context.CancelFunc
				cause := context.Canceled
				if i%3 == 2 {
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rng.IntN(1000))*time.Microsecond)
					cause = context.DeadlineExceeded
				} else {
					ctx, cancel = context.WithCancel(context.Background())
				}
				rd, m, at := irReadCtx(me, ctx)
				<-rd.started
				var w *irOp[net.IOResult]
				irRace(rng, 300, cause, cancel, func(r *rand.Rand) {
					irSpin(r, 300)
					w = peer.write(msg, false)
				})
				res := rd.wait(t, name)
				cancel()
				if res.Err == nil {
					outcomes["read"]++
					if res.N != len(msg) || !bytes.Equal(m.data, msg) {
						t.Fatalf("%s: read %d bytes, want the %d-byte message whole", name, res.N, len(msg))
					}
					if wres := w.wait(t, name+": write"); wres.Err != nil {
						t.Fatalf("%s: write: %+v", name, wres)
					}
					// What such a read leaves for the next one is not checked here: on a pool, the
					// next read can be aborted by the first read's context, a failure reported with
					// its reproduction. The connection is dropped instead.
					me.next.Close()
					peer.next.Close()
					continue
				}
				if !irCancelErr(res.Err, cause) {
					t.Fatalf("%s: read %+v, want the message or the cancellation (%v)", name, res, cause)
				}
				if at.doneBefore || at.doneAfter && !irEnded(t, me) {
					// Done when the read started: the stream is as it was, the message still to read.
					outcomes["done at the start"]++
					rd2, m2 := me.readMsg(nil)
					if res := rd2.wait(t, name+": next read"); res.Err != nil || !bytes.Equal(m2.data, msg) {
						t.Fatalf("%s: the read whose context was done at its start left %+v %d bytes", name, res, len(m2.data))
					}
					w.wait(t, name+": write")
					irEndByPeerClose(t, me, peer, name+" (context done at the start)")
					continue
				}
				outcomes["cancelled"]++
				irLaterFails(t, me, res.Err, tr.name+", "+name)
				w.wait(t, name+": write") // it may have gone out before the connection ended, or not
				pr, _ := peer.readMsg(nil)
				if pres := pr.wait(t, name+": peer's read"); pres.Err == nil || errors.Is(pres.Err, websocket.ErrClosed) {
					t.Fatalf("%s: peer's read after the cancellation: %+v", name, pres)
				}
			}
			r.drain(t)
			irCheckOnce(t)
			t.Logf("%v", outcomes)
		})
	}
}

// irRawTCP is a Stream over a loopback TCP socket whose peer is a plain net.Conn the test drives:
// the test writes the peer's handshake and frames byte by byte, and resets the connection.
type irRawTCP struct {
	side irSide
	sock *net.TCPSocket
	conn stdnet.Conn // the raw peer
}

// irRawTCPServer opens a server Stream on r (an IOContext run by one goroutine) for a raw client
// that writes its upgrade request with behind right after it, in one write.
func irRawTCPServer(t *testing.T, r *irRunner, sws *websocket.Options, behind []byte) *irRawTCP {
	t.Helper()
	acc := net.NewTCPAcceptor(r.ex)
	if err := acc.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	fa := completion.NewFuture[net.AcceptResult]()
	acc.AsyncAccept(r.ex, fa)
	conn, err := stdnet.Dial("tcp", acc.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), irBound)
	defer cancel()
	ar, err := fa.WaitContext(ctx)
	if err != nil || ar.Err != nil {
		t.Fatalf("accept: %v %v", err, ar.Err)
	}
	t.Cleanup(func() { ar.Socket.Close() })
	x := &irRawTCP{side: irIOCSide(websocket.NewStream(ar.Socket, sws), r.ex, ar.Socket), sock: ar.Socket, conn: conn}
	if _, err := conn.Write(append([]byte(upgradeRequest), behind...)); err != nil {
		t.Fatal(err)
	}
	op := irGo(x.side.ex, x.side.on, nil, func(h completion.Handler[error]) { x.side.ws.AsyncAccept(nil, h) })
	if err := op.wait(t, "accept"); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if head := x.readHead(t); !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("the server answered %q", head)
	}
	return x
}

// irRawTCPFor opens a Stream of role for a raw peer, with behind right behind the peer's handshake.
func irRawTCPFor(t *testing.T, r *irRunner, role websocket.Role, behind []byte) *irRawTCP {
	t.Helper()
	if role == websocket.RoleServer {
		return irRawTCPServer(t, r, nil, behind)
	}
	return irRawTCPClient(t, r, nil, behind)
}

// irRawTCPClient opens a client Stream on r for a raw server that answers the upgrade request
// with a 101 and behind right after it, in one write.
func irRawTCPClient(t *testing.T, r *irRunner, cws *websocket.Options, behind []byte) *irRawTCP {
	t.Helper()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sock := net.NewTCPSocket(r.ex)
	t.Cleanup(func() { sock.Close() })
	fc := completion.NewFuture[error]()
	sock.AsyncConnect(netip.MustParseAddrPort(ln.Addr().String()), fc)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), irBound)
	defer cancel()
	if err, werr := fc.WaitContext(ctx); err != nil || werr != nil {
		t.Fatalf("connect: %v %v", err, werr)
	}
	x := &irRawTCP{side: irIOCSide(websocket.NewStream(sock, cws), r.ex, sock), sock: sock, conn: conn}
	op := irGo(x.side.ex, x.side.on, nil, func(h completion.Handler[error]) { x.side.ws.AsyncHandshake("example.com", "/", nil, h) })
	head := x.readHead(t)
	m := keyLine.FindSubmatch(head)
	if m == nil {
		t.Fatalf("no Sec-WebSocket-Key in %q", head)
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		acceptKey(string(m[1])) + "\r\n\r\n"
	if _, err := conn.Write(append([]byte(resp), behind...)); err != nil {
		t.Fatal(err)
	}
	if err := op.wait(t, "handshake"); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return x
}

// readHead reads an HTTP head from the raw peer's connection, a byte at a time so as to take
// nothing behind it.
func (x *irRawTCP) readHead(t *testing.T) []byte {
	t.Helper()
	x.conn.SetReadDeadline(time.Now().Add(irBound))
	defer x.conn.SetReadDeadline(time.Time{})
	var head []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := x.conn.Read(b); err != nil {
			t.Fatalf("reading the handshake's head after %q: %v", head, err)
		}
		head = append(head, b[0])
	}
	return head
}

// peerGone reports the error the raw peer's read gets: the connection's end (io.EOF, a reset).
// Past irBound it fails the test: the Stream did not end the connection.
func (x *irRawTCP) peerGone(t *testing.T, name string) {
	t.Helper()
	x.conn.SetReadDeadline(time.Now().Add(irBound))
	b := make([]byte, 512)
	for {
		n, err := x.conn.Read(b)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("%s: the connection is still open after %v", name, irBound)
			}
			return
		}
		// A close frame is not what an abrupt end sends.
		if fs, _ := parseFrames(b[:n]); len(fs) > 0 && fs[0].op == websocket.OpClose {
			t.Fatalf("%s: the stream sent a close frame: %v", name, fs)
		}
	}
}

// writeInPieces writes b to the raw peer's connection: its first byte alone, its second alone,
// then the rest cut at random, yielding between writes, so that a frame's first bytes arrive
// apart.
func (x *irRawTCP) writeInPieces(rng *rand.Rand, b []byte) error {
	for len(b) > 0 {
		n := 1
		if len(b) > 2 && rng.IntN(3) == 0 {
			n = 1 + rng.IntN(len(b))
		}
		if _, err := x.conn.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		irSpin(rng, 20)
	}
	return nil
}

// TestBBIdleReadCancelRacingRawBytes races a read's cancellation (a cancel, or a short deadline)
// against a frame arriving over loopback TCP in pieces, its first byte alone and its second alone
// (TCP_NODELAY is on), the read having started idle; with the server and with the client reading.
// Whichever wins, the handler runs once; a completed read has the whole message; a cancelled one
// ended the stream: every later operation fails with its error, the socket is closed, and the raw
// peer sees the connection end without a close frame (unless the context was done when the read
// started, which leaves the stream as it was).
func TestBBIdleReadCancelRacingRawBytes(t *testing.T) {
	irForget()
	r := irIOCRunner(t)
	rng := rand.New(rand.NewPCG(3, 4))
	outcomes := map[string]int{}
	for i := range 120 {
		role := roles[i%2]
		masked := role == websocket.RoleServer
		x := irRawTCPFor(t, r, role, nil)
		name := fmt.Sprintf("run %d, %s reads", i, roleName(role))
		msg := irPayload(rng, []int{0, 1, 125, 126, 1000}[rng.IntN(5)], true)
		cause := context.Canceled
		ctx, cancel := context.WithCancel(context.Background())
		if i%4 == 3 {
			cause = context.DeadlineExceeded
			ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rng.IntN(3000))*time.Microsecond)
		}
		rd, m, at := irReadCtx(x.side, ctx)
		<-rd.started
		irRace(rng, 400, cause, cancel, func(r *rand.Rand) { x.writeInPieces(r, rawFrame(true, websocket.OpText, masked, msg)) })
		res := rd.wait(t, name)
		cancel()
		if res.Err == nil {
			outcomes["read"]++
			if !bytes.Equal(m.data, msg) || !m.text {
				t.Fatalf("%s: read %q, want %q", name, m.data, msg)
			}
			// What such a read leaves for the next one is not checked here: the next read can be
			// aborted by the first read's context, a failure reported with its reproduction. The
			// connection is dropped instead.
			x.conn.Close()
			x.sock.Close()
			continue
		}
		if !irCancelErr(res.Err, cause) {
			t.Fatalf("%s: read %+v, want the message or the cancellation (%v)", name, res, cause)
		}
		if at.doneBefore || at.doneAfter && !irEnded(t, x.side) {
			// Done when the read started: the stream is as it was, the message still to read.
			outcomes["done at the start"]++
			rd2, m2 := x.side.readMsg(nil)
			if res := rd2.wait(t, name+": next read"); res.Err != nil || !bytes.Equal(m2.data, msg) {
				t.Fatalf("%s: the read whose context was done at its start left %+v %q", name, res, m2.data)
			}
			x.conn.Close()
			rd3, _ := x.side.readMsg(nil)
			if res := rd3.wait(t, name+": read at the peer's EOF"); !errors.Is(res.Err, io.EOF) {
				t.Fatalf("%s: read when the peer went: %+v", name, res)
			}
			continue
		}
		outcomes["cancelled"]++
		irLaterFails(t, x.side, res.Err, name)
		x.peerGone(t, name)
		if err := x.sock.Close(); !errors.Is(err, stdnet.ErrClosed) {
			t.Fatalf("%s: the socket was not closed by the cancellation (Close: %v)", name, err)
		}
	}
	r.drain(t)
	irCheckOnce(t)
	t.Logf("%v", outcomes)
}

// docs/websocket.md, "Errors": "A failure of the next layer (a reset, a closed socket) is returned
// as the next layer reported it (say a *net.OpError, or io.EOF), after the Stream has closed the
// next layer." The raw peer of a read waiting idle, or in the middle of a frame, ends its side
// (EOF) or resets the connection: the read fails with io.EOF (io.ErrUnexpectedEOF allowed mid
// frame) or with ECONNRESET in a *net.OpError; every later operation fails; the socket has been
// closed.
func TestBBIdleReadPeerVanishes(t *testing.T) {
	for _, role := range roles {
		for _, where := range []string{"idle", "after one byte", "after the header"} {
			for _, how := range []string{"eof", "reset"} {
				t.Run(fmt.Sprintf("%s/%s/%s", roleName(role), where, how), func(t *testing.T) {
					irForget()
					r := irIOCRunner(t)
					masked := role == websocket.RoleServer
					x := irRawTCPFor(t, r, role, nil)
					frame := rawFrame(true, websocket.OpBinary, masked, []byte("never finished"))
					rd, _ := x.side.readMsg(nil)
					<-rd.started
					switch where {
					case "after one byte":
						x.conn.Write(frame[:1])
					case "after the header":
						x.conn.Write(frame[:len(frame)-len("never finished")+3])
					}
					if how == "reset" {
						x.conn.(*stdnet.TCPConn).SetLinger(0)
					}
					x.conn.Close()
					res := rd.wait(t, "read")
					switch {
					case how == "reset":
						var oe *stdnet.OpError
						if !errors.As(res.Err, &oe) || !errors.Is(res.Err, syscall.ECONNRESET) {
							t.Fatalf("read when the peer reset the connection: %+v, want ECONNRESET in a *net.OpError", res)
						}
					case where == "idle":
						if !errors.Is(res.Err, io.EOF) {
							t.Fatalf("read when the peer ended the connection: %+v, want io.EOF", res)
						}
					default:
						if !isAny(res.Err, io.EOF, io.ErrUnexpectedEOF) {
							t.Fatalf("read when the peer ended the connection mid frame: %+v", res)
						}
					}
					irLaterFails(t, x.side, nil, "after the peer went")
					if err := x.sock.Close(); !errors.Is(err, stdnet.ErrClosed) {
						t.Fatalf("the socket is still open after the read failed (Close: %v)", err)
					}
					r.drain(t)
					irCheckOnce(t)
				})
			}
		}
	}
}

// The same promise as TestBBIdleReadBehindHandshake over loopback TCP, where the peer's handshake
// and its first frame come in one write (one segment): the first read gets the frame; a second
// frame, written later a byte at a time, is read by the next read, which waits idle for it.
func TestBBIdleReadBehindHandshakeTCP(t *testing.T) {
	for _, role := range roles {
		t.Run(roleName(role), func(t *testing.T) {
			irForget()
			r := irIOCRunner(t)
			masked := role == websocket.RoleServer
			first := rawFrame(true, websocket.OpText, masked, []byte("right behind"))
			x := irRawTCPFor(t, r, role, first)
			rd, m := x.side.readMsg(nil)
			if res := rd.wait(t, "first read"); res.Err != nil || string(m.data) != "right behind" || !m.text {
				t.Fatalf("first read: %+v %q", res, m.data)
			}
			rd2, m2 := x.side.readMsg(nil)
			<-rd2.started
			if err := x.writeInPieces(rand.New(rand.NewPCG(5, 6)), rawFrame(true, websocket.OpBinary, masked, []byte("later"))); err != nil {
				t.Fatal(err)
			}
			if res := rd2.wait(t, "second read"); res.Err != nil || string(m2.data) != "later" || m2.text {
				t.Fatalf("second read: %+v %q", res, m2.data)
			}
			rd3, _ := x.side.readMsg(nil)
			<-rd3.started
			x.conn.Close()
			if res := rd3.wait(t, "read at EOF"); !errors.Is(res.Err, io.EOF) {
				t.Fatalf("read when the peer went: %+v", res)
			}
			r.drain(t)
			irCheckOnce(t)
		})
	}
}

// irReports collects what handlers running on executors found wrong, for the test goroutine to
// report once everything has run.
type irReports struct {
	mu   sync.Mutex
	list []string
}

func (r *irReports) add(format string, args ...any) {
	r.mu.Lock()
	r.list = append(r.list, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// irEchoServer reads messages in a loop and echoes each, the next read started as soon as a
// message is in, so that a read waits idle while the echo is being written; echoes wait in a
// queue for the write in flight. Every step runs on the side's strand. The loop ends when the
// client's close reaches the waiting read, which must fail with ErrClosed.
func irEchoServer(s irSide, rep *irReports, name string, done func()) {
	var queue []irMsg
	writing := false
	var write func(m irMsg)
	write = func(m irMsg) {
		writing = true
		s.writeThen(m.data, m.text, func(w net.IOResult) {
			if w.Err != nil {
				if !errors.Is(w.Err, websocket.ErrClosed) {
					rep.add("%s: server's echo of %d bytes: %v", name, len(m.data), w.Err)
				}
				queue, writing = nil, false
				return
			}
			if len(queue) > 0 {
				next := queue[0]
				queue = queue[1:]
				write(next)
				return
			}
			writing = false
		})
	}
	var read func()
	read = func() {
		buf := new(net.FlatBuffer)
		irGo(s.ex, s.on, func(r net.IOResult) {
			if r.Err != nil {
				if !errors.Is(r.Err, websocket.ErrClosed) || s.ws.Reason().Code != websocket.CloseNormal {
					rep.add("%s: server's read ended with %v, Reason %+v; want ErrClosed by the client's 1000", name, r.Err, s.ws.Reason())
				}
				done()
				return
			}
			m := irMsg{data: append([]byte(nil), buf.Bytes()...), text: s.ws.GotText()}
			if r.N != len(m.data) {
				rep.add("%s: server's read: N %d for %d bytes", name, r.N, len(m.data))
			}
			read()
			if writing {
				queue = append(queue, m)
			} else {
				write(m)
			}
		}, func(h completion.Handler[net.IOResult]) { s.ws.AsyncRead(buf, h) })
	}
	read()
}

// irEchoClient sends its messages one at a time, each read started before its write so that the
// read waits idle while the write goes out, and checks every echo whole. Then it closes with 1000,
// by one of three ways chosen by how: with a read waiting idle for nothing ("idle read"), right
// behind the write of one more message whose echo may be delivered or dropped ("behind a write"),
// or with no read in flight ("no read").
func irEchoClient(c irSide, msgs []irMsg, how string, rep *irReports, name string, done func()) {
	closeNow := func() {
		irGo(c.ex, c.on, func(err error) {
			if err != nil {
				rep.add("%s: client's close (%s): %v", name, how, err)
			}
			done()
		}, func(h completion.Handler[error]) {
			c.ws.AsyncClose(websocket.CloseReason{Code: websocket.CloseNormal}, h)
		})
	}
	readEcho := func(want *irMsg, then func()) {
		buf := new(net.FlatBuffer)
		irGo(c.ex, c.on, func(r net.IOResult) {
			switch {
			case want == nil && !errors.Is(r.Err, websocket.ErrClosed):
				rep.add("%s: client's read waiting through its close: %+v, want ErrClosed", name, r)
			case want != nil && r.Err != nil:
				rep.add("%s: client's read of the echo of %d bytes: %v", name, len(want.data), r.Err)
			case want != nil && (!bytes.Equal(buf.Bytes(), want.data) || c.ws.GotText() != want.text):
				rep.add("%s: echo of %d bytes (text %v) came back as %d bytes (text %v)", name, len(want.data), want.text, buf.Size(), c.ws.GotText())
			}
			if then != nil {
				then()
			}
		}, func(h completion.Handler[net.IOResult]) { c.ws.AsyncRead(buf, h) })
	}
	write := func(m irMsg, then func()) {
		c.writeThen(m.data, m.text, func(w net.IOResult) {
			if w.Err != nil || w.N != len(m.data) {
				rep.add("%s: client's write of %d bytes: %+v", name, len(m.data), w)
			}
			if then != nil {
				then()
			}
		})
	}
	var step func(i int)
	step = func(i int) {
		if i < len(msgs) {
			// The next message goes once the echo is in and the write's handler has run.
			left := 2
			next := func() {
				if left--; left == 0 {
					step(i + 1)
				}
			}
			readEcho(&msgs[i], next)
			write(msgs[i], next)
			return
		}
		switch how {
		case "idle read":
			readEcho(nil, nil)
			closeNow()
		case "behind a write":
			last := irMsg{data: []byte("one more"), text: true}
			buf := new(net.FlatBuffer)
			irGo(c.ex, c.on, func(r net.IOResult) {
				if r.Err == nil {
					// The echo came before the close began to drop frames: it is whole, and the
					// next read meets the close.
					if string(buf.Bytes()) != "one more" {
						rep.add("%s: echo behind the close: %q", name, buf.Bytes())
					}
					readEcho(nil, nil)
				} else if !errors.Is(r.Err, websocket.ErrClosed) {
					rep.add("%s: client's read behind its close: %v", name, r.Err)
				}
			}, func(h completion.Handler[net.IOResult]) { c.ws.AsyncRead(buf, h) })
			write(last, nil)
			closeNow()
		default:
			closeNow()
		}
	}
	step(0)
}

// docs/websocket.md, "Where handlers run": with several goroutines running the executor, "put each
// connection on a strand of its own [...] Either idiom works: the next layer on the strand, or
// every handler of the stream bound to one strand." Many connections over loopback TCP, their
// sockets on a ThreadPool of two goroutines (then on an IOContext run by two goroutines), every
// handler of each stream bound to a strand of its own: echo loops whose reads wait idle while
// writes are in flight, messages of 0, 1, 125, 126, 127, 65535, 65536 bytes and random sizes, text
// and binary, and the client closing at a random point in one of three ways. Every handler runs
// once, on its strand; every echo is whole; every connection ends with a clean close; the race
// detector sees the stream's steps serialised (the read waiting idle among them); the executor
// runs out of work; goleak finds nothing left.
func TestBBIdleReadEchoOnSeveralGoroutines(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536}
	for _, kind := range []string{"threadpool", "iocontext"} {
		t.Run(kind, func(t *testing.T) {
			irForget()
			var r *irRunner
			if kind == "threadpool" {
				r = irRunPool(t, 2)
			} else {
				r = irRunIOC(t, executor.NewIOContext(), 2)
			}
			rng := rand.New(rand.NewPCG(11, uint64(len(kind))))
			var rep irReports
			var wg sync.WaitGroup
			const conns = 24
			ways := []string{"idle read", "behind a write", "no read"}
			for i := range conns {
				cs, ss := rcTCPPair(t, r.ex)
				t.Cleanup(func() { cs.Close(); ss.Close() })
				client, server := irOpen(t, irStrandSide(websocket.NewStream(cs, nil), r.ex, cs), irStrandSide(websocket.NewStream(ss, nil), r.ex, ss))
				msgs := make([]irMsg, rng.IntN(7))
				for j := range msgs {
					n := sizes[rng.IntN(len(sizes))]
					if rng.IntN(3) == 0 {
						n = 2 + rng.IntN(3000)
					}
					text := rng.IntN(2) == 0
					msgs[j] = irMsg{data: irPayload(rng, n, text), text: text}
				}
				how := ways[i%len(ways)]
				name := fmt.Sprintf("connection %d (%d messages, close %s)", i, len(msgs), how)
				wg.Add(2)
				server.ex.Post(func() { irEchoServer(server, &rep, name, wg.Done) })
				client.ex.Post(func() { irEchoClient(client, msgs, how, &rep, name, wg.Done) })
			}
			finished := make(chan struct{})
			go func() { wg.Wait(); close(finished) }()
			select {
			case <-finished:
			case <-time.After(irBound):
				t.Errorf("connections not over after %v", irBound)
			}
			r.drain(t)
			rep.mu.Lock()
			for _, s := range rep.list {
				t.Error(s)
			}
			rep.mu.Unlock()
			if !t.Failed() {
				irCheckOnce(t)
			}
		})
	}
}
