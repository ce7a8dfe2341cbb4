package websocket

import (
	"errors"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// connection is the outcome of a whole connection's life: the handshakes, a message each way,
// and the client's close, each step started from the handler of the one before.
type connection struct {
	accept, handshake, close            *opResult
	serverRead, clientRead, clientWrite *result
}

// runConnection runs a whole connection over a nettest pair with the given options, returning
// what each operation received. Every step starts from the previous step's handler, as a
// program's would.
func runConnection(t *testing.T, co, so nettest.Options) (*connection, *nettest.Stream, *nettest.Stream) {
	t.Helper()
	ioc := executor.NewIOContext()
	ce, se := nettest.NewPair(ioc, co, so)
	t.Cleanup(func() { ce.Close(); se.Close() })
	// A side whose handshake failed leaves the other waiting: the handshake timeout ends that.
	opts := &Options{CloseTimeout: shortClose.CloseTimeout, Timeout: Timeout{Handshake: 50 * time.Millisecond}}
	client, server := NewStream(ce, opts), NewStream(se, opts)
	c := &connection{}
	c.accept = startOp(func(h completion.Handler[error]) {
		server.AsyncAccept(nil, completion.Callback(func(err error) {
			h.Complete(err)
			if err != nil {
				return
			}
			c.serverRead = start(t, func(h completion.Handler[net.IOResult]) {
				server.AsyncRead(net.NewFlatBuffer(0), completion.Callback(func(r net.IOResult) {
					h.Complete(r)
					if r.Err == nil {
						server.AsyncWrite([]byte("pong"), completion.Callback(func(net.IOResult) {}))
						server.AsyncRead(net.NewFlatBuffer(0), completion.Callback(func(net.IOResult) {}))
					}
				}))
			})
		}))
	})
	c.handshake = startOp(func(h completion.Handler[error]) {
		client.AsyncHandshake("example.com", "/", nil, completion.Callback(func(err error) {
			h.Complete(err)
			if err != nil {
				return
			}
			c.clientWrite = start(t, func(h completion.Handler[net.IOResult]) { client.AsyncWrite([]byte("ping"), h) })
			c.clientRead = start(t, func(h completion.Handler[net.IOResult]) {
				client.AsyncRead(net.NewFlatBuffer(0), completion.Callback(func(r net.IOResult) {
					h.Complete(r)
					if r.Err == nil {
						c.close = startOp(func(h completion.Handler[error]) { client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
					}
				}))
			})
		}))
	})
	ioc.Run()
	ioc.Restart()
	return c, ce, se
}

// TestConnectionFailEveryStep fails the Nth operation on the next layers of a whole connection,
// for every N it has: each handler that ran, ran once and never inside its call; nothing is left
// pending (goleak, and Run returned); every stream that got as far as opening ended closed.
func TestConnectionFailEveryStep(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		fc := nettest.NewFailCount(0, nil)
		c, _, _ := runConnection(t, nettest.Options{Fail: fc, Mode: mode}, nettest.Options{Fail: fc, Mode: mode})
		if c.accept.err != nil || c.handshake.err != nil || c.close == nil || c.close.err != nil {
			t.Fatalf("without failures: accept %v, handshake %v, close %+v", c.accept.err, c.handshake.err, c.close)
		}
		total := fc.Count()
		for n := 1; n <= total; n++ {
			fc := nettest.NewFailCount(n, nettest.ErrInjected)
			c, ce, se := runConnection(t, nettest.Options{Fail: fc, Mode: mode, ReadSize: 5}, nettest.Options{Fail: fc, Mode: mode})
			c.accept.check(t, "accept")
			c.handshake.check(t, "handshake")
			for _, op := range []*opResult{c.close} {
				if op != nil {
					op.check(t, "close")
				}
			}
			for _, r := range []*result{c.serverRead, c.clientRead, c.clientWrite} {
				if r != nil && !r.done {
					t.Fatalf("fail at %d: an operation never completed", n)
				}
			}
			if c.close != nil && c.close.err != nil && !errors.Is(c.close.err, nettest.ErrInjected) && !errors.Is(c.close.err, ErrTimeout) {
				t.Fatalf("fail at %d: close %v", n, c.close.err)
			}
			// Both next layers were closed: by a teardown, or at once after a failure.
			for _, end := range []*nettest.Stream{ce, se} {
				w := start(t, func(h completion.Handler[net.IOResult]) { end.AsyncWriteSome([]byte("x"), h) })
				ioc := end.Executor().(*executor.IOContext)
				ioc.Run()
				ioc.Restart()
				if w.r.Err == nil {
					t.Fatalf("fail at %d: a next layer is still open", n)
				}
			}
		}
	}
}
