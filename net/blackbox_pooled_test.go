package net_test

// Black-box tests of the composed helpers whose operation state comes from a sync.Pool and goes
// back when the operation ends: AsyncWrite, AsyncWriteBuffers, AsyncRead, AsyncReadUntil and the
// default AsyncTeardown. Written from their documentation alone. They hunt the interleavings in
// which a state given back could still be reached by what its last operation left behind: a
// handler that starts the next operation at once (the state just given back is taken again), on
// one and on two Run goroutines and over many connections at once, so that states move between
// connections; a context cancelled at the moment its operation completes, followed at once by an
// operation with a fresh context; Close racing an operation; a context done before the start; and
// failures injected at every step.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	stdnet "net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/testkit"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// pooledOn is where an operation's handler must run: ex, to which the handler is bound when bind
// is set; otherwise the stream is on ex and the handler has no executor of its own.
type pooledOn struct {
	c    *testkit.Check
	ex   *testkit.MarkingExecutor
	bind bool
}

// pooledStart starts one operation from a handler running on on.ex and passes its result to then,
// after checking that it completed once, on on.ex, and not inside the call that started it. ctx,
// when not nil, is bound to the handler.
func pooledStart[R any](on pooledOn, ctx context.Context, what string, start func(completion.Handler[R]), then func(R)) {
	c := on.c
	if !on.ex.On() {
		c.Errorf("%s: test bug: started off its executor", what)
	}
	c.Started.Add(1)
	var calls atomic.Int32
	var inCall atomic.Bool
	inCall.Store(true)
	var h completion.Handler[R] = completion.Callback(func(r R) {
		if n := calls.Add(1); n != 1 {
			c.Errorf("%s: completed %d times, the last with %+v", what, n, r)
			return
		}
		c.Completed.Add(1)
		if inCall.Load() {
			c.Errorf("%s: completed inside the call that started it", what)
		}
		if !on.ex.On() {
			c.Errorf("%s: completed off its handler's executor", what)
		}
		then(r)
	})
	if on.bind {
		h = completion.Bind(executor.Executor(on.ex), h)
	}
	if ctx != nil {
		h = completion.WithContext(ctx, h)
	}
	start(h)
	inCall.Store(false)
}

// pooledTCP connects n loopback TCP connections served by ioc: connection i's client end on
// cex[i] and its server end on sex[i].
func pooledTCP(t *testing.T, ioc *executor.IOContext, cex, sex []executor.Executor) (clients, servers []*net.TCPSocket) {
	t.Helper()
	n := len(cex)
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	defer acceptor.Close()
	clients = make([]*net.TCPSocket, n)
	var errs []error
	// AsyncAccept chooses the accepted socket's executor before it knows which client it gets, so
	// the clients connect one at a time: the kth accepted is the kth client's peer.
	servers = make([]*net.TCPSocket, n)
	var step func(i int)
	step = func(i int) {
		if i == n {
			return
		}
		clients[i] = net.NewTCPSocket(cex[i])
		got := 0
		next := func() {
			got++
			if got == 2 {
				step(i + 1)
			}
		}
		acceptor.AsyncAccept(sex[i], completion.Callback(func(r net.AcceptResult) {
			if r.Err != nil {
				errs = append(errs, fmt.Errorf("accept %d: %w", i, r.Err))
				return
			}
			servers[i] = r.Socket
			next()
		}))
		clients[i].AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
			if err != nil {
				errs = append(errs, fmt.Errorf("connect %d: %w", i, err))
				return
			}
			next()
		}))
	}
	ioc.Post(func() { step(0) })
	testkit.Run(t, ioc, 1)
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	for i := range n {
		local, err1 := clients[i].LocalAddr()
		remote, err2 := servers[i].RemoteAddr()
		if err1 != nil || err2 != nil || local != remote {
			t.Fatalf("connection %d: client %v (%v), server's peer %v (%v)", i, local, err1, remote, err2)
		}
	}
	t.Cleanup(func() {
		for i := range n {
			clients[i].Close()
			servers[i].Close()
		}
	})
	return clients, servers
}

// pooledMsg is the kth message end id writes: 1 to max bytes, letters, ending with '\n', so that
// a reader can take it whole (AsyncRead, knowing its length) or up to its delimiter
// (AsyncReadUntil).
func pooledMsg(id, k, max int) []byte {
	h := uint64(id+1)*0x9E3779B97F4A7C15 ^ uint64(k+1)*0xBF58476D1CE4E5B9
	h ^= h >> 31
	n := 1 + int(h%uint64(max))
	b := make([]byte, n)
	for i := range n - 1 {
		b[i] = 'a' + byte((h>>(i%5))+uint64(i)*7)%26
	}
	b[n-1] = '\n'
	return b
}

// pooledSplit cuts b into buffers at random places, some of them empty.
func pooledSplit(rng *rand.Rand, b []byte) [][]byte {
	var bufs [][]byte
	for len(b) > 0 {
		if rng.IntN(4) == 0 {
			bufs = append(bufs, nil)
		}
		n := 1 + rng.IntN(len(b))
		bufs = append(bufs, b[:n:n])
		b = b[n:]
	}
	if rng.IntN(3) == 0 {
		bufs = append(bufs, []byte{})
	}
	return bufs
}

// pooledEnd is one end of a connection in the chain tests: a writer and a reader, each starting
// its next operation from the handler of the last, then a teardown once both are done.
type pooledEnd struct {
	on     pooledOn
	s      net.AsyncStream
	id     int // the messages this end writes are pooledMsg(id, ...)
	peerID int // and those it reads pooledMsg(peerID, ...)
	msgs   int
	max    int
	gather bool // write with AsyncWriteBuffers, else AsyncWrite
	until  bool // read with AsyncReadUntil, else AsyncRead
	rng    *rand.Rand
	left   int // chains still running on this end; touched on on.ex only
	buf    net.FlatBuffer
	ended  *atomic.Int32 // ends torn down cleanly
}

func (e *pooledEnd) start() {
	e.left = 2
	e.write(0)
	e.read(0, make([]byte, e.max))
}

func (e *pooledEnd) chainDone() {
	e.left--
	if e.left > 0 {
		return
	}
	pooledStart(e.on, nil, fmt.Sprintf("end %d: teardown", e.id),
		func(h completion.Handler[error]) { net.AsyncTeardown(e.s, h) },
		func(err error) {
			if err != nil {
				e.on.c.Errorf("end %d: teardown: %v", e.id, err)
			}
			if err := e.s.(io.Closer).Close(); !errors.Is(err, stdnet.ErrClosed) {
				e.on.c.Errorf("end %d: Close after the teardown gave %v, want net.ErrClosed: the teardown left it open", e.id, err)
			}
			e.ended.Add(1)
		})
}

func (e *pooledEnd) write(k int) {
	if k == e.msgs {
		e.chainDone()
		return
	}
	msg := pooledMsg(e.id, k, e.max)
	what := fmt.Sprintf("end %d: write %d", e.id, k)
	if !e.gather {
		pooledStart(e.on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(e.s, msg, h) },
			func(r net.IOResult) {
				if r.N != len(msg) || r.Err != nil {
					e.on.c.Errorf("%s: %+v, want N=%d and no error", what, r, len(msg))
					return
				}
				e.write(k + 1)
			})
		return
	}
	bufs := pooledSplit(e.rng, msg)
	saved := make([][]byte, len(bufs))
	for i, b := range bufs {
		saved[i] = bytes.Clone(b)
	}
	heads := append([][]byte(nil), bufs...)
	pooledStart(e.on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncWriteBuffers(e.s, bufs, h) },
		func(r net.IOResult) {
			if r.N != len(msg) || r.Err != nil {
				e.on.c.Errorf("%s (%d buffers): %+v, want N=%d and no error", what, len(bufs), r, len(msg))
				return
			}
			for i := range bufs {
				if !bytes.Equal(bufs[i], saved[i]) || len(bufs[i]) != len(heads[i]) ||
					(len(bufs[i]) > 0 && &bufs[i][0] != &heads[i][0]) {
					e.on.c.Errorf("%s: buffer %d modified", what, i)
				}
			}
			e.write(k + 1)
		})
}

func (e *pooledEnd) read(k int, scratch []byte) {
	if k == e.msgs {
		e.chainDone()
		return
	}
	want := pooledMsg(e.peerID, k, e.max)
	what := fmt.Sprintf("end %d: read %d", e.id, k)
	if !e.until {
		b := scratch[:len(want)]
		pooledStart(e.on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncRead(e.s, b, h) },
			func(r net.IOResult) {
				if r.N != len(want) || r.Err != nil || !bytes.Equal(b, want) {
					e.on.c.Errorf("%s: %+v %q, want N=%d %q", what, r, b[:min(max(r.N, 0), len(b))], len(want), want)
					return
				}
				e.read(k+1, scratch)
			})
		return
	}
	pooledStart(e.on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncReadUntil(e.s, &e.buf, []byte{'\n'}, h) },
		func(r net.IOResult) {
			if r.N != len(want) || r.Err != nil || !bytes.Equal(e.buf.Bytes()[:min(max(r.N, 0), e.buf.Size())], want) {
				e.on.c.Errorf("%s: %+v, buffer %q, want N=%d %q", what, r, e.buf.Bytes(), len(want), want)
				return
			}
			e.buf.Consume(r.N)
			e.read(k+1, scratch)
		})
}

// pooledChains runs the chains on every end of every connection at once, then checks that every
// end was torn down cleanly and every operation completed once.
func pooledChains(t *testing.T, ioc *executor.IOContext, runners int, c *testkit.Check, ends []*pooledEnd) {
	t.Helper()
	var ended atomic.Int32
	for _, e := range ends {
		e.ended = &ended
		e.on.ex.Post(e.start)
	}
	testkit.Run(t, ioc, runners)
	c.AllCompleted()
	if !c.Failed() && int(ended.Load()) != len(ends) {
		t.Errorf("%d of %d ends torn down", ended.Load(), len(ends))
	}
}

