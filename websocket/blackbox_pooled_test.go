package websocket_test

// Black-box tests of the server handshakes, AsyncAccept and AsyncAcceptRequest, whose state comes
// from a sync.Pool and goes back when the handshake ends, written from the documentation alone.
// They hunt the interleavings in which a state given back could still be reached: thousands of
// handshakes each started by the handler of the last, on one and two Run goroutines; a context
// cancelled as its handshake completes, followed at once by a handshake with a fresh context; a
// context done before the start; Close racing a handshake; failures injected at every step; and
// many handshakes at once over loopback TCP against clients made by the package's own client
// handshake, some sending garbage or vanishing in the middle of their request. Each handshake
// offers a key and a subprotocol of its own, so that an answer computed from another handshake's
// request shows.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	stdnet "net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/testkit"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// pooledStrandEx is a pooledEx over a strand of ioc when it has several runners, over ioc itself
// when it has one.
func pooledStrandEx(ioc *executor.IOContext, runners int) *testkit.MarkingExecutor {
	if runners > 1 {
		return testkit.NewMarkingExecutor(executor.NewStrand(ioc))
	}
	return testkit.NewMarkingExecutor(ioc)
}

// pooledOp starts one operation from a handler running on ex and passes its result to then, after
// checking that it completed once, on ex, and not inside the call that started it. The handler is
// bound to ex when bind is set (otherwise the stream is on ex), and to ctx when it is not nil.
func pooledOp[R any](c *testkit.Check, ex *testkit.MarkingExecutor, bind bool, ctx context.Context, what string, start func(completion.Handler[R]), then func(R)) {
	if !ex.On() {
		c.Errorf("%s: test bug: started off its executor", what)
	}
	c.Started.Add(1)
	var calls atomic.Int32
	var inCall atomic.Bool
	inCall.Store(true)
	var h completion.Handler[R] = completion.Callback(func(r R) {
		if n := calls.Add(1); n != 1 {
			c.Errorf("%s: completed %d times, the last with %v", what, n, r)
			return
		}
		c.Completed.Add(1)
		if inCall.Load() {
			c.Errorf("%s: completed inside the call that started it", what)
		}
		if !ex.On() {
			c.Errorf("%s: completed off its handler's executor", what)
		}
		then(r)
	})
	if bind {
		h = completion.Bind(executor.Executor(ex), h)
	}
	if ctx != nil {
		h = completion.WithContext(ctx, h)
	}
	start(h)
	inCall.Store(false)
}

// pooledKey is the ith handshake's Sec-WebSocket-Key: 16 bytes of its own, in base64.
func pooledKey(i int) string {
	var b [16]byte
	for j := range b {
		b[j] = byte(i>>(8*(j%4))) ^ byte(j*37)
	}
	return base64.StdEncoding.EncodeToString(b[:])
}

// pooledAcceptFor is the Sec-WebSocket-Accept that answers key (RFC 6455 section 4.2.2).
func pooledAcceptFor(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// pooledRequest is the ith handshake's upgrade request, offering subprotocol "p<i>" besides a
// shared one.
func pooledRequest(i int) []byte {
	return fmt.Appendf(nil, "GET /chat/%d HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: p%d, shared\r\n\r\n", i, pooledKey(i), i)
}

// pooledOpts is the ith handshake's AcceptOptions: its own subprotocol before the shared one.
func pooledOpts(i int) *websocket.AcceptOptions {
	return &websocket.AcceptOptions{Subprotocols: []string{fmt.Sprintf("p%d", i), "shared"}}
}

// pooledParsed is the ith request parsed, for AsyncAcceptRequest.
func pooledParsed(i int) *http.Request {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(pooledRequest(i))))
	if err != nil {
		panic(err)
	}
	return r
}

// pooledClientFrame is a masked text frame carrying p, as a client sends it.
func pooledClientFrame(p string) []byte {
	if len(p) > 125 {
		panic("long frame")
	}
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	b := append([]byte{0x81, 0x80 | byte(len(p))}, mask[:]...)
	for i := range len(p) {
		b = append(b, p[i]^mask[i%4])
	}
	return b
}

// pooledCheck101 checks the ith handshake's answer at the start of got, and returns what follows
// it.
func pooledCheck101(i int, got []byte) (rest []byte, problem string) {
	br := bufio.NewReader(bytes.NewReader(got))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, fmt.Sprintf("the client end holds %q: %v", got, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return nil, fmt.Sprintf("answered %s", resp.Status)
	case resp.Header.Get("Sec-WebSocket-Accept") != pooledAcceptFor(pooledKey(i)):
		return nil, fmt.Sprintf("Sec-WebSocket-Accept %q, want %q (another handshake's key?)",
			resp.Header.Get("Sec-WebSocket-Accept"), pooledAcceptFor(pooledKey(i)))
	case resp.Header.Get("Sec-WebSocket-Protocol") != fmt.Sprintf("p%d", i):
		return nil, fmt.Sprintf("Sec-WebSocket-Protocol %q, want p%d", resp.Header.Get("Sec-WebSocket-Protocol"), i)
	}
	rest, _ = io.ReadAll(br)
	return rest, ""
}

// pooledWorks checks that server, the ith handshake's stream just opened over the nettest end
// whose peer is client, is open with the right subprotocol and answered with the right 101, and,
// when exchange is set, that it carries a message each way; then it calls then (on ex). The
// client's message is appended to the server's end, so that no write of the client's is needed.
func pooledWorks(c *testkit.Check, ex *testkit.MarkingExecutor, bind bool, i int, server *websocket.Stream, client *nettest.Stream, exchange bool, then func()) {
	what := fmt.Sprintf("handshake %d", i)
	if !server.IsOpen() || server.Subprotocol() != fmt.Sprintf("p%d", i) {
		c.Errorf("%s: open %v, subprotocol %q, want open and p%d", what, server.IsOpen(), server.Subprotocol(), i)
		then()
		return
	}
	if _, problem := pooledCheck101(i, client.Unread()); problem != "" {
		c.Errorf("%s: %s", what, problem)
		then()
		return
	}
	if !exchange {
		then()
		return
	}
	msg := fmt.Sprintf("m%d", i)
	client.Remote().Append(pooledClientFrame(msg))
	var buf net.FlatBuffer
	pooledOp(c, ex, bind, nil, what+": read", func(h completion.Handler[net.IOResult]) { server.AsyncRead(&buf, h) },
		func(r net.IOResult) {
			if r.Err != nil || string(buf.Bytes()) != msg {
				c.Errorf("%s: read %+v %q, want %q", what, r, buf.Bytes(), msg)
				then()
				return
			}
			pooledOp(c, ex, bind, nil, what+": write", func(h completion.Handler[net.IOResult]) { server.AsyncWrite([]byte(msg), h) },
				func(r net.IOResult) {
					rest, _ := pooledCheck101(i, client.Unread())
					if want := append([]byte{0x81, byte(len(msg))}, msg...); r.Err != nil || r.N != len(msg) || !bytes.Equal(rest, want) {
						c.Errorf("%s: write %+v, the client end holds %q after the 101, want %q", what, r, rest, want)
					}
					then()
				})
		})
}

