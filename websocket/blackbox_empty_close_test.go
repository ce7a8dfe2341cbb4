package websocket_test

import (
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// TestBBEmptyCloseAnsweredNormal: CloseReason's doc says a close frame with an empty payload
// "reads as Code CloseNoStatus ... a read answers it with CloseNormal". The read's answer to an
// empty close frame is a close frame carrying 1000.
func TestBBEmptyCloseAnsweredNormal(t *testing.T) {
	for _, role := range roles {
		p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		s, own, peer := p.ends(role)
		own.Append(rawFrame(true, websocket.OpClose, role == websocket.RoleServer, nil))
		peer.Shutdown(net.ShutdownWrite)
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
		p.run()
		rd.check(t, "read")
		if !errors.Is(rd.err(), websocket.ErrClosed) || s.Reason().Code != websocket.CloseNoStatus {
			t.Fatalf("%s: read %v, Reason %+v", roleName(role), rd.err(), s.Reason())
		}
		fs := sentFrames(t, peer)
		if len(fs) != 1 || fs[0].op != websocket.OpClose || string(fs[0].payload) != "\x03\xe8" {
			t.Fatalf("%s: answered an empty close frame with %v; want a close frame with 1000 (CloseNormal)", roleName(role), fs)
		}
	}
}
