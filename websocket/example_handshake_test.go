package websocket_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/beastgo/beast/websocket"
)

// A server routes a request to the WebSocket accept or to its HTTP handler with IsUpgrade.
func ExampleIsUpgrade() {
	raw := "GET /chat HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		panic(err)
	}
	fmt.Println(websocket.IsUpgrade(r))
	// Output: true
}

// A failed handshake is told apart from a failure of an open connection with ErrHandshake, and
// the status a server answered with comes from the HandshakeError.
func ExampleHandshakeError() {
	err := fmt.Errorf("accept: %w", websocket.ErrBadSecVersion)
	if he, ok := errors.AsType[*websocket.HandshakeError](err); ok {
		fmt.Println(errors.Is(err, websocket.ErrHandshake), he.StatusCode())
	}
	// Output: true 426
}