// pooledHandshake starts the ith handshake on server, AsyncAcceptRequest when byRequest (the
// request given parsed), AsyncAccept otherwise (the request to be read from the next layer).
func pooledHandshake(server *websocket.Stream, i int, byRequest bool, h completion.Handler[error]) {
	if byRequest {
		server.AsyncAcceptRequest(pooledParsed(i), pooledOpts(i), h)
	} else {
		server.AsyncAccept(pooledOpts(i), h)
	}
}

// pooledMustOpen starts the ith handshake on server (with ctx when not nil), which must open a
// working stream, and sends whether it did on done.
func pooledMustOpen(c *testkit.Check, ex *testkit.MarkingExecutor, bind bool, ctx context.Context, what string,
	server *websocket.Stream, client *nettest.Stream, i int, byRequest bool, done chan<- bool) {
	pooledOp(c, ex, bind, ctx, what, func(h completion.Handler[error]) { pooledHandshake(server, i, byRequest, h) },
		func(err error) {
			if err != nil {
				c.Errorf("%s: %v", what, err)
				done <- false
				return
			}
			pooledWorks(c, ex, bind, i, server, client, true, func() { done <- !c.Failed() })
		})
}

// TestPooledAcceptChain: thousands of server handshakes over nettest pairs, each started by the
// handler of the last (before a message each way over the stream it opened), on a few lanes at
// once, with one Run goroutine and with two (a strand per lane), the handlers bound to the lane or
// the streams on it, AsyncAccept and AsyncAcceptRequest interleaved, reads and writes cut to a few
// bytes and completing during the call or from later steps. Each must open a working stream whose
// answer carries its own key's accept value and its own subprotocol.
func TestPooledAcceptChain(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("runners=%d", runners), func(t *testing.T) {
			ioc := testkit.NewIOContext(runners)
			c := testkit.NewCheck(t)
			n := testkit.Scale(2000)
			const lanes = 4
			var opened atomic.Int32
			for lane := range lanes {
				ex := pooledStrandEx(ioc, runners)
				bind := lane%2 == 1
				var next func(i int)
				next = func(i int) {
					if i >= n {
						return
					}
					var sx executor.Executor = ex
					if bind {
						sx = ioc
					}
					o := nettest.Options{ReadSize: 1 + i%17, WriteSize: 3 + i%11, Mode: nettest.Mode(i / lanes % 2)}
					client, end := nettest.NewPair(sx, nettest.Options{}, o)
					server := websocket.NewStream(end, nil)
					byRequest := i%3 == 0
					upFront := i%2 == 0
					if !byRequest && upFront {
						end.Append(pooledRequest(i))
					}
					what := fmt.Sprintf("handshake %d (by request %v)", i, byRequest)
					pooledOp(c, ex, bind, nil, what, func(h completion.Handler[error]) { pooledHandshake(server, i, byRequest, h) },
						func(err error) {
							// The next handshake first, so that it takes the state this one gave
							// back, then the check of this one's stream.
							next(i + lanes)
							if err != nil {
								c.Errorf("%s: %v", what, err)
								return
							}
							opened.Add(1)
							pooledWorks(c, ex, bind, i, server, client, true, func() {})
						})
					if !byRequest && !upFront {
						client.AsyncWriteSome(pooledRequest(i), completion.Detached[net.IOResult]())
					}
				}
				ex.Post(func() { next(lane) })
			}
			testkit.Run(t, ioc, runners)
			c.AllCompleted()
			if int(opened.Load()) != n {
				t.Errorf("%d of %d handshakes opened their stream", opened.Load(), n)
			}
		})
	}
}

// TestPooledAcceptKeepsItsOwn: a client's first frame often arrives with its request, and the
// server keeps those bytes for the stream's first read; the subprotocol agreed is kept for the
// stream's life. Neither may live in the handshake's pooled state, which the next handshake takes.
// Here every request comes with its client's first message behind it, in one piece, and each
// handshake's handler starts the next at once, leaving its stream unread; only after a batch of
// later handshakes has run does each stream read its first message, which must be its own, and
// report its own subprotocol.
func TestPooledAcceptKeepsItsOwn(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("runners=%d", runners), func(t *testing.T) {
			ioc := testkit.NewIOContext(runners)
			c := testkit.NewCheck(t)
			const lanes, batch = 3, 24
			n := testkit.Scale(1200)
			var checked atomic.Int32
			for lane := range lanes {
				ex := pooledStrandEx(ioc, runners)
				type opened struct {
					i      int
					server *websocket.Stream
				}
				var waiting []opened // ex's
				// readAll reads the first message of each waiting stream in turn, then calls then.
				var readAll func(k int, then func())
				readAll = func(k int, then func()) {
					if k == len(waiting) {
						waiting = waiting[:0]
						then()
						return
					}
					o := waiting[k]
					what := fmt.Sprintf("stream %d, read after %d later handshakes", o.i, (len(waiting)-1-k)*lanes)
					var msg net.FlatBuffer
					pooledOp(c, ex, false, nil, what, func(h completion.Handler[net.IOResult]) { o.server.AsyncRead(&msg, h) },
						func(r net.IOResult) {
							want := fmt.Sprintf("first message of %d", o.i)
							if r.Err != nil || string(msg.Bytes()) != want {
								c.Errorf("%s: %+v %q, want %q", what, r, msg.Bytes(), want)
							}
							if got := o.server.Subprotocol(); got != fmt.Sprintf("p%d", o.i) {
								c.Errorf("%s: subprotocol %q, want p%d", what, got, o.i)
							}
							checked.Add(1)
							readAll(k+1, then)
						})
				}
				var next func(i int)
				next = func(i int) {
					if i >= n {
						readAll(0, func() {})
						return
					}
					o := nettest.Options{Mode: nettest.Mode(i / lanes % 2)}
					if i%5 == 4 {
						o.ReadSize = 1 + i%40 // the frame behind the request may or may not come with it
					}
					_, end := nettest.NewPair(ex, nettest.Options{}, o)
					server := websocket.NewStream(end, nil)
					byRequest := i%4 == 3
					in := pooledClientFrame(fmt.Sprintf("first message of %d", i))
					if !byRequest {
						in = append(pooledRequest(i), in...)
					}
					end.Append(in)
					what := fmt.Sprintf("handshake %d (by request %v), its first message behind it", i, byRequest)
					pooledOp(c, ex, false, nil, what, func(h completion.Handler[error]) { pooledHandshake(server, i, byRequest, h) },
						func(err error) {
							if err != nil {
								c.Errorf("%s: %v", what, err)
							} else {
								waiting = append(waiting, opened{i, server})
							}
							if len(waiting) == batch {
								readAll(0, func() { next(i + lanes) })
								return
							}
							next(i + lanes)
						})
				}
				ex.Post(func() { next(lane) })
			}
			testkit.Run(t, ioc, runners)
			c.AllCompleted()
			if int(checked.Load()) != n {
				t.Errorf("%d of %d streams read their first message", checked.Load(), n)
			}
		})
	}
}

