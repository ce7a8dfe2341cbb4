package websocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// TestBBWriteAfterViolationClose: AsyncWriteSome says that once a close frame has gone out the
// write fails, "when a read's close frame answered the peer's violation, with that violation's
// error), N counting the bytes sent before". Here a read meets a protocol violation while a
// message AutoFragment cut into frames is being written: the read's close frame (1002) goes out
// between two frames, and the write then fails with the violation.
func TestBBWriteAfterViolationClose(t *testing.T) {
	msg := bytes.Repeat([]byte("z"), 100)
	wo := &websocket.Options{AutoFragment: true, WriteBufferBytes: 10}
	for _, role := range roles {
		for n := 1; n < 30; n += 7 {
			name := fmt.Sprintf("%s/violation at write %d", roleName(role), n)
			o := nettest.Options{WriteSize: 3}
			p := openHookedPair(t, o, o, wo, wo)
			s, own, peer := p.ends(role)
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
			p.hook(role).n = 0 // count from the write's start, whether or not the read has begun its own
			p.hook(role).before = func(i int) {
				if i == n {
					own.Append(rawFrame(true, 0x3, role == websocket.RoleServer, nil))
					own.Remote().Shutdown(net.ShutdownWrite)
				}
			}
			w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
			p.run()
			fs := sentFrames(t, peer)
			if len(fs) == 0 || fs[len(fs)-1].op != websocket.OpClose || !errors.Is(rd.err(), websocket.ErrBadOpcode) {
				t.Fatalf("%s: read %v, frames %v", name, rd.err(), fs)
			}
			if before := dataPayload(fs); len(before) < len(msg) && (!errors.Is(w.err(), websocket.ErrBadOpcode) || w.n() != len(before)) {
				t.Errorf("%s: the close frame went out after %d bytes; write %d, %v; want the violation's error", name, len(before), w.n(), w.err())
			}
		}
	}
}