// pooledSetup is where the connections of a chain test run.
type pooledSetup struct {
	name    string
	conns   int
	msgs    int // each way on each connection
	runners int // Run goroutines: one (no strand), or several with a strand per end
	// bind binds the handlers to a strand per end over sockets on the context itself; otherwise
	// the sockets are on the end's executor and the handlers have none.
	bind bool
}

var pooledSetups = []pooledSetup{
	{name: "one connection, one runner", conns: 1, msgs: 3000, runners: 1},
	{name: "one connection, two runners, strands", conns: 1, msgs: 3000, runners: 2},
	{name: "many connections, one runner, bound handlers", conns: 24, msgs: 150, runners: 1, bind: true},
	{name: "many connections, two runners, sockets on strands", conns: 24, msgs: 150, runners: 2},
	{name: "many connections, two runners, handlers bound to strands", conns: 24, msgs: 150, runners: 2, bind: true},
}

// pooledExecutors makes an end's executor for a setup: its handlers' executor (a pooledEx over a
// strand of its own with several runners, over ioc with one), and the executor its stream is on.
func pooledExecutors(ioc *executor.IOContext, s pooledSetup) (handlers *testkit.MarkingExecutor, stream executor.Executor) {
	var serial executor.Executor = ioc
	if s.runners > 1 {
		serial = executor.NewStrand(ioc)
	}
	handlers = testkit.NewMarkingExecutor(serial)
	if s.bind {
		return handlers, ioc
	}
	return handlers, handlers
}

// TestPooledHelpersChainOverTCP: over loopback TCP, each end of each connection writes a stream
// of messages (AsyncWrite, or AsyncWriteBuffers over random cuts with empty buffers) and reads its
// peer's (AsyncRead of each message's length, or AsyncReadUntil its delimiter), each operation
// started by the handler of the one before, while the other direction runs too; then each end
// tears its side down (AsyncTeardown). Every operation must complete once, on its handler's
// executor, never inside its call, with every byte right, and every teardown with nil.
func TestPooledHelpersChainOverTCP(t *testing.T) {
	for _, s := range pooledSetups {
		t.Run(s.name, func(t *testing.T) {
			ioc := testkit.NewIOContext(s.runners)
			c := testkit.NewCheck(t)
			cex := make([]executor.Executor, s.conns)
			sex := make([]executor.Executor, s.conns)
			hex := make([]*testkit.MarkingExecutor, 2*s.conns)
			for i := range s.conns {
				hex[2*i], cex[i] = pooledExecutors(ioc, s)
				hex[2*i+1], sex[i] = pooledExecutors(ioc, s)
			}
			clients, servers := pooledTCP(t, ioc, cex, sex)
			msgs := testkit.Scale(s.msgs)
			var ends []*pooledEnd
			for i := range s.conns {
				for side, sock := range []*net.TCPSocket{clients[i], servers[i]} {
					id := 2*i + side
					ends = append(ends, &pooledEnd{
						on: pooledOn{c: c, ex: hex[id], bind: s.bind},
						s:  sock, id: id, peerID: id ^ 1, msgs: msgs, max: 300,
						gather: id%2 == 1, until: (id/2+id)%2 == 1,
						rng: rand.New(rand.NewPCG(uint64(id), 7)),
					})
				}
			}
			pooledChains(t, ioc, s.runners, c, ends)
		})
	}
}

// TestPooledHelpersChainOverNettest: the same chains over nettest pairs that cut reads and writes
// to a few bytes and complete either during the call or from a later step, so that each helper
// loops over many inner operations and resumes from both kinds of completion.
func TestPooledHelpersChainOverNettest(t *testing.T) {
	for _, s := range pooledSetups {
		t.Run(s.name, func(t *testing.T) {
			ioc := testkit.NewIOContext(s.runners)
			c := testkit.NewCheck(t)
			msgs := testkit.Scale(s.msgs)
			var ends []*pooledEnd
			for i := range s.conns {
				// Both ends of a pair complete on one executor: the pair's.
				hx, sx := pooledExecutors(ioc, s)
				mode := nettest.Mode(i % 2)
				a, b := nettest.NewPair(sx,
					nettest.Options{ReadSize: 1 + i%3, WriteSize: 1 + i%5, Mode: mode},
					nettest.Options{ReadSize: 2 + i%4, WriteSize: 3 * (i % 2), Mode: 1 - mode})
				for side, st := range []*nettest.Stream{a, b} {
					id := 2*i + side
					ends = append(ends, &pooledEnd{
						on: pooledOn{c: c, ex: hx, bind: s.bind},
						s:  st, id: id, peerID: id ^ 1, msgs: msgs, max: 40,
						gather: id%2 == 1, until: (id/2+id)%2 == 1,
						rng: rand.New(rand.NewPCG(uint64(id), 8)),
					})
				}
			}
			pooledChains(t, ioc, s.runners, c, ends)
		})
	}
}

// TestPooledTeardownChain: thousands of teardowns, each started by the handler of the last on
// another nettest pair, the pairs spread over a few strands so that states move between them. The
// peer of every other pair has closed before its teardown starts (with bytes still unread), and
// that of the others closes from a step posted after the start, so teardowns complete both at once
// and from later steps; each must complete with nil and leave its stream closed.
func TestPooledTeardownChain(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d runners", runners), func(t *testing.T) {
			ioc := testkit.NewIOContext(runners)
			c := testkit.NewCheck(t)
			n := testkit.Scale(3000)
			const lanes = 4
			var done atomic.Int32
			for lane := range lanes {
				hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners, bind: lane%2 == 1})
				on := pooledOn{c: c, ex: hx, bind: lane%2 == 1}
				var next func(i int)
				next = func(i int) {
					if i >= n {
						return
					}
					a, b := nettest.NewPair(sx, nettest.Options{ReadSize: 1 + i%3, Mode: nettest.Mode(i % 2)}, nettest.Options{})
					a.Append([]byte("unread"))
					early := i%2 == 0
					if early {
						b.AsyncWriteSome([]byte("more"), completion.Detached[net.IOResult]())
						b.Close()
					}
					what := fmt.Sprintf("lane %d teardown %d", lane, i)
					pooledStart(on, nil, what, func(h completion.Handler[error]) { net.AsyncTeardown(a, h) },
						func(err error) {
							if err != nil {
								c.Errorf("%s: %v", what, err)
							}
							if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
								c.Errorf("%s: Close after it gave %v: the teardown left the stream open", what, err)
							}
							done.Add(1)
							next(i + lanes)
						})
					if !early {
						hx.Post(func() { b.Close() })
					}
				}
				hx.Post(func() { next(lane) })
			}
			testkit.Run(t, ioc, runners)
			c.AllCompleted()
			if int(done.Load()) != n {
				t.Errorf("%d of %d teardowns done", done.Load(), n)
			}
		})
	}
}

// pooledPattern is the byte at offset i of the streams the race tests write: letters, with a
// delimiter every 7 bytes for AsyncReadUntil. It repeats every 182 bytes.
func pooledPattern(i int) byte {
	if i%7 == 6 {
		return '\n'
	}
	return 'a' + byte(i%26)
}

const pooledPeriod = 7 * 26

// pooledTable holds the pattern from offset 0, long enough for a view of the largest write.
var pooledTable = func() []byte {
	b := make([]byte, 4<<20+pooledPeriod)
	for i := range b {
		b[i] = pooledPattern(i)
	}
	return b
}()

// pooledView is the pattern's n bytes from offset off, read-only (n at most 4 MiB).
func pooledView(off, n int) []byte {
	o := off % pooledPeriod
	return pooledTable[o : o+n : o+n]
}

// pooledPatternAt is a copy of the pattern's n bytes from offset off.
func pooledPatternAt(off, n int) []byte { return bytes.Clone(pooledView(off, n)) }

// pooledLane is a reading end whose bytes the test writes through the other end, from its own
// goroutine, when it chooses: a stream of pooledPattern.
type pooledLane struct {
	name   string
	s      net.AsyncStream // the reading end
	feed   func(b []byte)  // writes b through the other end; returns once it has been written
	woff   int             // bytes fed; the test goroutine's
	off    int             // offset of the next byte a read takes; the lane executor's, as below
	rb     []byte          // AsyncRead's buffer
	buf    net.FlatBuffer  // AsyncReadUntil's buffer, which holds bytes from offset off
	before int             // the size of buf when AsyncReadUntil started
}

// pooledFeeder returns a feed for the writing end w: raw AsyncWriteSome calls, so that the
// helpers under test are the only composed operations on the lanes.
func pooledFeeder(t *testing.T, w net.AsyncWriteStream) func(b []byte) {
	ch := make(chan net.IOResult, 1)
	return func(b []byte) {
		for len(b) > 0 {
			w.AsyncWriteSome(b, completion.Chan(ch))
			r := <-ch
			if r.Err != nil {
				t.Errorf("feeding a lane: %v", r.Err)
				return
			}
			b = b[r.N:]
		}
	}
}

// pooledReadOp is a read helper in the race tests: what it is called, how much must be fed for it
// to complete, how to start it, and how to check its result (on the lane's executor).
type pooledReadOp struct {
	name  string
	need  func(l *pooledLane, n int) int // offset the stream must reach for the read to complete
	start func(l *pooledLane, n int, h completion.Handler[net.IOResult])
	// check checks r, and the bytes read, and advances the lane; ok says whether r was a success.
	// cancelOK admits the cancellation error.
	check func(l *pooledLane, n int, r net.IOResult, cancelOK bool) (problem string, ok bool)
}

