package composed_test

import (
	"bytes"
	"fmt"
	stdnet "net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// The rule of where a composed operation's steps run, with real sockets on a pool of two
// goroutines: the steps run on the final handler's associated executor, so binding the handler to
// a strand serialises them (Asio's bind_executor), as does putting the I/O object on a strand;
// where neither is done, Start refuses to run an operation whose steps could race.

// poolReads reads rounds messages of size bytes from a socket on pool with net.AsyncRead, a timer
// waiting beside every read; the read's handler and the timer's both run on strand and touch the
// same counter without a lock. ioEx is the executor of the socket and the timer; bind says whether
// the handlers are bound to strand with completion.Bind.
func poolReads(t *testing.T, pool *executor.ThreadPool, strand *executor.Strand, ioEx executor.Executor, bind bool) {
	t.Helper()
	const rounds, size = 1500, 4
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan stdnet.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client := net.NewTCPSocket(ioEx)
	defer client.Close()
	addr := netip.MustParseAddrPort(ln.Addr().String())
	if err := completion.Await(func(h completion.Handler[error]) { client.AsyncConnect(addr, h) }); err != nil {
		t.Fatal(err)
	}
	peer, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	// Written a byte at a time, so that reads wait for the reactor, which one goroutine of the pool
	// runs while the other may still be in the step that started the read.
	want := bytes.Repeat([]byte("abcd"), rounds)
	go func() {
		for i := range want {
			if _, err := peer.Write(want[i : i+1]); err != nil {
				return
			}
			if i%3 == 0 {
				time.Sleep(20 * time.Microsecond)
			}
		}
	}()

	timer := net.NewSteadyTimer(ioEx)
	onStrand := func(h completion.Func[error]) completion.Handler[error] {
		if bind {
			return completion.Bind[error](strand, h)
		}
		return h
	}
	shared := new(int) // touched by the read's and the timer's handlers, on the strand, without a lock
	var got []byte
	done := make(chan error, 1)
	buf := make([]byte, size)
	var read func()
	onRead := func(r net.IOResult) {
		*shared++
		if r.Err != nil {
			done <- r.Err
			return
		}
		got = append(got, buf[:r.N]...)
		timer.Cancel()
		if len(got) == len(want) {
			done <- nil
			return
		}
		read()
	}
	read = func() {
		timer.ExpiresAfter(time.Hour)
		timer.AsyncWait(onStrand(func(error) { *shared++ }))
		var h completion.Handler[net.IOResult] = completion.Callback(onRead)
		if bind {
			h = completion.Bind(strand, h)
		}
		net.AsyncRead(client, buf, h)
	}
	strand.Post(read)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %q, want %q", got, want)
	}
	completion.Await(func(h completion.Handler[error]) {
		strand.Post(func() { timer.Cancel(); h.Complete(nil) })
	})
}

// TestStepsRunOnTheHandlersExecutor is issue 4: sockets on a ThreadPool(2) and a read whose handler
// is bound to a strand. The read's steps must run on the strand, or the pool runs an inner read's
// completion on one goroutine while the step that started it still runs on the other.
func TestStepsRunOnTheHandlersExecutor(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	poolReads(t, pool, strand, pool.Executor(), true)
}

// TestStepsOnAnIOObjectOnAStrand is the other idiom: the socket and the timer on the strand, the
// handlers unbound.
func TestStepsOnAnIOObjectOnAStrand(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	poolReads(t, pool, strand, strand, false)
}

// tracing is a user's executor that wraps another (to trace or measure it): the executor
// queries look through it.
type tracing struct{ executor.Executor }

func (t tracing) Inner() executor.Executor { return t.Executor }

