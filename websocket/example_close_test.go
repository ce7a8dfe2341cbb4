package websocket_test

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// The closing handshake over loopback TCP. The server has a read pending; the client has one too
// when it starts AsyncClose. The client's close frame reaches the server's read, which answers it
// with a close frame echoing its code, tears the connection down and fails with ErrClosed; the
// client's read discards what comes before the server's close frame and fails with ErrClosed too;
// and AsyncClose completes with nil once both close frames have crossed and the socket is closed.
// Each side's Reason is the other's close frame. The results are printed once Run returns, since
// the two sides' last handlers run in no set order.
func ExampleStream_AsyncClose() {
	ioc := executor.NewIOContext()
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		fmt.Println(err)
		return
	}
	var server, client *websocket.Stream
	var serverRead, serverWrite, clientRead, clientClose error
	var serverSaw string

	acceptor.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
		acceptor.Close()
		if r.Err != nil {
			return
		}
		server = websocket.NewStream(r.Socket, nil)
		server.SetControlCallback(func(kind websocket.FrameType, payload []byte) {
			serverSaw = fmt.Sprintf("%v frame, reason %q", kind, payload)
		})
		server.AsyncAccept(nil, completion.Callback(func(err error) {
			if err != nil {
				r.Socket.Close()
				return
			}
			server.AsyncRead(new(net.FlatBuffer), completion.Callback(func(rd net.IOResult) {
				serverRead = rd.Err
				// The stream is over: every later operation fails with ErrClosed.
				server.AsyncWrite([]byte("too late"), completion.Callback(func(wr net.IOResult) {
					serverWrite = wr.Err
				}))
			}))
			// The read is pending: tell the client it may close.
			server.AsyncWrite([]byte("ready"), completion.Callback(func(net.IOResult) {}))
		}))
	}))

	sock := net.NewTCPSocket(ioc)
	sock.AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
		if err != nil {
			fmt.Println("connect:", err)
			sock.Close()
			return
		}
		client = websocket.NewStream(sock, nil)
		client.AsyncHandshake("localhost", "/", nil, completion.Callback(func(err error) {
			if err != nil {
				fmt.Println("handshake:", err)
				sock.Close()
				return
			}
			client.AsyncRead(new(net.FlatBuffer), completion.Callback(func(rd net.IOResult) {
				if rd.Err != nil {
					fmt.Println("read:", rd.Err)
					return
				}
				client.AsyncRead(new(net.FlatBuffer), completion.Callback(func(rd net.IOResult) {
					clientRead = rd.Err
				}))
				reason := websocket.CloseReason{Code: websocket.CloseNormal, Reason: "done"}
				client.AsyncClose(reason, completion.Callback(func(err error) {
					clientClose = err
				}))
			}))
		}))
	}))
	ioc.Run()

	fmt.Println("client read: ", clientRead)
	fmt.Println("client close:", clientClose)
	fmt.Printf("client Reason: %d %q\n", client.Reason().Code, client.Reason().Reason)
	fmt.Println("server saw:  ", serverSaw)
	fmt.Println("server read: ", serverRead)
	fmt.Println("server write:", serverWrite)
	fmt.Printf("server Reason: %d %q\n", server.Reason().Code, server.Reason().Reason)
	// Output:
	// client read:  websocket: connection closed
	// client close: <nil>
	// client Reason: 1000 ""
	// server saw:   close frame, reason "done"
	// server read:  websocket: connection closed
	// server write: websocket: connection closed
	// server Reason: 1000 "done"
}

// A peer that never answers the close frame cannot hold the close for ever: past
// Options.CloseTimeout (5 s when zero; 50 ms here) the socket is closed. The client has a read
// pending, which is the first operation to see the timeout and fails with ErrTimeout; AsyncClose,
// waiting behind that read, fails with an abort caused by it, matching both ErrTimeout and
// completion.ErrOperationAborted.
func ExampleOptions_closeTimeout() {
	ioc := executor.NewIOContext()
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		fmt.Println(err)
		return
	}
	var silent *net.TCPSocket // the server: it accepts the WebSocket, then never reads
	acceptor.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
		acceptor.Close()
		if r.Err != nil {
			return
		}
		silent = r.Socket
		websocket.NewStream(r.Socket, nil).AsyncAccept(nil, completion.Callback(func(error) {}))
	}))

	var readErr, closeErr error
	sock := net.NewTCPSocket(ioc)
	sock.AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
		if err != nil {
			fmt.Println("connect:", err)
			sock.Close()
			return
		}
		ws := websocket.NewStream(sock, &websocket.Options{CloseTimeout: 50 * time.Millisecond})
		ws.AsyncHandshake("localhost", "/", nil, completion.Callback(func(err error) {
			if err != nil {
				fmt.Println("handshake:", err)
				sock.Close()
				return
			}
			ws.AsyncRead(new(net.FlatBuffer), completion.Callback(func(rd net.IOResult) { readErr = rd.Err }))
			ws.AsyncClose(websocket.CloseReason{Code: websocket.CloseGoingAway}, completion.Callback(func(err error) {
				closeErr = err
			}))
		}))
	}))
	ioc.Run()
	if silent != nil {
		silent.Close()
	}
	for _, e := range []struct {
		op  string
		err error
	}{{"read", readErr}, {"close", closeErr}} {
		fmt.Printf("%s: %v (ErrTimeout %v, aborted %v)\n", e.op, e.err,
			errors.Is(e.err, websocket.ErrTimeout), errors.Is(e.err, completion.ErrOperationAborted))
	}
	// Output:
	// read: websocket: timeout (ErrTimeout true, aborted false)
	// close: websocket: operation aborted: websocket: timeout (ErrTimeout true, aborted true)
}
