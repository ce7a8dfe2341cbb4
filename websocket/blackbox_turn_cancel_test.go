package websocket_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// TestBBCancelWhileWaitingForTurn: Stream.Write says a write "cancelled while it waits for
// its turn behind a control frame fails alone", and Stream.Ping that "a ping cancelled while it
// waits for its turn to write fails alone" (and AsyncClose the same of a close). Here the context
// is cancelled as the 5th one-byte next-layer write of the operation in flight starts, so it ends
// while the other operation waits, long before its turn (a 125-byte ping takes 131 writes, a
// 2000-byte message 2004): the waiting operation must fail with the context's error and leave
// the stream open, the operation in flight complete, and nothing of the cancelled one go out.
func TestBBCancelWhileWaitingForTurn(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		for _, waiter := range []string{"write behind a ping", "ping behind a write", "close behind a write"} {
			name := fmt.Sprintf("mode%d/%s", mode, waiter)
			o := nettest.Options{Mode: mode, WriteSize: 1}
			p := openHookedPair(t, o, nettest.Options{}, nil, nil)
			ctx, cancel := context.WithCancel(context.Background())
			p.cHook.before = func(i int) {
				if i == 5 {
					cancel()
				}
			}
			var inFlight, waiting *rec[error]
			switch waiter {
			case "write behind a ping":
				inFlight = startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncPing(make([]byte, 125), h) })
				waiting = startErr(p.ioc, func(h completion.Handler[error]) {
					p.client.AsyncWrite([]byte("cancelled"), ioErr(nil, completion.WithContext(ctx, h)))
				})
			case "ping behind a write":
				inFlight = startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncWrite(make([]byte, 2000), ioErr(nil, h)) })
				waiting = startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncPing(nil, completion.WithContext(ctx, h)) })
			default:
				inFlight = startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncWrite(make([]byte, 2000), ioErr(nil, h)) })
				waiting = startErr(p.ioc, func(h completion.Handler[error]) {
					p.client.AsyncClose(websocket.CloseReason{Code: 1000}, completion.WithContext(ctx, h))
				})
			}
			p.run()
			inFlight.check(t, name+" in flight")
			waiting.check(t, name+" waiting")
			fs := sentFrames(t, p.sEnd)
			if inFlight.err() != nil || !cancelled(waiting.err()) || !p.client.IsOpen() || len(fs) != 1 {
				t.Errorf("%s: in flight %v, waiting %v, open %v, sent %v; want the waiting one to fail alone", name, inFlight.err(), waiting.err(), p.client.IsOpen(), fs)
			}
			_ = net.IOResult{}
		}
	}
}
