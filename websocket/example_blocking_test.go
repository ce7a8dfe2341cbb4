package websocket_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// A server and a client written as goroutines with the blocking methods, over loopback TCP: one
// goroutine runs the IOContext that serves both sockets, and the others call Accept, Handshake,
// Read, Write and Close as they would call a net.Conn's methods. The server answers each message
// in upper case until the client closes the connection.
func Example_blocking() {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc) // Run must not return while the goroutines are between calls
	var running sync.WaitGroup
	running.Go(func() { ioc.Run() })
	defer running.Wait()
	defer guard.Reset()

	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		fmt.Println(err)
		return
	}
	defer acceptor.Close()
	ctx := context.Background()

	var server sync.WaitGroup
	var serverEnd error
	server.Go(func() {
		r := completion.Await(func(h completion.Handler[net.AcceptResult]) { acceptor.AsyncAccept(nil, h) })
		if r.Err != nil {
			serverEnd = r.Err
			return
		}
		ws := websocket.NewStream(r.Socket, nil)
		if serverEnd = ws.Accept(ctx, nil); serverEnd != nil {
			r.Socket.Close()
			return
		}
		for {
			var msg net.FlatBuffer
			if _, serverEnd = ws.Read(ctx, &msg); serverEnd != nil {
				return // the client's close frame: the read has answered it and closed the socket
			}
			if serverEnd = ws.Write(ctx, bytes.ToUpper(msg.Bytes())); serverEnd != nil {
				return
			}
		}
	})

	sock := net.NewTCPSocket(ioc)
	if err := completion.Await(func(h completion.Handler[error]) { sock.AsyncConnect(acceptor.Addr(), h) }); err != nil {
		fmt.Println(err)
		return
	}
	ws := websocket.NewStream(sock, nil)
	if err := ws.Handshake(ctx, "localhost", "/shout", nil); err != nil {
		fmt.Println(err)
		sock.Close()
		return
	}
	for _, m := range []string{"hello", "goroutine-style code"} {
		if err := ws.Write(ctx, []byte(m)); err != nil {
			fmt.Println(err)
			return
		}
		var reply net.FlatBuffer
		if _, err := ws.Read(ctx, &reply); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s -> %s\n", m, reply.Bytes())
	}
	fmt.Println("client close:", ws.Close(ctx, websocket.CloseReason{Code: websocket.CloseNormal}))
	server.Wait()
	fmt.Println("server read:", serverEnd)
	// Output:
	// hello -> HELLO
	// goroutine-style code -> GOROUTINE-STYLE CODE
	// client close: <nil>
	// server read: websocket: connection closed
}

// A line protocol written over net.Conn, tunnelled through a WebSocket connection with NetConn:
// the server reads lines with bufio and answers each, and the client reads the answers to the
// end of the stream once the server has closed the connection.
func ExampleNetConn() {
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	var running sync.WaitGroup
	running.Go(func() { ioc.Run() })
	defer running.Wait()
	defer guard.Reset()

	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer a.Close()
	defer b.Close()
	client, server := websocket.NewStream(a, nil), websocket.NewStream(b, nil)
	ctx := context.Background()

	var done sync.WaitGroup
	done.Go(func() {
		if err := server.Accept(ctx, nil); err != nil {
			fmt.Println(err)
			return
		}
		conn := websocket.NetConn(ctx, server, websocket.OpText)
		defer conn.Close() // the closing handshake, with CloseNormal
		lines := bufio.NewScanner(conn)
		for lines.Scan() {
			if lines.Text() == "bye" {
				return
			}
			fmt.Fprintf(conn, "%d bytes\n", len(lines.Text()))
		}
	})

	if err := client.Handshake(ctx, "localhost", "/lines", nil); err != nil {
		fmt.Println(err)
		return
	}
	conn := websocket.NetConn(ctx, client, websocket.OpText)
	// One Write is one message, and Read does not keep the boundaries: the server's bufio cuts
	// the bytes into lines whatever the messages were.
	fmt.Fprint(conn, "first line\nsec")
	fmt.Fprint(conn, "ond\nbye\n")
	answers, err := io.ReadAll(conn) // to io.EOF: the server's close frame, CloseNormal
	fmt.Printf("%q %v\n", strings.Split(strings.TrimSpace(string(answers)), "\n"), err)
	fmt.Println("close:", conn.Close())
	done.Wait()
	// Output:
	// ["10 bytes" "6 bytes"] <nil>
	// close: <nil>
}