// pooledReadOps: AsyncRead of n bytes, and AsyncReadUntil the next delimiter.
var pooledReadOps = []pooledReadOp{
	{
		name: "AsyncRead",
		need: func(l *pooledLane, n int) int { return l.off + n },
		start: func(l *pooledLane, n int, h completion.Handler[net.IOResult]) {
			l.rb = make([]byte, n)
			net.AsyncRead(l.s, l.rb, h)
		},
		check: func(l *pooledLane, n int, r net.IOResult, cancelOK bool) (string, bool) {
			if r.N < 0 || r.N > n {
				return fmt.Sprintf("%+v for a read of %d bytes", r, n), false
			}
			if want := pooledPatternAt(l.off, r.N); !bytes.Equal(l.rb[:r.N], want) {
				return fmt.Sprintf("%+v: read %q at offset %d, want %q", r, l.rb[:r.N], l.off, want), false
			}
			l.off += r.N
			switch {
			case r.Err == nil && r.N == n:
				return "", true
			case cancelOK && testkit.Cancelled(r.Err) && r.N < n:
				return "", false
			}
			return fmt.Sprintf("%+v, want N=%d and no error", r, n), false
		},
	},
	{
		name: "AsyncReadUntil",
		need: func(l *pooledLane, _ int) int {
			o := l.off + l.buf.Size()
			for pooledPattern(o) != '\n' {
				o++
			}
			return o + 1
		},
		start: func(l *pooledLane, _ int, h completion.Handler[net.IOResult]) {
			l.before = l.buf.Size()
			net.AsyncReadUntil(l.s, &l.buf, []byte{'\n'}, h)
		},
		check: func(l *pooledLane, _ int, r net.IOResult, cancelOK bool) (string, bool) {
			if want := pooledPatternAt(l.off, l.buf.Size()); !bytes.Equal(l.buf.Bytes(), want) {
				return fmt.Sprintf("%+v: buffer %q at offset %d, want %q", r, l.buf.Bytes(), l.off, want), false
			}
			want := 0
			for pooledPattern(l.off+want) != '\n' {
				want++
			}
			want++
			switch {
			case r.Err == nil && r.N == want:
				l.buf.Consume(r.N)
				l.off += r.N
				return "", true
			case cancelOK && testkit.Cancelled(r.Err):
				if l.buf.Size() != l.before+r.N {
					return fmt.Sprintf("%+v, but the buffer grew from %d to %d bytes", r, l.before, l.buf.Size()), false
				}
				return "", false
			}
			return fmt.Sprintf("%+v, want N=%d and no error", r, want), false
		},
	},
}

// pooledLanes makes two reading lanes for a race test on ex, over nettest pairs or loopback TCP.
func pooledLanes(t *testing.T, ioc *executor.IOContext, sx executor.Executor, tcp bool) []*pooledLane {
	t.Helper()
	var lanes []*pooledLane
	if tcp {
		clients, servers := pooledTCP(t, ioc, []executor.Executor{sx, sx}, []executor.Executor{ioc, ioc})
		for i := range 2 {
			lanes = append(lanes, &pooledLane{name: fmt.Sprintf("tcp %d", i), s: clients[i], feed: pooledFeeder(t, servers[i])})
		}
		return lanes
	}
	for i := range 2 {
		a, b := nettest.NewPair(sx, nettest.Options{ReadSize: 1 + 2*i, Mode: nettest.Mode(i)}, nettest.Options{})
		lanes = append(lanes, &pooledLane{name: fmt.Sprintf("nettest %d", i), s: a, feed: pooledFeeder(t, b)})
	}
	return lanes
}

// TestPooledReadCancelRacesCompletion: a read (AsyncRead, AsyncReadUntil) is pending; the test's
// goroutine feeds the bytes that complete it and cancels its context at nearly the same moment,
// in either order; its handler starts at once another read of the same kind, on the same or the
// other stream, with a fresh context that is never cancelled while it runs. The first read must
// complete with its bytes or with the cancellation error, and only once its context is done; the
// second must complete with its bytes, however the stale cancellation lands. The byte streams are
// checked at every offset, so a lost or doubled byte shows. Then the test cancels the second
// read's context too, just as the next round starts.
func TestPooledReadCancelRacesCompletion(t *testing.T) {
	for _, op := range pooledReadOps {
		for _, tcp := range []bool{false, true} {
			for _, runners := range []int{1, 2} {
				name := fmt.Sprintf("%s/tcp=%v/runners=%d", op.name, tcp, runners)
				t.Run(name, func(t *testing.T) { pooledReadRace(t, op, tcp, runners) })
			}
		}
	}
}

func pooledReadRace(t *testing.T, op pooledReadOp, tcp bool, runners int) {
	ioc := testkit.NewIOContext(runners)
	c := testkit.NewCheck(t)
	hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners, bind: runners == 1})
	on := pooledOn{c: c, ex: hx, bind: runners == 1}
	lanes := pooledLanes(t, ioc, sx, tcp)
	stop := testkit.RunGuarded(t, ioc, runners)
	defer func() { stop() }()

	rng := rand.New(rand.NewPCG(1, 2))
	rounds := testkit.Scale(1200)
	var cancelled, succeeded int
	var prevCancel context.CancelFunc = func() {}
	for round := range rounds {
		first, second := lanes[rng.IntN(2)], lanes[rng.IntN(2)]
		n1, n2 := 1+rng.IntN(20), 1+rng.IntN(20)
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		started := make(chan int, 1) // the offset the first read needs
		secondStarted := make(chan int, 1)
		secondDone := make(chan bool, 1)
		what1 := fmt.Sprintf("round %d: %s on %s with a context cancelled as it completes", round, op.name, first.name)
		what2 := fmt.Sprintf("round %d: %s on %s with a fresh context", round, op.name, second.name)
		hx.Post(func() {
			need := op.need(first, n1)
			pooledStart(on, ctx1, what1, func(h completion.Handler[net.IOResult]) { op.start(first, n1, h) },
				func(r net.IOResult) {
					if testkit.Cancelled(r.Err) && ctx1.Err() == nil {
						c.Errorf("%s: cancelled (%v) while its context is not done", what1, r.Err)
					}
					if problem, ok := op.check(first, n1, r, true); problem != "" {
						c.Errorf("%s: %s", what1, problem)
					} else if ok {
						succeeded++
					} else {
						cancelled++
					}
					need2 := op.need(second, n2)
					pooledStart(on, ctx2, what2, func(h completion.Handler[net.IOResult]) { op.start(second, n2, h) },
						func(r net.IOResult) {
							problem, _ := op.check(second, n2, r, false)
							if problem != "" {
								c.Errorf("%s: %s", what2, problem)
							}
							secondDone <- problem == ""
						})
					secondStarted <- need2
				})
			started <- need
		})
		prevCancel() // the last round's second context, cancelled as this round starts
		need := testkit.Recv(t, started)
		feed := pooledPatternAt(first.woff, max(0, need-first.woff)+rng.IntN(3))
		if rng.IntN(2) == 0 {
			first.feed(feed)
			testkit.Spin(rng)
			cancel1()
		} else {
			cancel1()
			testkit.Spin(rng)
			first.feed(feed)
		}
		first.woff += len(feed)
		need2 := testkit.Recv(t, secondStarted)
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond) // let a stale cancellation land
		}
		feed2 := pooledPatternAt(second.woff, max(0, need2-second.woff))
		second.feed(feed2)
		second.woff += len(feed2)
		prevCancel = cancel2
		if ok := testkit.Recv(t, secondDone); !ok {
			break
		}
	}
	prevCancel()
	stop()
	stop = func() {}
	c.AllCompleted()
	t.Logf("%d first reads completed, %d cancelled", succeeded, cancelled)
}

// pooledWriteOps are the write helpers in the race tests.
var pooledWriteOps = []struct {
	name  string
	start func(rng *rand.Rand, s net.AsyncWriteStream, b []byte, h completion.Handler[net.IOResult])
}{
	{"AsyncWrite", func(_ *rand.Rand, s net.AsyncWriteStream, b []byte, h completion.Handler[net.IOResult]) {
		net.AsyncWrite(s, b, h)
	}},
	{"AsyncWriteBuffers", func(rng *rand.Rand, s net.AsyncWriteStream, b []byte, h completion.Handler[net.IOResult]) {
		net.AsyncWriteBuffers(s, pooledSplit(rng, b), h)
	}},
}

// pooledDrain reads everything a writing lane's peer receives, with a chain of raw reads on the
// peer, and checks it against the pattern as it comes.
type pooledDrain struct {
	mu   sync.Mutex
	n    int // bytes read
	bad  int // offset of the first byte that differs from the pattern, or -1
	err  error
	done chan struct{}
}

func pooledDrainStart(r net.AsyncReadStream) *pooledDrain {
	d := &pooledDrain{bad: -1, done: make(chan struct{})}
	buf := make([]byte, 64<<10)
	var next func()
	next = func() {
		r.AsyncReadSome(buf, completion.Callback(func(res net.IOResult) {
			d.mu.Lock()
			if d.bad < 0 && !bytes.Equal(buf[:res.N], pooledView(d.n, res.N)) {
				d.bad = d.n + pooledFirstDiff(buf[:res.N], pooledView(d.n, res.N))
			}
			d.n += res.N
			d.err = res.Err
			d.mu.Unlock()
			if res.Err != nil {
				close(d.done)
				return
			}
			next()
		}))
	}
	r.Executor().Post(next)
	return d
}

