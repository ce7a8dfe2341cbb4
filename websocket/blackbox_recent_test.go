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
	"runtime"
	"testing"

	"github.com/beastgo/beast/completion"
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