// TestStartRefusesStepsThatCouldRace: steps left on a context with two Run goroutines (the I/O
// object on the pool's own executor and a handler without an executor, a handler bound to the
// pool, a user's executor over the pool, Spawn on the pool) make Start panic, naming the fix,
// before anything runs.
func TestStartRefusesStepsThatCouldRace(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	waitForRunners(pool.Executor(), 2)
	strand := executor.NewStrand(pool.Executor())
	unbound := completion.Callback(func(IOResult) { t.Error("handler called") })
	read := func(ex executor.Executor, h completion.Handler[IOResult]) func() {
		return func() {
			AsyncReadExactly(&stream{ex: ex, data: []byte("data"), chunk: 4}, make([]byte, 4), 4, h)
		}
	}
	cases := []struct {
		name  string
		start func()
		want  []string
	}{
		{"I/O object on the pool", read(pool.Executor(), unbound), []string{"executor.Strand", "completion.Bind"}},
		{"handler bound to the pool", read(strand, completion.Bind[IOResult](pool.Executor(), unbound)), []string{"executor.Strand", "completion.Bind"}},
		{"a user's executor over the pool", read(tracing{pool.Executor()}, unbound), []string{"executor.Strand", "completion.Bind"}},
		{"Spawn on the pool", func() {
			composed.Spawn(pool.Executor(), unbound, func(*composed.Yield) IOResult { return IOResult{} })
		}, []string{"spawn on an executor.Strand"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := panicOf(c.start)
			for _, want := range c.want {
				if !strings.Contains(msg, want) {
					t.Errorf("Start's panic %q does not name %s", msg, want)
				}
			}
		})
	}
}

// TestStepsOnAUsersExecutorOverAStrand: a user's wrapping executor over a strand is serial (the
// query looks through it), so an operation runs on it, and its steps and handler run there.
func TestStepsOnAUsersExecutorOverAStrand(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	s := &stream{ex: tracing{strand}, data: []byte("hello"), chunk: 2}
	buf := make([]byte, 5)
	r := completion.Await(func(h completion.Handler[IOResult]) { AsyncReadExactly(s, buf, 5, h) })
	if r.Err != nil || string(buf[:r.N]) != "hello" {
		t.Fatalf("read %q, %v", buf[:r.N], r.Err)
	}
}

// waitForRunners returns once n goroutines are inside the pool's Run, so that its context is
// known to run handlers concurrently.
func waitForRunners(ioc executor.Executor, n int) {
	for !(executor.Serial(ioc) == (n <= 1)) {
		time.Sleep(time.Millisecond)
	}
}

// panicOf calls f and returns what it panicked with, as a string ("" if it did not).
func panicOf(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			switch x := v.(type) {
			case string:
				msg = x
			case error:
				msg = x.Error()
			default:
				msg = "non-string panic"
			}
		}
	}()
	f()
	return ""
}

// TestStepPanicsOnceItsContextGainsASecondRunGoroutine: an operation started on a context with
// one Run goroutine, which gains a second while an inner operation is pending. The inner operation
// completes from a goroutine of its own, so its landing comes through the context's queue, where
// it asks again and panics, naming the fix, instead of running where it could race. (Spawn's
// steps are the same core's; a spawned body left waiting would leak its goroutine, so Start
// stands for both.) Where goroutines cannot be told apart, steps do not ask again (a body's own
// Poll would look like a second goroutine): the operation completes, as documented.
func TestStepPanicsOnceItsContextGainsASecondRunGoroutine(t *testing.T) {
	ioc := executor.NewIOContext()
	var slot composed.Slot[opResult]
	started := make(chan completion.Handler[opResult], 1)
	completed := make(chan struct{})
	composed.Start(ioc, completion.Callback(func(opResult) { close(completed) }), func(op *composed.Op[opResult]) {
		if !op.Resumed() {
			started <- composed.Into(op, &slot) // completed below, from the test's goroutine
			return
		}
		op.Complete(slot.Value)
	})
	recovered := make(chan string, 2)
	runner := func() {
		defer func() { recovered <- fmt.Sprint(recover()) }()
		ioc.Run()
	}
	go runner()
	h := <-started
	go runner()
	waitForRunners(ioc, 2)
	h.Complete(opResult{V: 1}) // from outside: the slot posts its landing to the context
	if !gidKnown() {
		<-completed
		for range 2 {
			if v := <-recovered; v != "<nil>" {
				t.Fatalf("a runner panicked: %s", v)
			}
		}
		return
	}
	msg := <-recovered
	ioc.Stop() // the other runner would wait for the operation's work for ever
	if other := <-recovered; other != "<nil>" {
		t.Fatalf("both runners ended by a panic: %q and %q", msg, other)
	}
	select {
	case <-completed:
		t.Fatal("the operation completed")
	default:
	}
	for _, want := range []string{"executor.Strand", "completion.Bind", "several goroutines"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the step's panic %q does not name %s", msg, want)
		}
	}
}