// TestPooledWriteCancelRacesCompletion: a write (AsyncWrite, AsyncWriteBuffers) is on its way, a
// byte at a time over nettest or against a full socket buffer over TCP, and the test's goroutine
// cancels its context at a random moment; its handler starts at once another write of the same
// kind, on the same or the other stream, with a fresh context. The first must report exactly the
// bytes it wrote (all of them and no error, or fewer and the cancellation error), the second all
// of its bytes; what the peers read must be exactly the bytes the writes reported, in order.
func TestPooledWriteCancelRacesCompletion(t *testing.T) {
	for _, op := range pooledWriteOps {
		for _, tcp := range []bool{false, true} {
			for _, runners := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/tcp=%v/runners=%d", op.name, tcp, runners), func(t *testing.T) {
					ioc := testkit.NewIOContext(runners)
					c := testkit.NewCheck(t)
					bind := runners == 2
					hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners, bind: bind})
					on := pooledOn{c: c, ex: hx, bind: bind}
					type lane struct {
						s     net.AsyncWriteStream
						close func()
						drain *pooledDrain
						woff  int // on hx
					}
					var lanes []*lane
					size := 64
					if tcp {
						size = 1 << 20
						clients, servers := pooledTCP(t, ioc, []executor.Executor{sx, sx}, []executor.Executor{ioc, ioc})
						for i := range 2 {
							// A small send buffer, so that a write waits for room (a small receive
							// buffer as well would make loopback crawl, on delayed acknowledgements).
							clients[i].SetWriteBuffer(128 << 10)
							lanes = append(lanes, &lane{s: clients[i], close: func() { clients[i].Shutdown(net.ShutdownWrite) }})
						}
						for i, l := range lanes {
							l.drain = pooledDrainStart(servers[i])
						}
					} else {
						for i := range 2 {
							a, b := nettest.NewPair(sx, nettest.Options{WriteSize: 1 + i, Mode: nettest.Later}, nettest.Options{})
							lanes = append(lanes, &lane{s: a, close: func() { a.Close() }, drain: pooledDrainStart(b)})
						}
					}
					stop := testkit.RunGuarded(t, ioc, runners)
					defer func() { stop() }()
					rng := rand.New(rand.NewPCG(3, 4))
					wrng := rand.New(rand.NewPCG(5, 6)) // hx's
					rounds := testkit.Scale(600)
					if tcp {
						rounds = testkit.Scale(200)
					}
					var cancelled int
					for round := range rounds {
						first, second := lanes[rng.IntN(2)], lanes[rng.IntN(2)]
						ctx1, cancel1 := context.WithCancel(context.Background())
						ctx2, cancel2 := context.WithCancel(context.Background())
						started := make(chan struct{}, 1)
						secondDone := make(chan bool, 1)
						n1, n2 := 1+rng.IntN(size), 1+rng.IntN(size)
						what1 := fmt.Sprintf("round %d: %s of %d bytes, its context cancelled", round, op.name, n1)
						what2 := fmt.Sprintf("round %d: %s of %d bytes with a fresh context", round, op.name, n2)
						hx.Post(func() {
							b1 := pooledView(first.woff, n1)
							pooledStart(on, ctx1, what1, func(h completion.Handler[net.IOResult]) { op.start(wrng, first.s, b1, h) },
								func(r net.IOResult) {
									switch {
									case r.Err == nil && r.N == n1:
									case testkit.Cancelled(r.Err) && ctx1.Err() != nil && r.N >= 0 && r.N < n1:
										cancelled++
									default:
										c.Errorf("%s: %+v", what1, r)
									}
									first.woff += max(r.N, 0)
									b2 := pooledView(second.woff, n2)
									pooledStart(on, ctx2, what2, func(h completion.Handler[net.IOResult]) { op.start(wrng, second.s, b2, h) },
										func(r net.IOResult) {
											ok := r.Err == nil && r.N == n2
											if !ok {
												c.Errorf("%s: %+v", what2, r)
											}
											second.woff += max(r.N, 0)
											secondDone <- ok
										})
								})
							started <- struct{}{}
						})
						testkit.Recv(t, started)
						testkit.Spin(rng)
						if tcp && rng.IntN(2) == 0 {
							time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
						}
						cancel1()
						ok := testkit.Recv(t, secondDone)
						cancel2()
						if !ok {
							break
						}
					}
					// End the streams, and check that the peers read exactly what the writes reported.
					done := make(chan struct{})
					hx.Post(func() {
						for _, l := range lanes {
							l.close()
						}
						close(done)
					})
					testkit.Recv(t, done)
					for i, l := range lanes {
						testkit.Recv(t, l.drain.done)
						l.drain.mu.Lock()
						n, bad, err := l.drain.n, l.drain.bad, l.drain.err
						l.drain.mu.Unlock()
						if err != io.EOF {
							t.Errorf("lane %d: the peer's reads ended with %v, want io.EOF", i, err)
						}
						if n != l.woff || bad >= 0 {
							t.Errorf("lane %d: the peer read %d bytes, the writes reported %d; first byte out of place at %d (-1: none)",
								i, n, l.woff, bad)
						}
					}
					stop()
					stop = func() {}
					c.AllCompleted()
					t.Logf("%d of %d first writes cancelled", cancelled, rounds)
				})
			}
		}
	}
}

func pooledFirstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// pooledCloser is a stream a teardown ends: a nettest end or a TCP socket.
type pooledCloser interface {
	net.AsyncStream
	Close() error
}

// TestPooledTeardownCancelRacesCompletion: a teardown waits for its peer's end of stream (over
// nettest, or a loopback socket); the test's goroutine ends the peer and cancels the teardown's
// context at nearly the same moment; the handler starts at once a teardown of another stream
// with a fresh context, whose peer the test ends after it has started. The first must complete
// with nil or the cancellation error, the second with nil, and both streams must be closed.
func TestPooledTeardownCancelRacesCompletion(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		for _, runners := range []int{1, 2} {
			t.Run(fmt.Sprintf("tcp=%v/runners=%d", tcp, runners), func(t *testing.T) {
				pooledTeardownRace(t, tcp, runners)
			})
		}
	}
}

func pooledTeardownRace(t *testing.T, tcp bool, runners int) {
	ioc := testkit.NewIOContext(runners)
	c := testkit.NewCheck(t)
	hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners})
	on := pooledOn{c: c, ex: hx}
	rounds := testkit.Scale(1500)
	// mk returns round's two streams and the calls that end their peers.
	var mk func(round int) (a1, a2 pooledCloser, end1, end2 func())
	if tcp {
		rounds = testkit.Scale(300)
		cex := make([]executor.Executor, 2*rounds)
		sex := make([]executor.Executor, 2*rounds)
		for i := range cex {
			cex[i], sex[i] = sx, ioc
		}
		clients, servers := pooledTCP(t, ioc, cex, sex)
		mk = func(round int) (pooledCloser, pooledCloser, func(), func()) {
			s1, s2 := servers[2*round], servers[2*round+1]
			return clients[2*round], clients[2*round+1], func() { s1.Close() }, func() { s2.Close() }
		}
	} else {
		mk = func(round int) (pooledCloser, pooledCloser, func(), func()) {
			a1, b1 := nettest.NewPair(sx, nettest.Options{Mode: nettest.Mode(round % 2)}, nettest.Options{})
			a2, b2 := nettest.NewPair(sx, nettest.Options{Mode: nettest.Mode(round / 2 % 2)}, nettest.Options{})
			return a1, a2, func() { b1.Close() }, func() { b2.Close() }
		}
	}
	stop := testkit.RunGuarded(t, ioc, runners)
	defer func() { stop() }()
	rng := rand.New(rand.NewPCG(7, 8))
	var cancelled int
	var prevCancel context.CancelFunc = func() {}
	for round := range rounds {
		a1, a2, end1, end2 := mk(round)
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		started := make(chan struct{}, 1)
		secondStarted := make(chan struct{}, 1)
		secondDone := make(chan bool, 1)
		what1 := fmt.Sprintf("round %d: teardown, its context cancelled as the peer ends", round)
		what2 := fmt.Sprintf("round %d: teardown with a fresh context", round)
		closed := func(what string, s pooledCloser) {
			if err := s.Close(); !errors.Is(err, stdnet.ErrClosed) {
				c.Errorf("%s: Close after it gave %v: the stream was left open", what, err)
			}
		}
		hx.Post(func() {
			pooledStart(on, ctx1, what1, func(h completion.Handler[error]) { net.AsyncTeardown(a1, h) },
				func(err error) {
					switch {
					case err == nil:
					case testkit.Cancelled(err) && ctx1.Err() != nil:
						cancelled++
					default:
						c.Errorf("%s: %v", what1, err)
					}
					closed(what1, a1)
					pooledStart(on, ctx2, what2, func(h completion.Handler[error]) { net.AsyncTeardown(a2, h) },
						func(err error) {
							if err != nil {
								c.Errorf("%s: %v", what2, err)
							}
							closed(what2, a2)
							secondDone <- err == nil
						})
					secondStarted <- struct{}{}
				})
			started <- struct{}{}
		})
		prevCancel()
		testkit.Recv(t, started)
		if rng.IntN(2) == 0 {
			end1()
			testkit.Spin(rng)
			cancel1()
		} else {
			cancel1()
			testkit.Spin(rng)
			end1()
		}
		testkit.Recv(t, secondStarted)
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond)
		}
		end2()
		prevCancel = cancel2
		if ok := testkit.Recv(t, secondDone); !ok {
			break
		}
	}
	prevCancel()
	stop()
	stop = func() {}
	c.AllCompleted()
	t.Logf("%d of %d first teardowns cancelled", cancelled, rounds)
}

