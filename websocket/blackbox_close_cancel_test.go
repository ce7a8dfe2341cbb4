package websocket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// TestBBCloseCancelledWhileWaiting cancels a close while it waits for its turn behind a message
// whose frames leave a byte at a time: the close fails with the context's error and leaves the
// stream as it was; the message arrives whole, and a later close succeeds.
func TestBBCloseCancelledWhileWaiting(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		o := nettest.Options{Mode: mode, WriteSize: 1}
		wo := &websocket.Options{AutoFragment: true, WriteBufferBytes: 8}
		p := openBBPair(t, o, nettest.Options{}, wo, nil)
		msg := []byte("a message of several frames")
		ctx, cancel := context.WithCancel(context.Background())
		var w *rec[net.IOResult]
		var cl *rec[error]
		p.ioc.Post(func() {
			w = startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
			cl = startErr(p.ioc, func(h completion.Handler[error]) {
				p.client.AsyncClose(websocket.CloseReason{Code: 1000}, completion.WithContext(ctx, h))
			})
			cancel()
		})
		p.run()
		w.check(t, "write")
		cl.check(t, "close")
		if !errors.Is(cl.err(), context.Canceled) || !errors.Is(cl.err(), completion.ErrOperationAborted) {
			t.Fatalf("mode%d: close %v, want the context's error", mode, cl.err())
		}
		if w.err() != nil || !p.client.IsOpen() {
			t.Fatalf("mode%d: write %v, open %v", mode, w.err(), p.client.IsOpen())
		}
		var buf net.FlatBuffer
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
		p.run()
		if rd.err() != nil || string(buf.Bytes()) != string(msg) {
			t.Fatalf("mode%d: server read %v %q", mode, rd.err(), buf.Bytes())
		}
		rs := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
		cl2 := startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
		p.run()
		if cl2.err() != nil || !errors.Is(rs.err(), websocket.ErrClosed) {
			t.Fatalf("mode%d: later close %v, server read %v", mode, cl2.err(), rs.err())
		}
	}
}
