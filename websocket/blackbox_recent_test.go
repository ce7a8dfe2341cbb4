package websocket_test

// Black-box tests of recent promises, written from go doc of websocket and docs/websocket.md only:
// a context cancelled from another goroutine at random moments around an operation's turn on the
// write side; the keep-alive ping beside a user's pings on a pool with every handler bound to one
// strand.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// rcCancelled reports whether err is a cancellation's error as docs/websocket.md names it: it
// matches context.Canceled and completion.ErrOperationAborted.
func rcCancelled(err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(err, completion.ErrOperationAborted)
}

// rcIOErr adapts an IOResult handler to an error one, keeping h's context and executor.
func rcIOErr(h completion.Handler[error]) completion.Handler[net.IOResult] {
	return completion.Callback(func(r net.IOResult) { h.Complete(r.Err) })
}

// docs/websocket.md, "Timeouts": "Cancelling a write, ping, pong or close while it waits for the
// write turn fails it alone, nothing sent. Cancelling [...] an operation whose bytes are on their
// way, closes the next layer at once [...] the error matches context.Canceled [...] and
// completion.ErrOperationAborted, and every later operation fails with it"; and a context ending
// as the turn comes leaves the stream as if cancelled while waiting. A message of ten frames
// (AutoFragment) is in flight while a ping or a close waits for the write turn with a context
// that another goroutine cancels at a random moment. Whatever the moment: every handler runs
// once; the server's end holds whole frames only, the message's frames in order with the control
// frame, if sent, between two of them; and the stream is either open and usable with nothing of
// the cancelled operation sent, or ended with the cancellation's error.
func TestBBRecentCancelRacingWriteTurn(t *testing.T) {
	const iters = 300
	msg := bytes.Repeat([]byte("0123456789abcdef"), 10) // ten frames of 16 bytes
	for _, waiter := range []string{"ping", "close"} {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			counts := map[string]int{}
			for i := range iters {
				name := fmt.Sprintf("%s/mode%d/%d", waiter, mode, i)
				p := openBBPair(t, nettest.Options{Mode: mode}, nettest.Options{},
					&websocket.Options{AutoFragment: true, WriteBufferBytes: 16}, nil)
				p.client.SetBinary()
				ctx, cancel := context.WithCancel(context.Background())
				start := make(chan struct{})
				cancelled := make(chan struct{})
				go func() {
					<-start
					for range i % 23 {
						runtime.Gosched()
					}
					cancel()
					close(cancelled)
				}()
				w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
				var c *rec[error]
				if waiter == "ping" {
					c = startErr(p.ioc, func(h completion.Handler[error]) {
						p.client.AsyncPing([]byte("p"), completion.WithContext(ctx, h))
					})
				} else {
					c = startErr(p.ioc, func(h completion.Handler[error]) {
						p.client.AsyncClose(websocket.CloseReason{Code: websocket.CloseNormal}, completion.WithContext(ctx, h))
					})
				}
				close(start)
				// Run while the other goroutine cancels; the close never gets the server's close
				// frame (the server does not read), so it ends only by the cancellation.
				p.runUntil(func() bool { return w.done() && c.done() })
				<-cancelled
				p.runUntil(func() bool { return false })
				w.check(t, name+" write")
				c.check(t, name+" "+waiter)

				fs := sentFrames(t, p.sEnd) // fails on a torn frame
				var data []byte
				controls := 0
				for k, f := range fs {
					switch f.op {
					case websocket.OpBinary, websocket.OpContinuation:
						if (f.op == websocket.OpBinary) != (len(data) == 0) {
							t.Fatalf("%s: frame %d %v out of sequence in %v", name, k, f, fs)
						}
						data = append(data, f.payload...)
						if f.fin != (len(data) == len(msg)) {
							t.Fatalf("%s: frame %d fin %v after %d bytes", name, k, f.fin, len(data))
						}
					case websocket.OpPing:
						if waiter != "ping" || string(f.payload) != "p" {
							t.Fatalf("%s: unexpected ping %v %q", name, f, f.payload)
						}
						controls++
					case websocket.OpClose:
						if waiter != "close" || f.closeCode() != websocket.CloseNormal {
							t.Fatalf("%s: unexpected close %v", name, f)
						}
						controls++
					default:
						t.Fatalf("%s: unexpected frame %v", name, f)
					}
				}
				if !bytes.HasPrefix(msg, data) || controls > 1 {
					t.Fatalf("%s: sent %v", name, fs)
				}

				// Is the stream still open? A second ping tells, and must either go out or fail
				// with the cancellation's error.
				after := startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncPing([]byte("q"), h) })
				p.runUntil(after.done)
				after.check(t, name+" later ping")
				cErr, wErr, aErr := c.err(), w.err(), after.err()
				switch {
				case waiter == "ping" && cErr == nil:
					// Sent, in turn: the stream goes on.
					if controls != 1 || wErr != nil || w.n() != len(msg) || aErr != nil {
						t.Fatalf("%s: ping sent: controls %d, write %d %v, later ping %v", name, controls, w.n(), wErr, aErr)
					}
					counts["sent"]++
				case !rcCancelled(cErr):
					t.Fatalf("%s: %s failed with %v, want nil or the cancellation's error", name, waiter, cErr)
				case aErr == nil:
					// Cancelled while waiting (or as its turn came): it failed alone, nothing sent,
					// the message whole, the stream open and usable.
					if controls != 0 || wErr != nil || w.n() != len(msg) || !p.client.IsOpen() {
						t.Fatalf("%s: cancelled alone: controls %d, write %d %v, open %v", name, controls, w.n(), wErr, p.client.IsOpen())
					}
					fs2 := sentFrames(t, p.sEnd)
					if last := fs2[len(fs2)-1]; last.op != websocket.OpPing || string(last.payload) != "q" {
						t.Fatalf("%s: later ping not sent: %v", name, fs2)
					}
					counts["alone"]++
				default:
					// Cancelled with its bytes on their way: the stream ended with the cancellation.
					// Once a close frame has gone out, the closing handshake has begun: the write's
					// later frames and later operations may fail with ErrClosed instead.
					closing := waiter == "close" && controls == 1
					if !(rcCancelled(aErr) || closing && errors.Is(aErr, websocket.ErrClosed)) || p.client.IsOpen() {
						t.Fatalf("%s: ended: later ping %v, open %v", name, aErr, p.client.IsOpen())
					}
					if wErr != nil && !rcCancelled(wErr) && !(closing && errors.Is(wErr, websocket.ErrClosed)) {
						t.Fatalf("%s: ended: write failed with %v", name, wErr)
					}
					if wErr != nil && w.n() != len(data) {
						t.Fatalf("%s: ended: write reports %d bytes, %d went out", name, w.n(), len(data))
					}
					counts["ended"]++
				}
				cancel()
			}
			t.Logf("%s mode %d: %v", waiter, mode, counts)
		}
	}
}