// TestPooledCancelOnlyItsOwn: over loopback TCP, a write (AsyncWrite or AsyncWriteBuffers) waits
// for room and a read (AsyncRead or AsyncReadUntil) for bytes on the same socket, each with a
// context of its own; the test cancels one of the two contexts. That operation must complete with
// the cancellation error, and the other, once the peer drains or writes, with all its bytes and no
// error. Then the next round, whose operations take the states these gave back. (On the portable
// path, where a context cannot abort a pending write, only reads are cut.)
func TestPooledCancelOnlyItsOwn(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("runners=%d", runners), func(t *testing.T) {
			ioc := testkit.NewIOContext(runners)
			c := testkit.NewCheck(t)
			hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners})
			on := pooledOn{c: c, ex: hx}
			clients, servers := pooledTCP(t, ioc, []executor.Executor{sx}, []executor.Executor{sx})
			client, server := clients[0], servers[0]
			client.SetWriteBuffer(64 << 10)
			server.SetReadBuffer(64 << 10)
			stop := testkit.RunGuarded(t, ioc, runners)
			defer func() { stop() }()

			const size = 2 << 20 // more than the socket buffers hold
			const line = "0123456789abcde\n"
			rng := rand.New(rand.NewPCG(41, 42))
			rrng := rand.New(rand.NewPCG(43, 44)) // hx's
			woff, drained := 0, 0                 // hx's: bytes the writes reported, bytes the peer read
			var buf net.FlatBuffer                // AsyncReadUntil's, hx's
			in := make([]byte, len(line))
			// drain reads what the client wrote up to offset to, checking it, then calls then.
			scratch := make([]byte, 256<<10)
			var drain func(to int, then func())
			drain = func(to int, then func()) {
				if drained >= to {
					then()
					return
				}
				b := scratch[:min(len(scratch), to-drained)]
				server.AsyncReadSome(b, completion.Bind(executor.Executor(hx), completion.Callback(func(r net.IOResult) {
					if r.Err != nil || !bytes.Equal(b[:r.N], pooledView(drained, r.N)) {
						c.Errorf("the peer read %+v at offset %d, out of place", r, drained)
						then()
						return
					}
					drained += r.N
					drain(to, then)
				})))
			}
			rounds := testkit.Scale(300)
			var writesCut, readsCut int
			for round := range rounds {
				ctxW, cancelW := context.WithCancel(context.Background())
				ctxR, cancelR := context.WithCancel(context.Background())
				gather, until := rng.IntN(2) == 0, rng.IntN(2) == 0
				// On the portable path a context does not abort a pending write (docs/net.md).
				cutWrite := !bbPortable && rng.IntN(2) == 0
				wDone := make(chan net.IOResult, 1)
				rDone := make(chan net.IOResult, 1)
				started := make(chan struct{}, 1)
				whatW := fmt.Sprintf("round %d: write (gather %v, its context cancelled %v)", round, gather, cutWrite)
				whatR := fmt.Sprintf("round %d: read (until %v, its context cancelled %v)", round, until, !cutWrite)
				hx.Post(func() {
					pooledStart(on, ctxW, whatW, func(h completion.Handler[net.IOResult]) {
						b := pooledView(woff, size)
						if gather {
							net.AsyncWriteBuffers(client, pooledSplit(rrng, b), h)
						} else {
							net.AsyncWrite(client, b, h)
						}
					}, func(r net.IOResult) { woff += max(r.N, 0); wDone <- r })
					pooledStart(on, ctxR, whatR, func(h completion.Handler[net.IOResult]) {
						if until {
							net.AsyncReadUntil(client, &buf, []byte("\n"), h)
						} else {
							net.AsyncRead(client, in, h)
						}
					}, func(r net.IOResult) {
						if r.Err == nil {
							got := in
							if until {
								got = buf.Bytes()[:min(r.N, buf.Size())]
								defer buf.Consume(r.N)
							}
							if string(got) != line {
								r.Err = fmt.Errorf("read %q, want %q", got, line)
							}
						}
						rDone <- r
					})
					started <- struct{}{}
				})
				testkit.Recv(t, started)
				testkit.Spin(rng)
				survivorOK := func(what string, r net.IOResult, n int) {
					if r.Err != nil || r.N != n {
						c.Errorf("%s: %+v, want N=%d and no error: cancelling the other operation's context reached it", what, r, n)
					}
				}
				if cutWrite {
					cancelW()
					w := testkit.Recv(t, wDone)
					if w.Err == nil && w.N == size {
						// The socket buffers took it all before the cancellation: nothing to cut.
					} else if !testkit.Cancelled(w.Err) || w.N < 0 || w.N >= size {
						c.Errorf("%s: %+v, want the cancellation error", whatW, w)
					} else {
						writesCut++
					}
					server.AsyncWriteSome([]byte(line), completion.Detached[net.IOResult]())
					survivorOK(whatR, testkit.Recv(t, rDone), len(line))
				} else {
					cancelR()
					if r := testkit.Recv(t, rDone); !testkit.Cancelled(r.Err) || r.N != 0 {
						c.Errorf("%s: %+v, want N=0 and the cancellation error", whatR, r)
					} else {
						readsCut++
					}
					drainDone := make(chan struct{})
					hx.Post(func() { drain(woff+size, func() { close(drainDone) }) })
					survivorOK(whatW, testkit.Recv(t, wDone), size)
					testkit.Recv(t, drainDone)
				}
				// Read what a cut write left on its way, before the next round.
				drainDone := make(chan struct{})
				hx.Post(func() { drain(woff, func() { close(drainDone) }) })
				testkit.Recv(t, drainDone)
				cancelW()
				cancelR()
				if c.Failed() {
					break
				}
			}
			stop()
			stop = func() {}
			c.AllCompleted()
			t.Logf("%d writes and %d reads cut by their own context, the other operation undisturbed", writesCut, readsCut)
		})
	}
}

// pooledHelper is one helper started over a nettest end whose peer has written msg, a line
// ending with '\n' (and, for the teardown, closed): the writes write msg less its '\n', AsyncRead
// reads as much, AsyncReadUntil reads the line. want is the N it completes with.
type pooledHelper struct {
	name  string
	start func(s *nettest.Stream, msg []byte, h completion.Handler[net.IOResult])
	want  func(msg []byte) int
}

// pooledHello is what the peer has written in TestPooledContextDoneBeforeStart.
var pooledHello = []byte("hello\n")

// pooledErrHandler is h as a handler of an error, with h's executor and context.
func pooledErrHandler(h completion.Handler[net.IOResult], fallback executor.Executor) completion.Handler[error] {
	ex, ctx := completion.Associated(h, fallback)
	var e completion.Handler[error] = completion.Bind(ex, completion.Callback(func(err error) {
		h.Complete(net.IOResult{Err: err})
	}))
	if ctx != nil {
		e = completion.WithContext(ctx, e)
	}
	return e
}

var pooledHelpers = []pooledHelper{
	{"AsyncWrite", func(s *nettest.Stream, msg []byte, h completion.Handler[net.IOResult]) {
		net.AsyncWrite(s, msg[:len(msg)-1], h)
	}, func(msg []byte) int { return len(msg) - 1 }},
	{"AsyncWriteBuffers", func(s *nettest.Stream, msg []byte, h completion.Handler[net.IOResult]) {
		net.AsyncWriteBuffers(s, [][]byte{msg[:2], nil, msg[2 : len(msg)-1]}, h)
	}, func(msg []byte) int { return len(msg) - 1 }},
	{"AsyncRead", func(s *nettest.Stream, msg []byte, h completion.Handler[net.IOResult]) {
		net.AsyncRead(s, make([]byte, len(msg)-1), h)
	}, func(msg []byte) int { return len(msg) - 1 }},
	{"AsyncReadUntil", func(s *nettest.Stream, _ []byte, h completion.Handler[net.IOResult]) {
		net.AsyncReadUntil(s, new(net.FlatBuffer), []byte("\n"), h)
	}, func(msg []byte) int { return len(msg) }},
	{"AsyncTeardown", func(s *nettest.Stream, _ []byte, h completion.Handler[net.IOResult]) {
		net.AsyncTeardown(s, pooledErrHandler(h, s.Executor()))
	}, func([]byte) int { return 0 }},
}

// TestPooledContextDoneBeforeStart: each helper started with a context already done completes
// with the cancellation error and N == 0, posted, on its handler's executor, without a read or
// write; the handler then starts the same helper with a fresh context on the same stream, which
// must complete as if nothing had happened. A thousand times, alternating, so that the state of
// the refused operation is the one the next takes.
func TestPooledContextDoneBeforeStart(t *testing.T) {
	for _, hp := range pooledHelpers {
		t.Run(hp.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			c := testkit.NewCheck(t)
			hx := testkit.NewMarkingExecutor(ioc)
			on := pooledOn{c: c, ex: hx, bind: true}
			done, cancel := context.WithCancel(context.Background())
			cancel()
			rounds := testkit.Scale(1000)
			var next func(i int)
			next = func(i int) {
				if i == rounds {
					return
				}
				fc := nettest.NewFailCount(0, nil)
				a, b := nettest.NewPair(ioc, nettest.Options{Fail: fc, Mode: nettest.Mode(i % 2)}, nettest.Options{})
				b.AsyncWriteSome(pooledHello, completion.Detached[net.IOResult]())
				if hp.name == "AsyncTeardown" {
					b.Close()
				}
				what := fmt.Sprintf("%d: %s with a context already done", i, hp.name)
				pooledStart(on, done, what, func(h completion.Handler[net.IOResult]) { hp.start(a, pooledHello, h) },
					func(r net.IOResult) {
						if !testkit.Cancelled(r.Err) || r.N != 0 {
							c.Errorf("%s: %+v, want N=0 and the cancellation error", what, r)
						}
						if n := fc.Count(); n != 0 {
							c.Errorf("%s: %d reads or writes were started", what, n)
						}
						if got := a.Unread(); hp.name != "AsyncTeardown" && !bytes.Equal(got, pooledHello) {
							c.Errorf("%s: left %q to read, want %q", what, got, pooledHello)
						}
						if got := b.Unread(); len(got) != 0 {
							c.Errorf("%s: wrote %q", what, got)
						}
						fresh, cancelFresh := context.WithCancel(context.Background())
						what := fmt.Sprintf("%d: %s with a fresh context after it", i, hp.name)
						pooledStart(on, fresh, what, func(h completion.Handler[net.IOResult]) { hp.start(a, pooledHello, h) },
							func(r net.IOResult) {
								cancelFresh()
								if want := hp.want(pooledHello); r.N != want || r.Err != nil {
									c.Errorf("%s: %+v, want N=%d and no error", what, r, want)
								}
								next(i + 1)
							})
					})
			}
			hx.Post(func() { next(0) })
			testkit.Run(t, ioc, 1)
			c.AllCompleted()
		})
	}
}