// TestPooledAcceptBursts: one handler starts a burst of handshakes on many streams, one after the
// other, every third with a context already done (settled in its first step, its state perhaps
// given back before the next handshake takes one), the others with their requests already there.
// Each must get its own result once: the refused ones the cancellation, the others a working
// stream answered with their own key and subprotocol. The last handler of a burst starts the next.
func TestPooledAcceptBursts(t *testing.T) {
	for _, runners := range []int{1, 2} {
		t.Run(fmt.Sprintf("runners=%d", runners), func(t *testing.T) {
			ioc := testkit.NewIOContext(runners)
			c := testkit.NewCheck(t)
			done, cancel := context.WithCancel(context.Background())
			cancel()
			const lanes, burst = 2, 24
			bursts := testkit.Scale(100)
			var opened, refused atomic.Int32
			for lane := range lanes {
				ex := pooledStrandEx(ioc, runners)
				bind := lane == 1
				var sx executor.Executor = ex
				if bind {
					sx = ioc
				}
				var next func(round int)
				next = func(round int) {
					if round == bursts {
						return
					}
					left := burst
					end := func() {
						if left--; left == 0 {
							next(round + 1)
						}
					}
					for k := range burst {
						i := (round*lanes+lane)*burst + k
						mode := nettest.Immediate
						if k%5 == 4 {
							mode = nettest.Later
						}
						client, e := nettest.NewPair(sx, nettest.Options{}, nettest.Options{Mode: mode})
						byRequest := k%4 == 1
						if !byRequest {
							e.Append(pooledRequest(i))
						}
						server := websocket.NewStream(e, nil)
						var ctx context.Context
						if k%3 == 0 {
							ctx = done
						}
						what := fmt.Sprintf("lane %d, burst %d, handshake %d (by request %v, refused %v)", lane, round, i, byRequest, ctx != nil)
						pooledOp(c, ex, bind, ctx, what, func(h completion.Handler[error]) { pooledHandshake(server, i, byRequest, h) },
							func(err error) {
								switch {
								case ctx != nil:
									if !testkit.Cancelled(err) || server.IsOpen() {
										c.Errorf("%s: %v (open %v), want the cancellation", what, err, server.IsOpen())
									}
									refused.Add(1)
									end()
								case err != nil:
									c.Errorf("%s: %v", what, err)
									end()
								default:
									opened.Add(1)
									pooledWorks(c, ex, bind, i, server, client, true, end)
								}
							})
					}
				}
				ex.Post(func() { next(0) })
			}
			testkit.Run(t, ioc, runners)
			c.AllCompleted()
			if got, want := int(opened.Load()+refused.Load()), lanes*bursts*burst; got != want {
				t.Errorf("%d of %d handshakes done", got, want)
			}
		})
	}
}

// TestPooledAcceptCancelRacesCompletion: a server handshake is under way (AsyncAccept waiting for
// the request, or AsyncAcceptRequest writing its answer a few bytes at a time); the test's
// goroutine sends the request and cancels the handshake's context at nearly the same moment, in
// either order; the handler starts at once a handshake of the same kind on another stream with a
// fresh context, which the test feeds after it has started and never cancels while it runs. The
// first must open its stream or fail with the cancellation error (and only once its context is
// done); the second must open a working stream with its own key and subprotocol, however the
// stale cancellation lands. The second context is cancelled just as the next round starts.
func TestPooledAcceptCancelRacesCompletion(t *testing.T) {
	for _, byRequest := range []bool{false, true} {
		for _, runners := range []int{1, 2} {
			t.Run(fmt.Sprintf("byRequest=%v/runners=%d", byRequest, runners), func(t *testing.T) {
				pooledAcceptRace(t, byRequest, runners)
			})
		}
	}
}

