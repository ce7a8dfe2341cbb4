package websocket_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// TestBBReadDuringClose: ErrClosed is "the error of ... every read, write, ping, pong or
// close started once the closing handshake has begun (either side's close frame sent or
// received)"; ErrOperationInProgress is that "of a read (or write) started while another read (or
// write) of the same stream is pending", and no read of the user's is pending here. A read
// started as each of the closer's next-layer operations starts (the close frame's write, the read
// of the peer's close frame, the teardown) must fail with ErrClosed.
func TestBBReadDuringClose(t *testing.T) {
	for _, role := range roles {
		p := openHookedPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		s, _, _ := p.ends(role)
		p.other(role).AsyncRead(net.NewFlatBuffer(0), completion.Detached[net.IOResult]())
		s.AsyncClose(websocket.CloseReason{Code: 1000}, completion.Detached[error]())
		p.run()
		total := p.hook(role).n
		for n := 1; n <= total; n++ {
			name := fmt.Sprintf("%s/read at close step %d of %d", roleName(role), n, total)
			p := openHookedPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
			s, _, _ := p.ends(role)
			var rd *rec[error]
			p.hook(role).before = func(i int) {
				if i == n {
					p.ioc.Post(func() {
						rd = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncRead(net.NewFlatBuffer(0), ioErr(nil, h)) })
					})
				}
			}
			pr := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.other(role).AsyncRead(net.NewFlatBuffer(0), h) })
			cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
			p.run()
			rd.check(t, name)
			if cl.err() != nil || !errors.Is(pr.err(), websocket.ErrClosed) || !errors.Is(rd.err(), websocket.ErrClosed) {
				t.Errorf("%s: close %v, peer's read %v, read %v; want the read to fail with ErrClosed", name, cl.err(), pr.err(), rd.err())
			}
		}
	}
}