// TestPooledContextDoneBeforeStartTCP: the same refusal over a loopback socket, interleaved with
// successful operations of the same helper on the same socket.
func TestPooledContextDoneBeforeStartTCP(t *testing.T) {
	ioc := executor.NewIOContext()
	c := testkit.NewCheck(t)
	hx := testkit.NewMarkingExecutor(ioc)
	on := pooledOn{c: c, ex: hx}
	clients, servers := pooledTCP(t, ioc, []executor.Executor{hx}, []executor.Executor{hx})
	client, server := clients[0], servers[0]
	done, cancel := context.WithCancel(context.Background())
	cancel()
	rounds := testkit.Scale(400)
	msg := []byte("0123456\n")
	type step struct {
		name  string
		start func(h completion.Handler[net.IOResult])
		want  int
	}
	var buf net.FlatBuffer
	in := make([]byte, len(msg))
	steps := []step{
		{"AsyncWrite", func(h completion.Handler[net.IOResult]) { net.AsyncWrite(client, msg, h) }, len(msg)},
		{"AsyncRead", func(h completion.Handler[net.IOResult]) { net.AsyncRead(server, in, h) }, len(msg)},
		{"AsyncWriteBuffers", func(h completion.Handler[net.IOResult]) {
			net.AsyncWriteBuffers(client, [][]byte{msg[:3], nil, msg[3:]}, h)
		}, len(msg)},
		{"AsyncReadUntil", func(h completion.Handler[net.IOResult]) { net.AsyncReadUntil(server, &buf, []byte{'\n'}, h) }, len(msg)},
	}
	var next func(i int)
	next = func(i int) {
		if i == rounds*len(steps) {
			return
		}
		st := steps[i%len(steps)]
		what := fmt.Sprintf("%d: %s with a context already done", i, st.name)
		pooledStart(on, done, what, st.start, func(r net.IOResult) {
			if !testkit.Cancelled(r.Err) || r.N != 0 {
				c.Errorf("%s: %+v, want N=0 and the cancellation error", what, r)
			}
			what := fmt.Sprintf("%d: %s", i, st.name)
			pooledStart(on, context.Background(), what, st.start, func(r net.IOResult) {
				if r.N != st.want || r.Err != nil {
					c.Errorf("%s: %+v, want N=%d", what, r, st.want)
					return
				}
				if st.name == "AsyncRead" && !bytes.Equal(in, msg) {
					c.Errorf("%s: read %q", what, in)
				}
				if st.name == "AsyncReadUntil" {
					if !bytes.Equal(buf.Bytes(), msg) {
						c.Errorf("%s: read %q", what, buf.Bytes())
					}
					buf.Consume(r.N)
				}
				next(i + 1)
			})
		})
	}
	hx.Post(func() { next(0) })
	testkit.Run(t, ioc, 1)
	c.AllCompleted()
}

// TestPooledCloseRacesOperation: a helper is in flight when the test's goroutine closes its
// stream, while its peer's bytes arrive (a read) or its bytes go out a few at a time (a write).
// It must complete once, on its executor, with a success or with the abort or closed error, and
// the same helper started at once on another stream must not be disturbed.
func TestPooledCloseRacesOperation(t *testing.T) {
	for _, hp := range pooledHelpers {
		for _, runners := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/runners=%d", hp.name, runners), func(t *testing.T) {
				ioc := testkit.NewIOContext(runners)
				c := testkit.NewCheck(t)
				hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners})
				on := pooledOn{c: c, ex: hx}
				stop := testkit.RunGuarded(t, ioc, runners)
				defer func() { stop() }()
				rng := rand.New(rand.NewPCG(9, 10))
				rounds := testkit.Scale(1000)
				var aborted int
				msg := append(bytes.Repeat([]byte("x"), 100), '\n')
				for round := range rounds {
					o := nettest.Options{ReadSize: 1, WriteSize: 1, Mode: nettest.Mode(round % 2)}
					a1, b1 := nettest.NewPair(sx, o, nettest.Options{})
					a2, b2 := nettest.NewPair(sx, o, nettest.Options{})
					started := make(chan struct{}, 1)
					secondDone := make(chan bool, 1)
					what1 := fmt.Sprintf("round %d: %s, its stream closed under it", round, hp.name)
					what2 := fmt.Sprintf("round %d: %s on another stream", round, hp.name)
					hx.Post(func() {
						pooledStart(on, nil, what1, func(h completion.Handler[net.IOResult]) { hp.start(a1, msg, h) },
							func(r net.IOResult) {
								switch {
								case r.Err == nil:
								case errors.Is(r.Err, completion.ErrOperationAborted) || errors.Is(r.Err, stdnet.ErrClosed):
									aborted++
								default:
									c.Errorf("%s: %+v, want success, an abort or net.ErrClosed", what1, r)
								}
								pooledStart(on, nil, what2, func(h completion.Handler[net.IOResult]) { hp.start(a2, msg, h) },
									func(r net.IOResult) {
										ok := r.Err == nil && r.N == hp.want(msg)
										if !ok {
											c.Errorf("%s: %+v", what2, r)
										}
										secondDone <- ok
									})
								b2.AsyncWriteSome(msg, completion.Detached[net.IOResult]())
								if hp.name == "AsyncTeardown" {
									b2.Close()
								}
							})
						started <- struct{}{}
					})
					testkit.Recv(t, started)
					switch rng.IntN(3) {
					case 0:
						b1.AsyncWriteSome(msg, completion.Detached[net.IOResult]())
						if hp.name == "AsyncTeardown" {
							b1.Close()
						}
						testkit.Spin(rng)
						a1.Close()
					case 1:
						a1.Close()
						b1.AsyncWriteSome(msg, completion.Detached[net.IOResult]())
					default:
						testkit.Spin(rng)
						a1.Close()
						b1.AsyncWriteSome(msg, completion.Detached[net.IOResult]())
					}
					if ok := testkit.Recv(t, secondDone); !ok {
						break
					}
				}
				stop()
				stop = func() {}
				c.AllCompleted()
				t.Logf("%d of %d operations cut short by Close", aborted, rounds)
			})
		}
	}
}

// TestPooledCloseRacesOperationTCP: over loopback TCP, a large AsyncWrite waits for room in a
// small socket buffer and an AsyncRead for bytes that trickle in, and the test closes the sockets
// at a random moment. Each must complete once with the bytes it moved and a success, an abort or
// net.ErrClosed; then the same helpers run to completion on another connection.
func TestPooledCloseRacesOperationTCP(t *testing.T) {
	ioc := executor.NewIOContextConcurrency(2)
	c := testkit.NewCheck(t)
	rounds := testkit.Scale(60)
	cex := make([]executor.Executor, 2*rounds)
	sex := make([]executor.Executor, 2*rounds)
	hex := make([]*testkit.MarkingExecutor, 2*rounds)
	for i := range cex {
		hex[i], cex[i] = pooledExecutors(ioc, pooledSetup{runners: 2})
		sex[i] = cex[i]
	}
	clients, servers := pooledTCP(t, ioc, cex, sex)
	stop := testkit.RunGuarded(t, ioc, 2)
	defer func() { stop() }()
	rng := rand.New(rand.NewPCG(11, 12))
	const size = 1 << 20
	big := pooledView(0, size)
	fine := func(err error) bool {
		return err == nil || errors.Is(err, completion.ErrOperationAborted) || errors.Is(err, stdnet.ErrClosed)
	}
	for round := range rounds {
		i1, i2 := 2*round, 2*round+1
		on1 := pooledOn{c: c, ex: hex[i1]}
		on2 := pooledOn{c: c, ex: hex[i2]}
		clients[i1].SetWriteBuffer(4096)
		servers[i1].SetReadBuffer(4096)
		results := make(chan string, 4)
		hex[i1].Post(func() {
			what := fmt.Sprintf("round %d: AsyncWrite of 1 MiB, closed under it", round)
			pooledStart(on1, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(clients[i1], big, h) },
				func(r net.IOResult) {
					if !fine(r.Err) || r.N < 0 || r.N > size || (r.Err == nil && r.N != size) {
						c.Errorf("%s: %+v", what, r)
					}
					results <- "write"
				})
			in := make([]byte, 64)
			what2 := fmt.Sprintf("round %d: AsyncRead of 64 bytes, closed under it", round)
			pooledStart(on1, nil, what2, func(h completion.Handler[net.IOResult]) { net.AsyncRead(clients[i1], in, h) },
				func(r net.IOResult) {
					if !fine(r.Err) || r.N < 0 || r.N > 64 || (r.Err == nil && r.N != 64) || !bytes.Equal(in[:max(r.N, 0)], pooledPatternAt(0, max(r.N, 0))) {
						c.Errorf("%s: %+v", what2, r)
					}
					results <- "read"
				})
		})
		// Bytes for the read, a few at a time, each write started by the last one's handler; no
		// one reads what the AsyncWrite sends, so it waits for room until the Close.
		var trickle func(off int)
		trickle = func(off int) {
			if off < 64 {
				servers[i1].AsyncWriteSome(pooledPatternAt(off, 8), completion.Callback(func(r net.IOResult) {
					if r.Err == nil && r.N == 8 {
						trickle(off + 8)
					}
				}))
			}
		}
		hex[i1].Post(func() { trickle(0) })
		testkit.Spin(rng)
		if rng.IntN(2) == 0 {
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		}
		closed := make(chan struct{})
		hex[i1].Post(func() { clients[i1].Close(); close(closed) })
		testkit.Recv(t, closed)
		testkit.Recv(t, results)
		testkit.Recv(t, results)
		// The same helpers on another connection, to the end.
		hex[i2].Post(func() {
			msg := pooledPatternAt(0, 100<<10)
			what := fmt.Sprintf("round %d: AsyncWrite on another connection", round)
			pooledStart(on2, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(clients[i2], msg, h) },
				func(r net.IOResult) {
					if r.Err != nil || r.N != len(msg) {
						c.Errorf("%s: %+v", what, r)
					}
					results <- "write"
				})
			in := make([]byte, len(msg))
			what2 := fmt.Sprintf("round %d: AsyncRead on another connection", round)
			pooledStart(on2, nil, what2, func(h completion.Handler[net.IOResult]) { net.AsyncRead(servers[i2], in, h) },
				func(r net.IOResult) {
					if r.Err != nil || r.N != len(msg) || !bytes.Equal(in, msg) {
						c.Errorf("%s: %+v", what2, r)
					}
					results <- "read"
				})
		})
		testkit.Recv(t, results)
		testkit.Recv(t, results)
		if c.Failed() {
			break
		}
	}
	stop()
	stop = func() {}
	c.AllCompleted()
}

