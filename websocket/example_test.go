package websocket

import (
	"fmt"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// A client sends a text message and a server reads it whole, over an in-memory connection. The
// roles are set directly here, as the handshake sets them.
func ExampleStream() {
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer a.Close()
	defer b.Close()
	client, server := NewStream(a, nil), NewStream(b, nil)
	client.setRole(roleClient)
	server.setRole(roleServer)

	client.AsyncWrite([]byte("hello, server"), completion.Callback(func(r net.IOResult) {
		fmt.Println("client wrote", r.N, "bytes", r.Err)
	}))
	var buf net.FlatBuffer
	server.AsyncRead(&buf, completion.Callback(func(r net.IOResult) {
		fmt.Printf("server read %q, text %v\n", buf.Bytes(), server.GotText())
	}))
	ioc.Run()
	// Output:
	// client wrote 13 bytes <nil>
	// server read "hello, server", text true
}
