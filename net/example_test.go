package net_test

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

// echoOnce reads one message from s, writes it back and closes s.
func echoOnce(s *net.TCPSocket) {
	buf := make([]byte, 64)
	s.AsyncReadSome(buf, completion.Callback(func(r net.IOResult) {
		if r.Err != nil {
			s.Close()
			return
		}
		net.AsyncWrite(s, buf[:r.N], completion.Callback(func(net.IOResult) { s.Close() }))
	}))
}

// A TCP echo over loopback, client and server on one IOContext run by one goroutine: every
// handler, socket completion and wait runs on the goroutine that calls Run.
func Example() {
	ioc := executor.NewIOContext()
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(loopback, 0); err != nil {
		fmt.Println(err)
		return
	}
	acceptor.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
		acceptor.Close()
		if r.Err == nil {
			echoOnce(r.Socket)
		}
	}))

	client := net.NewTCPSocket(ioc)
	reply := make([]byte, 5)
	client.AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
		if err != nil {
			fmt.Println(err)
			return
		}
		net.AsyncWrite(client, []byte("hello"), completion.Callback(func(net.IOResult) {
			net.AsyncRead(client, reply, completion.Callback(func(r net.IOResult) {
				fmt.Printf("echoed %q, err %v\n", reply[:r.N], r.Err)
				client.Close()
			}))
		}))
	}))
	ioc.Run() // returns once nothing is pending: every socket is closed
	// Output: echoed "hello", err <nil>
}

// An IOContext per core, each run by one goroutine, as Asio advises for scaling: the acceptor
// hands each new connection to the next context, and each connection's handlers run on that
// context's goroutine only. Here two contexts serve four connections.
func Example_contextPerCore() {
	contexts := []*executor.IOContext{executor.NewIOContext(), executor.NewIOContext()}
	served := make([]int, len(contexts)) // served[i] is touched only by context i's goroutine
	acceptor := net.NewTCPAcceptor(contexts[0])
	if err := acceptor.Listen(loopback, 0); err != nil {
		fmt.Println(err)
		return
	}
	const conns = 4
	accepted := 0
	var accept func()
	accept = func() {
		i := accepted % len(contexts)
		acceptor.AsyncAccept(contexts[i], completion.Callback(func(r net.AcceptResult) {
			if r.Err != nil {
				return
			}
			// The socket is bound to contexts[i]: its handlers run there, so this is the only
			// place served[i] is written from.
			contexts[i].Post(func() {
				served[i]++
				echoOnce(r.Socket)
			})
			if accepted++; accepted < conns {
				accept()
			} else {
				acceptor.Close()
			}
		}))
	}
	accept()

	// The clients, on a context of their own.
	clients := executor.NewIOContext()
	var replies sync.WaitGroup
	for range conns {
		c := net.NewTCPSocket(clients)
		buf := make([]byte, 2)
		replies.Add(1)
		c.AsyncConnect(acceptor.Addr(), completion.Callback(func(err error) {
			net.AsyncWrite(c, []byte("hi"), completion.Callback(func(net.IOResult) {
				net.AsyncRead(c, buf, completion.Callback(func(net.IOResult) {
					c.Close()
					replies.Done()
				}))
			}))
		}))
	}

	var wg sync.WaitGroup
	for _, ctx := range append(contexts, clients) {
		// A context with nothing pending yet would return at once: the guard keeps it running
		// until the clients are done.
		guard := executor.MakeWorkGuard(ctx)
		wg.Go(func() { ctx.Run() })
		wg.Go(func() {
			replies.Wait()
			guard.Reset()
		})
	}
	wg.Wait()
	fmt.Println("connections served per context:", served)
	// Output: connections served per context: [2 2]
}

// Timers fire in the order of their deadlines; a cancelled wait completes with
// ErrOperationAborted.
func ExampleSteadyTimer() {
	ioc := executor.NewIOContext()
	late, early, cancelled := net.NewSteadyTimer(ioc), net.NewSteadyTimer(ioc), net.NewSteadyTimer(ioc)
	late.ExpiresAfter(20 * time.Millisecond)
	early.ExpiresAfter(10 * time.Millisecond)
	cancelled.ExpiresAfter(time.Hour)
	report := func(name string) completion.Func[error] {
		return func(err error) { fmt.Println(name, err) }
	}
	late.AsyncWait(report("late"))
	early.AsyncWait(report("early"))
	cancelled.AsyncWait(report("cancelled"))
	cancelled.Cancel()
	ioc.Run()
	// Output:
	// cancelled completion: operation aborted
	// early <nil>
	// late <nil>
}

// A frame's header and payload written with one gather write, neither copied into the other: on a
// socket that is one writev(2). Here the stream is nettest's, whose gather write is one operation.
func ExampleAsyncWriteBuffers() {
	ioc := executor.NewIOContext()
	client, server := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	header := []byte{0x81, 5} // a text frame of 5 bytes
	payload := []byte("hello")
	net.AsyncWriteBuffers(client, [][]byte{header, payload}, completion.Callback(func(r net.IOResult) {
		fmt.Printf("wrote %d bytes, err %v; the peer has %q\n", r.N, r.Err, server.Unread())
	}))
	ioc.Run()
	// Output: wrote 7 bytes, err <nil>; the peer has "\x81\x05hello"
}

// The end of a connection as a websocket close ends it: each side shuts its sending side down,
// reads to the other's end of stream, and closes.
func ExampleAsyncTeardown() {
	ioc := executor.NewIOContext()
	client, server := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	net.AsyncTeardown(client, completion.Callback(func(err error) { fmt.Println("client:", err) }))
	net.AsyncTeardown(server, completion.Callback(func(err error) { fmt.Println("server:", err) }))
	ioc.Run()
	// Unordered output:
	// client: <nil>
	// server: <nil>
}