func pooledAcceptRace(t *testing.T, byRequest bool, runners int) {
	ioc := testkit.NewIOContext(runners)
	c := testkit.NewCheck(t)
	ex := pooledStrandEx(ioc, runners)
	bind := runners == 1
	var sx executor.Executor = ex
	if bind {
		sx = ioc
	}
	stop := testkit.RunGuarded(t, ioc, runners)
	defer stop()
	rng := rand.New(rand.NewPCG(21, 22))
	rounds := testkit.Scale(1000)
	var cancelled, opened int // ex's
	prevCancel := context.CancelFunc(func() {})
	for round := range rounds {
		i1, i2 := 2*round, 2*round+1
		o := nettest.Options{ReadSize: 1 + rng.IntN(40), WriteSize: 1 + rng.IntN(30), Mode: nettest.Mode(rng.IntN(2))}
		c1, e1 := nettest.NewPair(sx, nettest.Options{}, o)
		c2, e2 := nettest.NewPair(sx, nettest.Options{}, o)
		s1, s2 := websocket.NewStream(e1, nil), websocket.NewStream(e2, nil)
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		started := make(chan struct{}, 1)
		secondStarted := make(chan struct{}, 1)
		secondDone := make(chan bool, 1)
		what1 := fmt.Sprintf("round %d: handshake %d, its context cancelled as it completes", round, i1)
		what2 := fmt.Sprintf("round %d: handshake %d with a fresh context", round, i2)
		ex.Post(func() {
			pooledOp(c, ex, bind, ctx1, what1, func(h completion.Handler[error]) { pooledHandshake(s1, i1, byRequest, h) },
				func(err error) {
					switch {
					case err == nil:
						opened++
						if !s1.IsOpen() || s1.Subprotocol() != fmt.Sprintf("p%d", i1) {
							c.Errorf("%s: nil, but open %v with subprotocol %q", what1, s1.IsOpen(), s1.Subprotocol())
						}
					case testkit.Cancelled(err) && errors.Is(err, websocket.ErrHandshake):
						cancelled++
						if ctx1.Err() == nil {
							c.Errorf("%s: cancelled (%v) while its context is not done", what1, err)
						}
					default:
						c.Errorf("%s: %v, want nil or a cancellation matching ErrHandshake", what1, err)
					}
					pooledMustOpen(c, ex, bind, ctx2, what2, s2, c2, i2, byRequest, secondDone)
					secondStarted <- struct{}{}
				})
			started <- struct{}{}
		})
		prevCancel()
		testkit.Recv(t, started)
		feed := func() {
			if !byRequest {
				c1.AsyncWriteSome(pooledRequest(i1), completion.Detached[net.IOResult]())
			}
		}
		if rng.IntN(2) == 0 {
			feed()
			testkit.Spin(rng)
			cancel1()
		} else {
			cancel1()
			testkit.Spin(rng)
			feed()
		}
		testkit.Recv(t, secondStarted)
		if rng.IntN(4) == 0 {
			time.Sleep(time.Duration(rng.IntN(50)) * time.Microsecond) // let a stale cancellation land
		}
		if !byRequest {
			c2.AsyncWriteSome(pooledRequest(i2), completion.Detached[net.IOResult]())
		}
		prevCancel = cancel2
		if ok := testkit.Recv(t, secondDone); !ok || c.Failed() {
			break
		}
	}
	prevCancel()
	stop()
	c.AllCompleted()
	t.Logf("%d first handshakes opened, %d cancelled", opened, cancelled)
}

// TestPooledAcceptTimeoutRacesCompletion: a server handshake bounded by Timeout.Handshake
// receives its request at about the moment the timeout expires, so that it either opens or fails
// with ErrTimeout, its handler starting at once a handshake on another stream whose timeout is a
// minute and whose request the test sends a little later. However the first one's timer lands,
// the second must open a working stream: a stale expiry reaching the state it took would fail it
// with ErrTimeout or close its next layer.
func TestPooledAcceptTimeoutRacesCompletion(t *testing.T) {
	for _, byRequest := range []bool{false, true} {
		for _, runners := range []int{1, 2} {
			t.Run(fmt.Sprintf("byRequest=%v/runners=%d", byRequest, runners), func(t *testing.T) {
				ioc := testkit.NewIOContext(runners)
				c := testkit.NewCheck(t)
				ex := pooledStrandEx(ioc, runners)
				stop := testkit.RunGuarded(t, ioc, runners)
				defer stop()
				rng := rand.New(rand.NewPCG(31, 32))
				rounds := testkit.Scale(400)
				// AsyncAcceptRequest has no request to wait for: its answer, written a byte at a
				// time from later steps, is what the timeout races.
				timeout := 500 * time.Microsecond
				if byRequest {
					timeout = 100 * time.Microsecond
				}
				var timedOut, opened int // ex's
				for round := range rounds {
					i1, i2 := 2*round, 2*round+1
					o := nettest.Options{ReadSize: 1 + rng.IntN(60), WriteSize: 1 + rng.IntN(60), Mode: nettest.Mode(rng.IntN(2))}
					if byRequest {
						o.WriteSize, o.Mode = 1, nettest.Later
					}
					c1, e1 := nettest.NewPair(ex, nettest.Options{}, o)
					c2, e2 := nettest.NewPair(ex, nettest.Options{}, o)
					s1 := websocket.NewStream(e1, &websocket.Options{Timeout: websocket.Timeout{Handshake: timeout}})
					s2 := websocket.NewStream(e2, &websocket.Options{Timeout: websocket.Timeout{Handshake: time.Minute}})
					started := make(chan struct{}, 1)
					secondStarted := make(chan struct{}, 1)
					secondDone := make(chan bool, 1)
					what1 := fmt.Sprintf("round %d: handshake %d, its request arriving as its timeout expires", round, i1)
					what2 := fmt.Sprintf("round %d: handshake %d, the next", round, i2)
					ex.Post(func() {
						pooledOp(c, ex, false, nil, what1, func(h completion.Handler[error]) { pooledHandshake(s1, i1, byRequest, h) },
							func(err error) {
								switch {
								case err == nil:
									opened++
								case errors.Is(err, websocket.ErrTimeout) && errors.Is(err, websocket.ErrHandshake):
									timedOut++
								default:
									c.Errorf("%s: %v, want nil or ErrTimeout", what1, err)
								}
								pooledMustOpen(c, ex, false, nil, what2, s2, c2, i2, byRequest, secondDone)
								secondStarted <- struct{}{}
							})
						started <- struct{}{}
					})
					testkit.Recv(t, started)
					pooledBusyWait(time.Duration(rng.IntN(int(2 * timeout))))
					if !byRequest {
						c1.AsyncWriteSome(pooledRequest(i1), completion.Detached[net.IOResult]())
					}
					testkit.Recv(t, secondStarted)
					time.Sleep(time.Duration(rng.IntN(int(2 * timeout))))
					if !byRequest {
						c2.AsyncWriteSome(pooledRequest(i2), completion.Detached[net.IOResult]())
					}
					if ok := testkit.Recv(t, secondDone); !ok || c.Failed() {
						break
					}
				}
				stop()
				c.AllCompleted()
				t.Logf("%d first handshakes opened, %d timed out", opened, timedOut)
			})
		}
	}
}

// pooledBusyWait spins for d: a sleep that short may last a millisecond or more.
func pooledBusyWait(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
		pooledSink.Add(1)
	}
}

// pooledSink is written by pooledBusyWait so that its loop is not optimised away.
var pooledSink atomic.Int64