// pooledBare is a stream with no Shutdown or Close, so no teardown: only the stream concepts.
type pooledBare struct{ s *nettest.Stream }

func (b pooledBare) AsyncReadSome(p []byte, h completion.Handler[net.IOResult]) {
	b.s.AsyncReadSome(p, h)
}
func (b pooledBare) AsyncWriteSome(p []byte, h completion.Handler[net.IOResult]) {
	b.s.AsyncWriteSome(p, h)
}
func (b pooledBare) Executor() executor.Executor { return b.s.Executor() }

// TestPooledImmediateCompletions: the helpers' completions that need no I/O (an empty buffer, a
// delimiter empty or already buffered, a stream with no teardown), which a helper settles in its
// first step, interleaved with the same helpers doing I/O, each started by the handler of the
// last, thousands of times. Every other round binds each operation to a context of its own that
// its handler cancels just after starting the next operation, which must not feel it. Each must
// complete once, posted, with its documented result.
func TestPooledImmediateCompletions(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("runners=%d", runners), func(t *testing.T) {
			ioc := testkit.NewIOContext(runners)
			c := testkit.NewCheck(t)
			hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners, bind: runners == 1})
			on := pooledOn{c: c, ex: hx, bind: runners == 1}
			a, b := nettest.NewPair(sx, nettest.Options{ReadSize: 2}, nettest.Options{})
			var buf net.FlatBuffer
			in := make([]byte, 3)
			rest := 0 // the bytes of "abc" the last step reads
			type step struct {
				name  string
				start func(h completion.Handler[net.IOResult])
				want  func() net.IOResult
				check func() string // after a result as wanted
			}
			zero := func() net.IOResult { return net.IOResult{} }
			steps := []step{
				{"AsyncRead of nothing", func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, nil, h) }, zero, nil},
				{"AsyncWrite of nothing", func(h completion.Handler[net.IOResult]) { net.AsyncWrite(a, nil, h) }, zero, nil},
				{"AsyncWriteBuffers of empty buffers", func(h completion.Handler[net.IOResult]) {
					net.AsyncWriteBuffers(a, [][]byte{nil, {}}, h)
				}, zero, nil},
				{"AsyncWrite", func(h completion.Handler[net.IOResult]) { net.AsyncWrite(a, []byte("abc"), h) },
					func() net.IOResult { return net.IOResult{N: 3} }, func() string {
						got := b.Unread()
						b.AsyncReadSome(make([]byte, 3), completion.Detached[net.IOResult]())
						if string(got) != "abc" {
							return fmt.Sprintf("the peer has %q", got)
						}
						return ""
					}},
				{"AsyncReadUntil of an empty delimiter", func(h completion.Handler[net.IOResult]) {
					net.AsyncReadUntil(a, &buf, nil, h)
				}, zero, nil},
				{"AsyncReadUntil", func(h completion.Handler[net.IOResult]) {
					b.AsyncWriteSome([]byte("xy\nz\nabc"), completion.Detached[net.IOResult]())
					net.AsyncReadUntil(a, &buf, []byte("\n"), h)
				}, func() net.IOResult { return net.IOResult{N: 3} }, func() string {
					if got := buf.Bytes(); !bytes.HasPrefix([]byte("xy\nz\nabc"), got) || len(got) < 3 {
						return fmt.Sprintf("buffer %q", got)
					}
					buf.Consume(3)
					return ""
				}},
				{"AsyncReadUntil again", func(h completion.Handler[net.IOResult]) {
					net.AsyncReadUntil(a, &buf, []byte("\n"), h)
				}, func() net.IOResult { return net.IOResult{N: 2} }, func() string {
					if got := buf.Bytes(); !bytes.HasPrefix([]byte("z\nabc"), got) || len(got) < 2 {
						return fmt.Sprintf("buffer %q", got)
					}
					buf.Consume(2)
					rest = 3 - buf.Size()
					return ""
				}},
				{"AsyncRead of the rest", func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, in[:rest], h) },
					func() net.IOResult { return net.IOResult{N: rest} }, func() string {
						if got := string(buf.Bytes()) + string(in[:rest]); got != "abc" {
							return fmt.Sprintf("read %q", got)
						}
						buf.Consume(buf.Size())
						return ""
					}},
				{"AsyncTeardown of a stream with none", func(h completion.Handler[net.IOResult]) {
					net.AsyncTeardown(pooledBare{a}, pooledErrHandler(h, a.Executor()))
				}, func() net.IOResult { return net.IOResult{Err: net.ErrNoTeardown} }, nil},
			}
			rounds := testkit.Scale(1500)
			var done atomic.Int32
			var next func(i int)
			next = func(i int) {
				if i == rounds*len(steps) || c.Failed() {
					return
				}
				st := steps[i%len(steps)]
				ctx, cancel := context.Context(nil), context.CancelFunc(func() {})
				if i/len(steps)%2 == 1 {
					ctx, cancel = context.WithCancel(context.Background())
				}
				what := fmt.Sprintf("%d: %s", i, st.name)
				want := st.want()
				pooledStart(on, ctx, what, st.start, func(r net.IOResult) {
					if r.N != want.N || !errors.Is(r.Err, want.Err) || (want.Err == nil && r.Err != nil) {
						c.Errorf("%s: %+v, want %+v", what, r, want)
					} else if st.check != nil {
						if problem := st.check(); problem != "" {
							c.Errorf("%s: %s", what, problem)
						}
					}
					done.Add(1)
					next(i + 1)
					cancel() // this operation's context, once the next has started
				})
			}
			hx.Post(func() { next(0) })
			testkit.Run(t, ioc, runners)
			c.AllCompleted()
			if !c.Failed() && int(done.Load()) != rounds*len(steps) {
				t.Errorf("%d of %d operations done", done.Load(), rounds*len(steps))
			}
		})
	}
}

