package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// Every socket the server opened is closed once run has returned, however its connection ended:
// a client that vanished, one still in its handshake, one closed by the shutdown, one that never
// answers the shutdown's close frame, and one whose own close the shutdown meets while the server
// is still tearing the connection down. The last two hold the shutdown until the server's close
// timeout.
func TestSocketsClosed(t *testing.T) {
	before := openSockets(t)
	// The two servers run at once, since each waits for its close timeout; the group ends when
	// both have, and the clients' sockets are closed as their subtests end.
	t.Run("group", func(t *testing.T) {
		t.Run("shutdown", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			c := newClients(t)

			vanished := c.dial(srv.addr, nil)
			checkEcho(t, vanished, []byte("gone"), true)
			vanished.NextLayer().(io.Closer).Close()

			c.connect(srv.addr) // no upgrade request

			open := c.dial(srv.addr, nil)
			checkEcho(t, open, []byte("open"), false)
			var reading sync.WaitGroup
			var readErr error
			reading.Go(func() { _, readErr = awaitClose(open) })

			silent := c.dial(srv.addr, nil) // never reads again, so never answers
			checkEcho(t, silent, []byte("then silence"), false)

			if code := srv.stop(); code != 0 {
				t.Fatalf("run returned %d", code)
			}
			reading.Wait()
			if readErr != nil {
				t.Fatal(readErr)
			}
			// The server's close frame waits in the silent client's socket, then the end of the
			// connection: the read finds the frame, and fails one way or another as it answers
			// a server that has gone.
			_, err := silent.Read(context.Background(), new(net.FlatBuffer))
			if err == nil || silent.Reason().Code != websocket.CloseGoingAway {
				t.Fatalf("silent client's read: %v, close frame %+v; want an end with 1001", err, silent.Reason())
			}
		})
		t.Run("close in its teardown", func(t *testing.T) {
			t.Parallel()
			srv := startServer(t)
			c := newClients(t)
			// The client sends its close frame by hand, reads the server's reply and end of
			// stream, and never ends its own side: the server's teardown waits for it.
			halfClosed := c.dial(srv.addr, nil)
			checkEcho(t, halfClosed, []byte("closing"), true)
			sock := halfClosed.NextLayer().(*net.TCPSocket)
			closeFrame := []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8} // masked with a zero key: 1000
			if r := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(sock, closeFrame, h) }); r.Err != nil {
				t.Fatal(r.Err)
			}
			for {
				r := completion.Await(func(h completion.Handler[net.IOResult]) { sock.AsyncReadSome(make([]byte, 64), h) })
				if errors.Is(r.Err, io.EOF) {
					break
				}
				if r.Err != nil {
					t.Fatal(r.Err)
				}
			}
			if code := srv.stop(); code != 0 {
				t.Fatalf("run returned %d", code)
			}
		})
	})
	if after := openSockets(t); after != before {
		t.Fatalf("%d sockets open before the servers ran, %d after", before, after)
	}
}

// openSockets counts the process's open socket descriptors.
func openSockets(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}