// TestPooledAcceptContextDoneBeforeStart: a handshake started with a context already done
// completes with the cancellation error, posted, on its handler's executor, without a read or a
// write, and leaves the stream as it was: the handler starts the same handshake on the same stream
// with a fresh context, which must open it. A thousand times, so that the refused handshake's
// state is the one the next takes.
func TestPooledAcceptContextDoneBeforeStart(t *testing.T) {
	for _, byRequest := range []bool{false, true} {
		t.Run(fmt.Sprintf("byRequest=%v", byRequest), func(t *testing.T) {
			ioc := executor.NewIOContext()
			c := testkit.NewCheck(t)
			ex := testkit.NewMarkingExecutor(ioc)
			done, cancel := context.WithCancel(context.Background())
			cancel()
			n := testkit.Scale(1000)
			var opened atomic.Int32
			var next func(i int)
			next = func(i int) {
				if i == n {
					return
				}
				fc := nettest.NewFailCount(0, nil)
				client, end := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{Fail: fc, ReadSize: 1 + i%50, Mode: nettest.Mode(i % 2)})
				if !byRequest {
					client.AsyncWriteSome(pooledRequest(i), completion.Detached[net.IOResult]())
				}
				server := websocket.NewStream(end, nil)
				what := fmt.Sprintf("handshake %d with a context already done", i)
				pooledOp(c, ex, true, done, what, func(h completion.Handler[error]) { pooledHandshake(server, i, byRequest, h) },
					func(err error) {
						if !testkit.Cancelled(err) {
							c.Errorf("%s: %v, want the cancellation error", what, err)
						}
						if n := fc.Count(); n != 0 {
							c.Errorf("%s: %d reads or writes started", what, n)
						}
						if server.IsOpen() {
							c.Errorf("%s: the stream is open", what)
						}
						what := fmt.Sprintf("handshake %d with a fresh context after it", i)
						pooledOp(c, ex, true, context.Background(), what, func(h completion.Handler[error]) { pooledHandshake(server, i, byRequest, h) },
							func(err error) {
								if err != nil {
									c.Errorf("%s: %v", what, err)
									next(i + 1)
									return
								}
								opened.Add(1)
								pooledWorks(c, ex, true, i, server, client, true, func() { next(i + 1) })
							})
					})
			}
			ex.Post(func() { next(0) })
			testkit.Run(t, ioc, 1)
			c.AllCompleted()
			if int(opened.Load()) != n {
				t.Errorf("%d of %d handshakes opened their stream", opened.Load(), n)
			}
		})
	}
}