// TestPooledBursts: one handler starts a burst of operations of one helper on many streams, one
// after the other, most of which can complete in their first step (their bytes already there, a
// write that never waits, an empty buffer), so that each is settled and its state perhaps given
// back before the next is started, and before its handler runs. Every operation has a result of
// its own (its own length, its own bytes); each handler must get its own, once. The last handler
// of a burst starts the next burst.
func TestPooledBursts(t *testing.T) {
	type op struct {
		name string
		// start starts the helper over a, whose peer is b, for the kth operation of a burst, and
		// returns the check of its result.
		start func(a, b *nettest.Stream, k int, h completion.Handler[net.IOResult]) func(r net.IOResult) string
	}
	msg := func(k int) []byte { return append(bytes.Repeat([]byte{'a' + byte(k%26)}, k%9), '\n') }
	wantN := func(n int, then func() string) func(r net.IOResult) string {
		return func(r net.IOResult) string {
			if r.N != n || r.Err != nil {
				return fmt.Sprintf("%+v, want N=%d and no error", r, n)
			}
			if then != nil {
				return then()
			}
			return ""
		}
	}
	ops := []op{
		{"AsyncWrite", func(a, b *nettest.Stream, k int, h completion.Handler[net.IOResult]) func(net.IOResult) string {
			m := msg(k)
			net.AsyncWrite(a, m, h)
			return wantN(len(m), func() string {
				if got := b.Unread(); !bytes.Equal(got, m) {
					return fmt.Sprintf("the peer has %q, want %q", got, m)
				}
				return ""
			})
		}},
		{"AsyncWriteBuffers", func(a, b *nettest.Stream, k int, h completion.Handler[net.IOResult]) func(net.IOResult) string {
			m := msg(k)
			net.AsyncWriteBuffers(a, [][]byte{m[:len(m)/2], nil, m[len(m)/2:]}, h)
			return wantN(len(m), func() string {
				if got := b.Unread(); !bytes.Equal(got, m) {
					return fmt.Sprintf("the peer has %q, want %q", got, m)
				}
				return ""
			})
		}},
		{"AsyncRead", func(a, _ *nettest.Stream, k int, h completion.Handler[net.IOResult]) func(net.IOResult) string {
			m := msg(k)
			a.Append(m)
			in := make([]byte, len(m))
			net.AsyncRead(a, in, h)
			return wantN(len(m), func() string {
				if !bytes.Equal(in, m) {
					return fmt.Sprintf("read %q, want %q", in, m)
				}
				return ""
			})
		}},
		{"AsyncReadUntil", func(a, _ *nettest.Stream, k int, h completion.Handler[net.IOResult]) func(net.IOResult) string {
			m := msg(k)
			buf := new(net.FlatBuffer)
			if k%3 == 0 { // the line already buffered: settled without a read
				p, _ := buf.Prepare(len(m))
				copy(p, m)
				buf.Commit(len(m))
			} else {
				a.Append(m)
			}
			a.Append([]byte("behind"))
			net.AsyncReadUntil(a, buf, []byte("\n"), h)
			return wantN(len(m), func() string {
				if got := buf.Bytes(); !bytes.HasPrefix(got, m) {
					return fmt.Sprintf("buffer %q, want %q first", got, m)
				}
				return ""
			})
		}},
		{"AsyncRead of nothing", func(a, _ *nettest.Stream, k int, h completion.Handler[net.IOResult]) func(net.IOResult) string {
			net.AsyncRead(a, nil, h)
			return wantN(0, nil)
		}},
		{"AsyncTeardown", func(a, b *nettest.Stream, k int, h completion.Handler[net.IOResult]) func(net.IOResult) string {
			a.Append(msg(k))
			b.Close()
			net.AsyncTeardown(a, pooledErrHandler(h, a.Executor()))
			return wantN(0, func() string {
				if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
					return fmt.Sprintf("Close after it gave %v", err)
				}
				return ""
			})
		}},
	}
	for _, o := range ops {
		for _, runners := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/runners=%d", o.name, runners), func(t *testing.T) {
				ioc := testkit.NewIOContext(runners)
				c := testkit.NewCheck(t)
				const lanes, burst = 2, 24
				bursts := testkit.Scale(200)
				var done atomic.Int32
				for lane := range lanes {
					hx, sx := pooledExecutors(ioc, pooledSetup{runners: runners, bind: lane == 1})
					on := pooledOn{c: c, ex: hx, bind: lane == 1}
					var next func(round int)
					next = func(round int) {
						if round == bursts {
							return
						}
						left := burst
						for k := range burst {
							// Most complete in their first step; a few from a later one.
							mode := nettest.Immediate
							if k%7 == 6 {
								mode = nettest.Later
							}
							a, b := nettest.NewPair(sx, nettest.Options{Mode: mode}, nettest.Options{})
							what := fmt.Sprintf("lane %d, burst %d, operation %d: %s", lane, round, k, o.name)
							var check func(net.IOResult) string
							pooledStart(on, nil, what, func(h completion.Handler[net.IOResult]) { check = o.start(a, b, k, h) },
								func(r net.IOResult) {
									if problem := check(r); problem != "" {
										c.Errorf("%s: %s", what, problem)
									}
									done.Add(1)
									if left--; left == 0 {
										next(round + 1)
									}
								})
						}
					}
					hx.Post(func() { next(0) })
				}
				testkit.Run(t, ioc, runners)
				c.AllCompleted()
				if int(done.Load()) != lanes*bursts*burst {
					t.Errorf("%d of %d operations done", done.Load(), lanes*bursts*burst)
				}
			})
		}
	}
}

// TestPooledInjectedFailures: each helper over a nettest end that moves one byte per read or
// write, with a FailCount failing its nth operation, for every n from the first to one past the
// last (learnt by counting first). All of them run at once on one context, each handler starting
// the next failure point of another helper, so that the states of failed operations are reused
// by the others. A failure must report the bytes moved before it (n-1) and the injected error; one
// past the last, a success.
func TestPooledInjectedFailures(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("runners=%d", runners), func(t *testing.T) { pooledInjected(t, runners) })
	}
}

func pooledInjected(t *testing.T, runners int) {
	const payload = "abcdefghij\n" // 11 bytes
	c := testkit.NewCheck(t)
	ioc := testkit.NewIOContext(runners)
	hx, _ := pooledExecutors(ioc, pooledSetup{runners: runners})
	on := pooledOn{c: c, ex: hx}
	mk := func(fc *nettest.FailCount, n int) (*nettest.Stream, *nettest.Stream) {
		return nettest.NewPair(hx, nettest.Options{ReadSize: 1, WriteSize: 1, Fail: fc, Mode: nettest.Mode(n % 2)}, nettest.Options{})
	}
	// want checks r against n, the operation that fails (0: none), of total.
	want := func(what string, n, total int, r net.IOResult) {
		switch {
		case n == 0 || n > total:
			if r.Err != nil || r.N != len(payload) {
				c.Errorf("%s: %+v, want N=%d and no error", what, r, len(payload))
			}
		case !errors.Is(r.Err, nettest.ErrInjected) || r.N != n-1:
			c.Errorf("%s: %+v, want N=%d and the injected error", what, r, n-1)
		}
	}
	// Each helper starts over a fresh pair whose nth operation fails, of total (learnt by a first
	// run with n == 0), and calls then once it has checked the result.
	helpers := []struct {
		name string
		run  func(fc *nettest.FailCount, n, total int, then func())
	}{
		{"AsyncWrite", func(fc *nettest.FailCount, n, total int, then func()) {
			a, b := mk(fc, n)
			what := fmt.Sprintf("AsyncWrite failing at %d of %d", n, total)
			pooledStart(on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(a, []byte(payload), h) },
				func(r net.IOResult) {
					want(what, n, total, r)
					if got := b.Unread(); string(got) != payload[:max(r.N, 0)] {
						c.Errorf("%s: the peer has %q", what, got)
					}
					then()
				})
		}},
		{"AsyncWriteBuffers", func(fc *nettest.FailCount, n, total int, then func()) {
			a, b := mk(fc, n)
			what := fmt.Sprintf("AsyncWriteBuffers failing at %d of %d", n, total)
			bufs := [][]byte{[]byte(payload[:4]), nil, []byte(payload[4:])}
			pooledStart(on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncWriteBuffers(a, bufs, h) },
				func(r net.IOResult) {
					want(what, n, total, r)
					if got := b.Unread(); string(got) != payload[:max(r.N, 0)] {
						c.Errorf("%s: the peer has %q", what, got)
					}
					then()
				})
		}},
		{"AsyncRead", func(fc *nettest.FailCount, n, total int, then func()) {
			a, _ := mk(fc, n)
			a.Append([]byte(payload))
			in := make([]byte, len(payload))
			what := fmt.Sprintf("AsyncRead failing at %d of %d", n, total)
			pooledStart(on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, in, h) },
				func(r net.IOResult) {
					want(what, n, total, r)
					if string(in[:max(r.N, 0)]) != payload[:max(r.N, 0)] {
						c.Errorf("%s: read %q", what, in)
					}
					then()
				})
		}},
		{"AsyncReadUntil", func(fc *nettest.FailCount, n, total int, then func()) {
			a, _ := mk(fc, n)
			a.Append([]byte(payload))
			var buf net.FlatBuffer
			what := fmt.Sprintf("AsyncReadUntil failing at %d of %d", n, total)
			pooledStart(on, nil, what, func(h completion.Handler[net.IOResult]) { net.AsyncReadUntil(a, &buf, []byte("\n"), h) },
				func(r net.IOResult) {
					want(what, n, total, r)
					if string(buf.Bytes()) != payload[:max(r.N, 0)] {
						c.Errorf("%s: buffer %q after N=%d", what, buf.Bytes(), r.N)
					}
					then()
				})
		}},
		{"AsyncTeardown", func(fc *nettest.FailCount, n, total int, then func()) {
			a, b := mk(fc, n)
			a.Append([]byte(payload))
			b.Close()
			what := fmt.Sprintf("AsyncTeardown failing at %d of %d", n, total)
			pooledStart(on, nil, what, func(h completion.Handler[error]) { net.AsyncTeardown(a, h) },
				func(err error) {
					if n == 0 || n > total {
						if err != nil {
							c.Errorf("%s: %v, want nil", what, err)
						}
					} else if !errors.Is(err, nettest.ErrInjected) {
						c.Errorf("%s: %v, want the injected error", what, err)
					}
					if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
						c.Errorf("%s: Close after it gave %v: the stream was left open", what, err)
					}
					then()
				})
		}},
	}
	// Count each helper's operations.
	counts := make([]int, len(helpers))
	for i, hp := range helpers {
		fc := nettest.NewFailCount(0, nil)
		hx.Post(func() { hp.run(fc, 0, 0, func() { counts[i] = fc.Count() }) })
	}
	testkit.Run(t, ioc, runners)
	if c.Failed() {
		return
	}
	// Then every failure point of every helper, interleaved, several times over.
	type job struct{ h, n int }
	var jobs []job
	for range testkit.Scale(40) {
		for i := range helpers {
			for n := 1; n <= counts[i]+1; n++ {
				jobs = append(jobs, job{i, n})
			}
		}
	}
	rand.New(rand.NewPCG(13, 14)).Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	var ran atomic.Int32
	const chains = 8
	for k := range chains {
		var next func(j int)
		next = func(j int) {
			if j >= len(jobs) {
				return
			}
			jb := jobs[j]
			helpers[jb.h].run(nettest.NewFailCount(jb.n, nil), jb.n, counts[jb.h], func() { ran.Add(1); next(j + chains) })
		}
		hx.Post(func() { next(k) })
	}
	testkit.Run(t, ioc, runners)
	c.AllCompleted()
	if int(ran.Load()) != len(jobs) {
		t.Errorf("%d of %d operations ran", ran.Load(), len(jobs))
	}
	t.Logf("operations per helper: %v", counts)
}
