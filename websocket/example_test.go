package websocket_test

import (
	"errors"
	"fmt"
	"net/netip"

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

// An echo server and its client over loopback TCP, on one IOContext run by one goroutine. The
// server reads each message whole and writes it back as a message of the same kind, text or
// binary, until a read fails: with ErrClosed once the client has closed the connection, the read
// having answered the client's close frame and closed the socket. The client sends a text
// message and a binary one, prints the replies, and closes.
func Example_echo() {
	ioc := executor.NewIOContext()
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		fmt.Println(err)
		return
	}
	var serverEnd error // the error that ended the server's loop, printed once Run returns
	acceptor.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
		acceptor.Close()
		if r.Err != nil {
			return
		}
		ws := websocket.NewStream(r.Socket, nil)
		var msg net.FlatBuffer
		var echo func()
		echo = func() {
			ws.AsyncRead(&msg, completion.Callback(func(rd net.IOResult) {
				if rd.Err != nil {
					serverEnd = rd.Err
					return
				}
				if ws.GotText() {
					ws.SetText()
				} else {
					ws.SetBinary()
				}
				ws.AsyncWrite(msg.Bytes(), completion.Callback(func(wr net.IOResult) {
					msg.Consume(msg.Size())
					if wr.Err != nil {
						serverEnd = wr.Err
						return
					}
					echo()
				}))
			}))
		}
		ws.AsyncAccept(nil, completion.Callback(func(err error) {
			if err != nil {
				serverEnd = err
				r.Socket.Close()
				return
			}
			echo()
		}))
	}))

	sock := net.NewTCPSocket(ioc)
	var ws *websocket.Stream
	var reply net.FlatBuffer
	// roundTrip sends msg as text or binary, reads the reply and prints it, then calls next.
	roundTrip := func(msg []byte, text bool, next func()) {
		if text {
			ws.SetText()
		} else {
			ws.SetBinary()
		}
		ws.AsyncWrite(msg, completion.Callback(func(wr net.IOResult) {
			if wr.Err != nil {
				fmt.Println("write:", wr.Err)
				return
			}
			ws.AsyncRead(&reply, completion.Callback(func(rd net.IOResult) {
				if rd.Err != nil {
					fmt.Println("read:", rd.Err)
					return
				}
				fmt.Printf("echo of %d bytes: %q, text %v\n", rd.N, reply.Bytes(), ws.GotText())
				reply.Consume(reply.Size())
				next()
			}))
		}))
	}
	sock.AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
		if err != nil {
			fmt.Println("connect:", err)
			sock.Close()
			return
		}
		ws = websocket.NewStream(sock, nil)
		ws.AsyncHandshake("localhost", "/echo", nil, completion.Callback(func(err error) {
			if err != nil {
				fmt.Println("handshake:", err)
				sock.Close()
				return
			}
			roundTrip([]byte("hello"), true, func() {
				roundTrip([]byte{0xca, 0xfe}, false, func() {
					ws.AsyncClose(websocket.CloseReason{Code: websocket.CloseNormal}, completion.Callback(func(err error) {
						fmt.Println("client close:", err)
					}))
				})
			})
		}))
	}))
	ioc.Run()
	fmt.Println("server loop ended:", serverEnd, errors.Is(serverEnd, websocket.ErrClosed))
	// Output:
	// echo of 5 bytes: "hello", text true
	// echo of 2 bytes: "\xca\xfe", text false
	// client close: <nil>
	// server loop ended: websocket: connection closed true
}