// TestPooledAcceptContextDone: a server handshake whose handler's context is already done when it
// is called does not start (AsyncAccept's and AsyncAcceptRequest's documentation): it fails with
// the cancellation alone, which does not match ErrHandshake, reads and writes nothing, and leaves
// the next layer open, so that the same stream's next handshake opens it.
func TestPooledAcceptContextDone(t *testing.T) {
	for _, byRequest := range []bool{false, true} {
		ioc := executor.NewIOContext()
		client, end := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
		if !byRequest {
			end.Append(pooledRequest(0))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := websocket.NewStream(end, nil)
		var got error
		pooledHandshake(s, 0, byRequest, completion.WithContext(ctx, completion.Callback(func(err error) { got = err })))
		ioc.Run()
		ioc.Restart()
		if !testkit.Cancelled(got) || errors.Is(got, websocket.ErrHandshake) {
			t.Errorf("by request %v: %v: want the cancellation alone", byRequest, got)
		}
		var again error = errors.New("not completed")
		pooledHandshake(s, 0, byRequest, completion.Callback(func(err error) { again = err }))
		ioc.Run()
		if again != nil || !s.IsOpen() {
			t.Errorf("by request %v: the next handshake on the same stream: %v, open %v", byRequest, again, s.IsOpen())
		}
		client.Close()
	}
}

// TestPooledAcceptCloseRaces: the next layer of a server handshake in flight is closed by the
// test's goroutine while the request arrives (or, for AsyncAcceptRequest, while the answer is
// written a byte at a time). The handshake must complete once, with nil or an error matching
// ErrHandshake; the handshake the handler starts at once on another stream must open it.
func TestPooledAcceptCloseRaces(t *testing.T) {
	for _, byRequest := range []bool{false, true} {
		for _, runners := range []int{1, 2} {
			t.Run(fmt.Sprintf("byRequest=%v/runners=%d", byRequest, runners), func(t *testing.T) {
				ioc := testkit.NewIOContext(runners)
				c := testkit.NewCheck(t)
				ex := pooledStrandEx(ioc, runners)
				stop := testkit.RunGuarded(t, ioc, runners)
				defer stop()
				rng := rand.New(rand.NewPCG(23, 24))
				rounds := testkit.Scale(1000)
				var failed int // ex's
				for round := range rounds {
					i1, i2 := 2*round, 2*round+1
					o := nettest.Options{ReadSize: 1 + rng.IntN(8), WriteSize: 1 + rng.IntN(4), Mode: nettest.Mode(rng.IntN(2))}
					c1, e1 := nettest.NewPair(ex, nettest.Options{}, o)
					c2, e2 := nettest.NewPair(ex, nettest.Options{}, o)
					s1, s2 := websocket.NewStream(e1, nil), websocket.NewStream(e2, nil)
					started := make(chan struct{}, 1)
					secondDone := make(chan bool, 1)
					what1 := fmt.Sprintf("round %d: handshake %d, its next layer closed under it", round, i1)
					what2 := fmt.Sprintf("round %d: handshake %d on another stream", round, i2)
					ex.Post(func() {
						pooledOp(c, ex, false, nil, what1, func(h completion.Handler[error]) { pooledHandshake(s1, i1, byRequest, h) },
							func(err error) {
								if err != nil {
									failed++
									if !errors.Is(err, websocket.ErrHandshake) {
										c.Errorf("%s: %v, want nil or an error matching ErrHandshake", what1, err)
									}
								}
								if !byRequest {
									c2.AsyncWriteSome(pooledRequest(i2), completion.Detached[net.IOResult]())
								}
								pooledMustOpen(c, ex, false, nil, what2, s2, c2, i2, byRequest, secondDone)
							})
						started <- struct{}{}
					})
					testkit.Recv(t, started)
					if !byRequest {
						c1.AsyncWriteSome(pooledRequest(i1), completion.Detached[net.IOResult]())
					}
					testkit.Spin(rng)
					e1.Close()
					if ok := testkit.Recv(t, secondDone); !ok || c.Failed() {
						break
					}
				}
				stop()
				c.AllCompleted()
				t.Logf("%d of %d first handshakes failed", failed, rounds)
			})
		}
	}
}

// TestPooledAcceptInjectedFailures: server handshakes over a next layer that fails its nth read
// or write, for every n from the first to the last (learnt by counting first), and with nothing
// failing, all at once on one context in chains that interleave them, so that a failed
// handshake's state is taken by another. A failure must match ErrHandshake, wrap the injected
// error and leave the next layer closed; with nothing failing, the stream opens and works.
func TestPooledAcceptInjectedFailures(t *testing.T) {
	for _, byRequest := range []bool{false, true} {
		for _, runners := range []int{1, 2} {
			t.Run(fmt.Sprintf("byRequest=%v/runners=%d", byRequest, runners), func(t *testing.T) {
				ioc := testkit.NewIOContext(runners)
				c := testkit.NewCheck(t)
				ex := pooledStrandEx(ioc, runners)
				// run starts handshake i over a next layer that fails its nth operation (0: none)
				// of total, checks the result, and calls then.
				run := func(i, n, total int, fc *nettest.FailCount, then func()) {
					client, end := nettest.NewPair(ex, nettest.Options{},
						nettest.Options{ReadSize: 13, WriteSize: 29, Fail: fc, Mode: nettest.Mode(n % 2)})
					if !byRequest {
						end.Append(pooledRequest(i))
					}
					server := websocket.NewStream(end, nil)
					what := fmt.Sprintf("handshake %d failing at %d of %d", i, n, total)
					pooledOp(c, ex, false, nil, what, func(h completion.Handler[error]) { pooledHandshake(server, i, byRequest, h) },
						func(err error) {
							if n == 0 || n > total {
								if err != nil {
									c.Errorf("%s: %v", what, err)
									then()
									return
								}
								// The counting run stops at the handshake: its count is the handshake's.
								pooledWorks(c, ex, false, i, server, client, total > 0, then)
								return
							}
							if !errors.Is(err, websocket.ErrHandshake) || !errors.Is(err, nettest.ErrInjected) {
								c.Errorf("%s: %v, want an error matching ErrHandshake and the injected error", what, err)
							}
							if server.IsOpen() {
								c.Errorf("%s: failed, but the stream is open", what)
							}
							if err := end.Close(); !errors.Is(err, stdnet.ErrClosed) {
								c.Errorf("%s: Close after the failure gave %v: the handshake left its next layer open", what, err)
							}
							then()
						})
				}
				fc := nettest.NewFailCount(0, nil)
				var total int
				// Handshakes 1000 to 9999 have requests and answers of one length, and so one count.
				ex.Post(func() { run(1000, 0, 0, fc, func() { total = fc.Count() }) })
				testkit.Run(t, ioc, runners)
				if c.Failed() {
					return
				}
				type job struct{ i, n int }
				var jobs []job
				for rep := range testkit.Scale(60) {
					for n := range total + 1 { // 0: nothing fails
						jobs = append(jobs, job{1001 + rep*(total+1) + n, n})
					}
				}
				rand.New(rand.NewPCG(25, 26)).Shuffle(len(jobs), func(a, b int) { jobs[a], jobs[b] = jobs[b], jobs[a] })
				var ran atomic.Int32
				const chains = 6
				for k := range chains {
					var next func(j int)
					next = func(j int) {
						if j >= len(jobs) {
							return
						}
						jb := jobs[j]
						run(jb.i, jb.n, total, nettest.NewFailCount(jb.n, nil), func() { ran.Add(1); next(j + chains) })
					}
					ex.Post(func() { next(k) })
				}
				testkit.Run(t, ioc, runners)
				c.AllCompleted()
				if int(ran.Load()) != len(jobs) {
					t.Errorf("%d of %d handshakes ran", ran.Load(), len(jobs))
				}
				t.Logf("a handshake makes %d reads and writes", total)
			})
		}
	}
}

// pooledClientKind is how a client of TestPooledAcceptManyOverTCP behaves.
type pooledClientKind int

const (
	pooledGood       pooledClientKind = iota // the package's client handshake, a message each way, the close
	pooledDribble                            // the same, its writes cut to 1 to 7 bytes
	pooledGarbage                            // the client handshake, its request replaced by garbage and an empty line
	pooledCut                                // the client handshake, its socket closed after k bytes of the request
	pooledRawGarbage                         // a Go net.Conn sending garbage, reading the answer
	pooledRawReset                           // a Go net.Conn sending part of a request, then a reset
	pooledKinds
)

func (k pooledClientKind) String() string {
	return [...]string{"good", "dribble", "garbage", "cut", "raw garbage", "raw reset"}[k]
}

func (k pooledClientKind) succeeds() bool { return k == pooledGood || k == pooledDribble }

// pooledMangler is a client's next layer over a TCP socket that writes what a pooledClientKind
// says instead of what the stream asks. It has no gather write, so every write comes through
// AsyncWriteSome.
type pooledMangler struct {
	sock    *net.TCPSocket
	kind    pooledClientKind
	budget  int // pooledCut: request bytes still to send before the socket is closed
	garbled bool
	rng     *rand.Rand
}

func (m *pooledMangler) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	m.sock.AsyncReadSome(b, h)
}
func (m *pooledMangler) Executor() executor.Executor        { return m.sock.Executor() }
func (m *pooledMangler) Shutdown(how net.ShutdownHow) error { return m.sock.Shutdown(how) }
func (m *pooledMangler) Close() error                       { return m.sock.Close() }

func (m *pooledMangler) AsyncWriteSome(b []byte, h completion.Handler[net.IOResult]) {
	switch m.kind {
	case pooledDribble:
		b = b[:min(len(b), 1+m.rng.IntN(7))]
	case pooledGarbage:
		// As many bytes of garbage, the first write's ending with an empty line so that the server
		// has a whole head to refuse.
		const junk = "xyz<>{}!\x00\x7f\xff ;:"
		g := make([]byte, len(b))
		for i := range g {
			g[i] = junk[m.rng.IntN(len(junk))]
		}
		if !m.garbled && len(g) >= 4 {
			copy(g[len(g)-4:], "\r\n\r\n")
		}
		m.garbled = true
		b = g
	case pooledCut:
		if m.budget == 0 {
			m.sock.Close() // the write below fails with net.ErrClosed, through the socket
		} else {
			b = b[:min(len(b), m.budget)]
			m.budget -= len(b)
		}
	}
	m.sock.AsyncWriteSome(b, h)
}

// pooledServerEnd is what the server saw on one connection.
type pooledServerEnd struct {
	byRequest bool
	err       error  // of the handshake, or of reading the request for AsyncAcceptRequest
	parse     bool   // err came from reading or parsing the request, before the handshake
	echoed    string // the message echoed
	end       error  // the error that ended the echo loop
}