// rcTCPPair connects two TCPSockets over loopback, both on ex.
func rcTCPPair(t *testing.T, ex executor.Executor) (client, server *net.TCPSocket) {
	t.Helper()
	acc := net.NewTCPAcceptor(ex)
	if err := acc.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	fa := completion.NewFuture[net.AcceptResult]()
	acc.AsyncAccept(ex, fa)
	client = net.NewTCPSocket(ex)
	fc := completion.NewFuture[error]()
	client.AsyncConnect(acc.Addr(), fc)
	if err := fc.Wait(); err != nil {
		t.Fatalf("AsyncConnect: %v", err)
	}
	r := fa.Wait()
	if r.Err != nil {
		client.Close()
		t.Fatalf("AsyncAccept: %v", r.Err)
	}
	return client, r.Socket
}

// go doc of Stream: "The stream's timer and keep-alive pings run where its last operation ran",
// and docs/websocket.md: "One ping or pong may be pending at a time [...]; the keep-alive ping of
// Timeout has its own and never gets in the way". Two streams over loopback TCP sockets on a
// ThreadPool of two goroutines, every handler of each stream bound to a strand of its own. The
// server, with keep-alive pings and no read in flight (so that it is quiet and its keep-alive
// ping goes out), pings in a loop, each ping once the client has seen the last; the client reads
// and answers every ping. Once the client has seen a keep-alive ping among the user's, the server
// closes. No user ping fails, in particular none with ErrOperationInProgress; every handler runs
// on its strand; the close ends both cleanly. The race detector checks that the timer's steps run
// serialised with the stream's other steps.
func TestBBRecentKeepAliveBesideUserPingsOnPool(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	cSock, sSock := rcTCPPair(t, pool.Executor())
	cStrand, sStrand := executor.NewStrand(pool.Executor()), executor.NewStrand(pool.Executor())
	// The keep-alive ping goes out at Idle/2; the close must start before Idle, when a stream
	// that has read nothing ends: a wide margin for a loaded machine.
	sOpts := &websocket.Options{Timeout: websocket.Timeout{Idle: 400 * time.Millisecond, KeepAlivePings: true}}
	client, server := websocket.NewStream(cSock, nil), websocket.NewStream(sSock, sOpts)

	var offStrand atomic.Int32
	on := func(s *executor.Strand) {
		if gid.Known && !s.RunningInThisThread() {
			offStrand.Add(1)
		}
	}
	acc := completion.NewFuture[error]()
	hs := completion.NewFuture[error]()
	sStrand.Post(func() {
		server.AsyncAccept(nil, completion.Bind[error](sStrand, completion.Callback(func(err error) { on(sStrand); acc.Complete(err) })))
	})
	cStrand.Post(func() {
		client.AsyncHandshake("example.com", "/", nil, completion.Bind[error](cStrand, completion.Callback(func(err error) { on(cStrand); hs.Complete(err) })))
	})
	if err := acc.Wait(); err != nil {
		t.Fatalf("accept: %v", err)
	}
	if err := hs.Wait(); err != nil {
		t.Fatalf("handshake: %v", err)
	}

	// Server side, on its strand only: ping; the next ping goes once the client has seen this
	// one (next is posted by the client) and the last ping's handler has run.
	var (
		sent, seen int
		pingErrs   []error
		stop       bool
		pending    bool // a user ping's handler has not run yet
		owed       bool // the client has seen the last ping
	)
	closed := completion.NewFuture[error]()
	var ping, maybeNext func()
	startClose := func() {
		server.AsyncClose(websocket.CloseReason{Code: websocket.CloseNormal},
			completion.Bind[error](sStrand, completion.Callback(func(err error) { on(sStrand); closed.Complete(err) })))
	}
	maybeNext = func() {
		if pending || !owed {
			return
		}
		owed = false
		// A liveness bound only: far more pings than Idle/2 of round trips.
		if stop || len(pingErrs) > 0 || sent >= 100000 {
			startClose()
			return
		}
		ping()
	}
	ping = func() {
		pending = true
		server.AsyncPing([]byte(fmt.Sprintf("user%d", sent)), completion.Bind[error](sStrand, completion.Callback(func(err error) {
			on(sStrand)
			pending = false
			if err != nil {
				pingErrs = append(pingErrs, err)
				owed = true // the client will never see it
			}
			maybeNext()
		})))
		sent++
	}

	// Client side: reads until the close, counting the pings by payload.
	var keepAlive atomic.Int32
	cDone := completion.NewFuture[error]()
	cStrand.Post(func() {
		client.SetControlCallback(func(kind websocket.FrameType, payload []byte) {
			if kind != websocket.FramePing {
				return
			}
			user := bytes.HasPrefix(payload, []byte("user"))
			if !user {
				keepAlive.Add(1)
			}
			sStrand.Post(func() {
				if user {
					seen++
					owed = true
				} else {
					stop = true
				}
				maybeNext()
			})
		})
		buf := make([]byte, 64)
		var read func()
		read = func() {
			client.AsyncReadSome(buf, completion.Bind[net.IOResult](cStrand, completion.Callback(func(r net.IOResult) {
				on(cStrand)
				if r.Err != nil {
					cDone.Complete(r.Err)
					return
				}
				read()
			})))
		}
		read()
	})
	sStrand.Post(ping)

	closeErr := closed.Wait()
	cErr := cDone.Wait()
	done := make(chan struct{})
	sStrand.Post(func() { close(done) })
	<-done
	for _, err := range pingErrs {
		t.Errorf("a user ping of %d failed: %v", sent, err)
		if errors.Is(err, websocket.ErrOperationInProgress) {
			t.Errorf("the keep-alive ping got in the user's way")
		}
	}
	if closeErr != nil || !errors.Is(cErr, websocket.ErrClosed) {
		t.Fatalf("close %v, client read %v; want nil, ErrClosed (after %d user pings, %d keep-alive)", closeErr, cErr, sent, keepAlive.Load())
	}
	if keepAlive.Load() < 1 || !stop {
		t.Fatalf("the client saw %d keep-alive pings beside %d user pings", keepAlive.Load(), seen)
	}
	if seen != sent {
		t.Fatalf("the client saw %d user pings, the server sent %d", seen, sent)
	}
	if n := offStrand.Load(); n != 0 {
		t.Fatalf("%d handlers ran off their strand", n)
	}
	t.Logf("%d user pings, %d keep-alive pings", sent, keepAlive.Load())
}
