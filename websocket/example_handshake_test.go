package websocket_test

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// A client opens a WebSocket connection over loopback TCP: connect the socket, make a Stream over
// it, and run the opening handshake, offering two subprotocols and adding a header to the upgrade
// request. The server here is the smallest one, on the same IOContext: accept, then AsyncAccept.
func ExampleStream_AsyncHandshake() {
	ioc := executor.NewIOContext()
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		fmt.Println(err)
		return
	}
	acceptor.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
		acceptor.Close()
		if r.Err != nil {
			return
		}
		server := websocket.NewStream(r.Socket, nil)
		server.AsyncAccept(&websocket.AcceptOptions{Subprotocols: []string{"chat.v1"}},
			completion.Callback(func(error) { r.Socket.Close() }))
	}))

	sock := net.NewTCPSocket(ioc)
	sock.AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
		if err != nil {
			fmt.Println("connect:", err)
			sock.Close()
			return
		}
		ws := websocket.NewStream(sock, nil)
		opts := &websocket.HandshakeOptions{
			Subprotocols: []string{"chat.v2", "chat.v1"},
			Decorate:     func(r *http.Request) { r.Header.Set("User-Agent", "example/1.0") },
		}
		ws.AsyncHandshake("localhost", "/chat", opts, completion.Callback(func(err error) {
			// The stream is open when err is nil; every failure matches ErrHandshake.
			fmt.Println("handshake:", err)
			fmt.Println("status:", ws.Response().Status)
			fmt.Println("subprotocol:", ws.Subprotocol())
			fmt.Println("open:", ws.IsOpen())
			sock.Close() // a real program would read and write now, then AsyncClose
		}))
	}))
	ioc.Run()
	// Output:
	// handshake: <nil>
	// status: 101 Switching Protocols
	// subprotocol: chat.v1
	// open: true
}

// A server accepts WebSocket connections with AcceptOptions: it speaks two subprotocols (its own
// order of preference wins over the client's), lets browser pages of *.example.com in besides its
// own origin, and adds a header to its 101 response. Two clients connect in turn: a page of
// app.example.com, which is accepted, and a page of another site, which the Origin check refuses
// with 403 Forbidden.
func ExampleStream_AsyncAccept() {
	ioc := executor.NewIOContext()
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		fmt.Println(err)
		return
	}
	opts := &websocket.AcceptOptions{
		Subprotocols:   []string{"chat.v2", "chat.v1"},
		OriginPatterns: []string{"*.example.com"},
		Decorate:       func(h http.Header) { h.Set("Server", "example") },
	}
	serverSaw := make([]string, 2) // what the server found on each connection, printed after Run
	var accept func(i int)
	accept = func(i int) {
		acceptor.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
			if r.Err != nil {
				return
			}
			ws := websocket.NewStream(r.Socket, nil)
			ws.AsyncAccept(opts, completion.Callback(func(err error) {
				if he, ok := errors.AsType[*websocket.HandshakeError](err); ok {
					// The client has had its answer; the socket is the server's to close.
					serverSaw[i] = fmt.Sprintf("refused: %v (%d)", err, he.StatusCode())
				} else if err == nil {
					serverSaw[i] = "accepted, subprotocol " + ws.Subprotocol()
				}
				r.Socket.Close() // a real server would read and write now, then AsyncClose
			}))
			if i+1 < len(serverSaw) {
				accept(i + 1)
			} else {
				acceptor.Close()
			}
		}))
	}
	accept(0)

	// dial connects a client from the first origin, reports what it got, and goes on with the
	// others.
	var dial func(origins []string)
	dial = func(origins []string) {
		if len(origins) == 0 {
			return
		}
		sock := net.NewTCPSocket(ioc)
		sock.AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
			if err != nil {
				fmt.Println("connect:", err)
				sock.Close()
				return
			}
			ws := websocket.NewStream(sock, nil)
			opts := &websocket.HandshakeOptions{
				Subprotocols: []string{"chat.v1", "chat.v2"},
				Decorate:     func(r *http.Request) { r.Header.Set("Origin", origins[0]) },
			}
			ws.AsyncHandshake("chat.example.com", "/", opts, completion.Callback(func(err error) {
				resp := ws.Response()
				fmt.Printf("%s: %s, subprotocol %q, Server %q, err %v\n",
					origins[0], resp.Status, ws.Subprotocol(), resp.Header.Get("Server"), err)
				sock.Close()
				dial(origins[1:])
			}))
		}))
	}
	dial([]string{"https://app.example.com", "https://elsewhere.test"})
	ioc.Run()
	for _, s := range serverSaw {
		fmt.Println("server:", s)
	}
	// Output:
	// https://app.example.com: 101 Switching Protocols, subprotocol "chat.v2", Server "example", err <nil>
	// https://elsewhere.test: 403 Forbidden, subprotocol "", Server "", err websocket: server declined the upgrade (status not 101)
	// server: accepted, subprotocol chat.v2
	// server: refused: websocket: cross-origin request refused (403)
}

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
