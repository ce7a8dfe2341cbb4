package websocket_test

import (
	"fmt"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// A client and a server over an in-memory connection, all on one goroutine: the opening
// handshake on both ends, then the client sends a text message and the server reads it whole.
func ExampleStream() {
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer a.Close()
	defer b.Close()
	client, server := websocket.NewStream(a, nil), websocket.NewStream(b, nil)

	var buf net.FlatBuffer
	server.AsyncAccept(nil, completion.Callback(func(err error) {
		if err != nil {
			fmt.Println("accept:", err)
			return
		}
		server.AsyncRead(&buf, completion.Callback(func(r net.IOResult) {
			fmt.Printf("server read %q, text %v\n", buf.Bytes(), server.GotText())
		}))
	}))
	client.AsyncHandshake("example.com", "/chat", nil, completion.Callback(func(err error) {
		if err != nil {
			fmt.Println("handshake:", err)
			return
		}
		fmt.Println("client got", client.Response().Status)
		client.AsyncWrite([]byte("hello, server"), completion.Callback(func(r net.IOResult) {
			fmt.Println("client wrote", r.N, "bytes", r.Err)
		}))
	}))
	ioc.Run()
	// Output:
	// client got 101 Switching Protocols
	// client wrote 13 bytes <nil>
	// server read "hello, server", text true
}
