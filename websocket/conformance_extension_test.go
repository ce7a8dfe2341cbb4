package websocket

import (
	"bytes"
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// TestConformanceUnofferedExtension: RFC 6455 section 4.1, the client's checks of the server's
// response, item 5: "If the response includes a |Sec-WebSocket-Extensions| header field and this
// header field indicates the use of an extension that was not present in the client's handshake
// (the server has indicated an extension not requested by the client), the client MUST _Fail the
// WebSocket Connection_." The client offers no extension, so a 101 naming one must be refused.
func TestConformanceUnofferedExtension(t *testing.T) {
	for _, ext := range []string{"permessage-deflate", "x-webkit-deflate-frame", "permessage-deflate; client_max_window_bits"} {
		ioc := executor.NewIOContext()
		own, peer := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
		s := NewStream(own, nil)
		var hsErr error
		done := false
		s.AsyncHandshake("example.com", "/", nil, completion.Callback(func(err error) { hsErr, done = err, true }))
		runBounded(t, ioc, 1000, func() bool { return bytes.Contains(peer.Unread(), []byte("\r\n\r\n")) })
		key := checkClientRequest(t, peer.Unread())
		own.Append([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + rfcAccept(key) + "\r\nSec-WebSocket-Extensions: " + ext + "\r\n\r\n"))
		peer.Shutdown(net.ShutdownWrite)
		runBounded(t, ioc, 1000, func() bool { return done })
		if !done || !errors.Is(hsErr, ErrBadExtension) || !errors.Is(hsErr, ErrHandshake) || s.IsOpen() {
			t.Errorf("101 with Sec-WebSocket-Extensions: %s, not offered: handshake %v (done %v), open %v; want ErrBadExtension",
				ext, hsErr, done, s.IsOpen())
		}
		own.Close()
		peer.Close()
	}
}