// TestPooledAcceptManyOverTCP: many server handshakes at once over loopback TCP, on an IOContext
// run by two goroutines with a strand per connection end (the server's handlers bound to it, or
// its socket on it), AsyncAccept and AsyncAcceptRequest (after the server read the head itself)
// alternating. The clients are the package's own client handshake over TCP, some writing their
// request a few bytes at a time, some writing garbage instead, some closing their socket in the
// middle of the request, and Go net.Conns that send garbage or reset in the middle of a request.
// Every handshake that succeeds must give a stream that echoes a message and closes cleanly; every
// one that fails, an error matching ErrHandshake; no goroutine may be left (goleak in TestMain).
func TestPooledAcceptManyOverTCP(t *testing.T) {
	const runners = 2
	ioc := testkit.NewIOContext(runners)
	c := testkit.NewCheck(t)
	n := 30 * int(pooledKinds)
	if testkit.Race {
		n = 8 * int(pooledKinds)
	}
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	addr := acceptor.Addr()

	var mu sync.Mutex
	servers := make(map[netip.AddrPort]*pooledServerEnd) // by the client's address
	kinds := make(map[netip.AddrPort]pooledClientKind)
	clientErrs := make(map[netip.AddrPort]string)
	note := func(a netip.AddrPort, k pooledClientKind) { mu.Lock(); kinds[a] = k; mu.Unlock() }
	clientFailed := func(a netip.AddrPort, format string, args ...any) {
		mu.Lock()
		clientErrs[a] += fmt.Sprintf(format, args...) + "; "
		mu.Unlock()
	}

	// The server: accept n connections, each on a strand of its own; handshake; echo until the
	// client closes.
	var accepted int
	var accept func()
	accept = func() {
		i := accepted
		// Accepted connections come in about the order of the clients, whose kind is their
		// number modulo pooledKinds: the server's choices change more slowly, so that each kind
		// meets each of them.
		ex := pooledStrandEx(ioc, runners)
		bind := i/int(2*pooledKinds)%2 == 1
		var sockEx executor.Executor = ex
		if bind {
			sockEx = ioc
		}
		acceptor.AsyncAccept(sockEx, completion.Callback(func(r net.AcceptResult) {
			if r.Err != nil {
				c.Errorf("accept %d: %v", i, r.Err)
				return
			}
			accepted++
			if accepted < n {
				accept()
			} else {
				acceptor.Close()
			}
			peer, err := r.Socket.RemoteAddr()
			if err != nil {
				// A client that reset at once: its address is in the error, which names the peer
				// an accepted socket knows without a system call.
				oe, ok := errors.AsType[*stdnet.OpError](err)
				var ta *stdnet.TCPAddr
				if ok {
					ta, ok = oe.Addr.(*stdnet.TCPAddr)
				}
				if !ok {
					c.Errorf("accept %d: RemoteAddr: %v", i, err)
					r.Socket.Close()
					return
				}
				peer = netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), ta.AddrPort().Port())
			}
			se := &pooledServerEnd{byRequest: i/int(pooledKinds)%2 == 1}
			mu.Lock()
			servers[peer] = se
			mu.Unlock()
			ex.Post(func() { pooledServe(c, ex, bind, r.Socket, se, i) })
		}))
	}
	accept()

	// The clients.
	var raw sync.WaitGroup
	for i := range n {
		kind := pooledClientKind(i % int(pooledKinds))
		switch kind {
		case pooledRawGarbage, pooledRawReset:
			raw.Go(func() { pooledRawClient(t, addr, kind, i, note, clientFailed) })
		default:
			ex := pooledStrandEx(ioc, runners)
			ex.Post(func() { pooledClient(c, ex, addr, kind, i, note, clientFailed) })
		}
	}
	testkit.Run(t, ioc, runners)
	testkit.WaitGroup(t, &raw, "the Go net.Conn clients")
	c.AllCompleted()

	mu.Lock()
	defer mu.Unlock()
	if len(servers) != n || len(kinds) != n {
		t.Errorf("%d connections served, %d clients connected, want %d", len(servers), len(kinds), n)
	}
	byKind := make(map[string]int)
	for a, k := range kinds {
		se := servers[a]
		if msg := clientErrs[a]; msg != "" {
			t.Errorf("client %v (%v): %s", a, k, msg)
		}
		if se == nil {
			t.Errorf("client %v (%v): no server end", a, k)
			continue
		}
		how := "AsyncAccept"
		if se.byRequest {
			how = "AsyncAcceptRequest"
		}
		switch {
		case k.succeeds():
			if se.err != nil {
				t.Errorf("client %v (%v), server by %s: %v (parsing: %v)", a, k, how, se.err, se.parse)
			} else if se.echoed != fmt.Sprintf("hello from %v", a) || !errors.Is(se.end, websocket.ErrClosed) {
				t.Errorf("client %v (%v), server by %s: echoed %q, then %v; want the client's message, then ErrClosed", a, k, how, se.echoed, se.end)
			}
		case se.err == nil:
			t.Errorf("client %v (%v), server by %s: the handshake succeeded", a, k, how)
		case !se.parse && !errors.Is(se.err, websocket.ErrHandshake):
			t.Errorf("client %v (%v), server by %s: %v, want an error matching ErrHandshake", a, k, how, se.err)
		}
		byKind[fmt.Sprintf("%v/%s", k, how)]++
	}
	t.Logf("connections by client kind and server handshake: %v", byKind)
}

// pooledServe runs the server side of connection i on ex: the handshake (AsyncAcceptRequest after
// reading the head, or AsyncAccept), then an echo loop until the client ends it.
func pooledServe(c *testkit.Check, ex *testkit.MarkingExecutor, bind bool, sock *net.TCPSocket, se *pooledServerEnd, i int) {
	ws := websocket.NewStream(sock, nil)
	what := fmt.Sprintf("server %d", i)
	fail := func(err error, parse bool) {
		se.err, se.parse = err, parse
		sock.Close() // the client has had its answer, if any
	}
	opened := func(err error) {
		if err != nil {
			if !errors.Is(err, websocket.ErrHandshake) {
				c.Errorf("%s: handshake: %v, want an error matching ErrHandshake", what, err)
			}
			fail(err, false)
			return
		}
		pooledEcho(c, ex, bind, ws, se, what)
	}
	if !se.byRequest {
		pooledOp(c, ex, bind, nil, what+": AsyncAccept", func(h completion.Handler[error]) { ws.AsyncAccept(nil, h) }, opened)
		return
	}
	// Read the head up to its empty line, and no further: a client sends nothing behind its request
	// before the answer, so the next layer keeps whatever follows.
	buf := net.NewFlatBuffer(16 << 10)
	pooledOp(c, ex, bind, nil, what+": read the head", func(h completion.Handler[net.IOResult]) {
		net.AsyncReadUntil(sock, buf, []byte("\r\n\r\n"), h)
	}, func(r net.IOResult) {
		if r.Err != nil {
			fail(r.Err, true)
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf.Bytes()[:r.N])))
		if err != nil {
			fail(err, true)
			return
		}
		if r.N != buf.Size() {
			c.Errorf("%s: %d bytes behind the head", what, buf.Size()-r.N)
		}
		pooledOp(c, ex, bind, nil, what+": AsyncAcceptRequest", func(h completion.Handler[error]) { ws.AsyncAcceptRequest(req, nil, h) }, opened)
	})
}

// pooledEcho echoes messages on ws until a read fails, and records the first message and the error.
func pooledEcho(c *testkit.Check, ex *testkit.MarkingExecutor, bind bool, ws *websocket.Stream, se *pooledServerEnd, what string) {
	var msg net.FlatBuffer
	pooledOp(c, ex, bind, nil, what+": read", func(h completion.Handler[net.IOResult]) { ws.AsyncRead(&msg, h) },
		func(r net.IOResult) {
			if r.Err != nil {
				se.end = r.Err
				return
			}
			if se.echoed == "" {
				se.echoed = string(msg.Bytes())
			}
			ws.SetBinary()
			pooledOp(c, ex, bind, nil, what+": write", func(h completion.Handler[net.IOResult]) { ws.AsyncWrite(msg.Bytes(), h) },
				func(w net.IOResult) {
					if w.Err != nil {
						se.end = w.Err
						return
					}
					msg.Consume(msg.Size())
					pooledEcho(c, ex, bind, ws, se, what)
				})
		})
}

// pooledClient runs client i of a kind made with the package's client handshake, on ex.
func pooledClient(c *testkit.Check, ex *testkit.MarkingExecutor, addr netip.AddrPort, kind pooledClientKind, i int,
	note func(netip.AddrPort, pooledClientKind), failed func(netip.AddrPort, string, ...any)) {
	sock := net.NewTCPSocket(ex)
	what := fmt.Sprintf("client %d (%v)", i, kind)
	pooledOp(c, ex, false, nil, what+": connect", func(h completion.Handler[error]) { sock.AsyncConnect(addr, h) }, func(err error) {
		if err != nil {
			c.Errorf("%s: connect: %v", what, err)
			sock.Close()
			return
		}
		local, err := sock.LocalAddr()
		if err != nil {
			c.Errorf("%s: LocalAddr: %v", what, err)
		}
		note(local, kind)
		var next net.AsyncStream = sock
		if kind != pooledGood {
			next = &pooledMangler{sock: sock, kind: kind, budget: i * 7 % 150, rng: rand.New(rand.NewPCG(uint64(i), 27))}
		}
		ws := websocket.NewStream(next, nil)
		pooledOp(c, ex, false, nil, what+": handshake", func(h completion.Handler[error]) { ws.AsyncHandshake("127.0.0.1", "/", nil, h) },
			func(err error) {
				if !kind.succeeds() {
					if err == nil || !errors.Is(err, websocket.ErrHandshake) {
						failed(local, "handshake: %v, want an error matching ErrHandshake", err)
					}
					sock.Close()
					return
				}
				if err != nil {
					failed(local, "handshake: %v", err)
					sock.Close()
					return
				}
				msg := fmt.Sprintf("hello from %v", local)
				ws.SetBinary()
				pooledOp(c, ex, false, nil, what+": write", func(h completion.Handler[net.IOResult]) { ws.AsyncWrite([]byte(msg), h) },
					func(r net.IOResult) {
						if r.Err != nil || r.N != len(msg) {
							failed(local, "write: %+v", r)
							sock.Close()
							return
						}
						var echo net.FlatBuffer
						pooledOp(c, ex, false, nil, what+": read", func(h completion.Handler[net.IOResult]) { ws.AsyncRead(&echo, h) },
							func(r net.IOResult) {
								if r.Err != nil || string(echo.Bytes()) != msg {
									failed(local, "read the echo: %+v %q", r, echo.Bytes())
									sock.Close()
									return
								}
								pooledOp(c, ex, false, nil, what+": close", func(h completion.Handler[error]) {
									ws.AsyncClose(websocket.CloseReason{Code: websocket.CloseNormal}, h)
								}, func(err error) {
									if err != nil {
										failed(local, "close: %v", err)
									}
									sock.Close()
								})
							})
					})
			})
	})
}

// pooledRawClient runs client i, a Go net.Conn, on the calling goroutine.
func pooledRawClient(t *testing.T, addr netip.AddrPort, kind pooledClientKind, i int,
	note func(netip.AddrPort, pooledClientKind), failed func(netip.AddrPort, string, ...any)) {
	conn, err := stdnet.DialTCP("tcp", nil, stdnet.TCPAddrFromAddrPort(addr))
	if err != nil {
		t.Errorf("raw client %d: %v", i, err)
		return
	}
	defer conn.Close()
	local := conn.LocalAddr().(*stdnet.TCPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	note(local, kind)
	conn.SetDeadline(time.Now().Add(testkit.Patience))
	switch kind {
	case pooledRawGarbage:
		if _, err := conn.Write([]byte("\x16\x03\x01 this is not HTTP at all\r\n\xff\xfe\r\n\r\n")); err != nil {
			failed(local, "write: %v", err)
			return
		}
		// The answer, if any, is a refusal; then the server closes.
		got, err := io.ReadAll(conn)
		if err != nil && !errors.Is(err, stdnet.ErrClosed) && !strings.Contains(err.Error(), "reset") {
			failed(local, "read: %v", err)
		}
		if len(got) > 0 && !bytes.HasPrefix(got, []byte("HTTP/1.1 4")) {
			failed(local, "answered %q, want a 4xx refusal or nothing", got)
		}
	case pooledRawReset:
		req := pooledRequest(i)
		if _, err := conn.Write(req[:len(req)*(1+i%5)/6]); err != nil {
			failed(local, "write: %v", err)
			return
		}
		conn.SetLinger(0)
	}
}
