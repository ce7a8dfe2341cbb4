package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// The tests run the server with run() in the test process (started by startServer) and talk to
// it with clients made from the library, written as goroutines with the Stream's blocking methods
// (newClients). process_test.go runs the built program instead.

// testServer is a run() call in progress.
type testServer struct {
	addr   string
	cancel context.CancelFunc
	done   chan int // run's exit code
	stderr *syncBuffer

	once sync.Once
	code int
}

// startServer runs the server with args (after -addr 127.0.0.1:0) until the test ends, and waits
// for its "listening on" line.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &lineWriter{lines: make(chan string, 16)}
	s := &testServer{cancel: cancel, done: make(chan int, 1), stderr: new(syncBuffer)}
	go func() {
		s.done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), stdout, s.stderr)
	}()
	select {
	case line := <-stdout.lines:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("first line %q, want listening on ADDR", line)
		}
		s.addr = addr
	case code := <-s.done:
		t.Fatalf("run returned %d before listening; stderr:\n%s", code, s.stderr)
	}
	t.Cleanup(func() {
		if code := s.stop(); code != 0 {
			t.Errorf("run returned %d; stderr:\n%s", code, s.stderr)
		}
	})
	return s
}

// stop asks the server to shut down, as a signal does, and returns its exit code once it has.
func (s *testServer) stop() int {
	s.once.Do(func() {
		s.cancel()
		s.code = <-s.done
	})
	return s.code
}

// lineWriter sends each line written to it on lines.
type lineWriter struct {
	mu    sync.Mutex
	buf   []byte
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.lines <- string(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// clients is an IOContext, run by a goroutine of its own until the test ends, serving the test's
// client streams.
type clients struct {
	t   *testing.T
	ioc *executor.IOContext
}

func newClients(t *testing.T) *clients {
	t.Helper()
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc) // Run must not return while the test is between calls
	var running sync.WaitGroup
	running.Go(func() { ioc.Run() })
	t.Cleanup(func() {
		guard.Reset()
		running.Wait()
	})
	return &clients{t: t, ioc: ioc}
}

// connect returns a TCP socket connected to addr, closed when the test ends.
func (c *clients) connect(addr string) *net.TCPSocket {
	c.t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		c.t.Fatal(err)
	}
	sock := net.NewTCPSocket(c.ioc)
	c.t.Cleanup(func() { sock.Close() })
	if err := completion.Await(func(h completion.Handler[error]) { sock.AsyncConnect(ap, h) }); err != nil {
		c.t.Fatal(err)
	}
	return sock
}

// dial opens a WebSocket connection to the server at addr.
func (c *clients) dial(addr string, opts *websocket.Options) *websocket.Stream {
	c.t.Helper()
	ws := websocket.NewStream(c.connect(addr), opts)
	if err := ws.Handshake(context.Background(), addr, "/any/path?q=1", nil); err != nil {
		c.t.Fatal(err)
	}
	return ws
}

// dialTLS opens a wss:// connection to the server at addr, trusting the certificates in roots.
func (c *clients) dialTLS(addr string, roots *x509.CertPool) *websocket.Stream {
	c.t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		c.t.Fatal(err)
	}
	next := net.FromConn(conn, c.ioc)
	c.t.Cleanup(func() { next.Close() })
	ws := websocket.NewStream(next, nil)
	if err := ws.Handshake(context.Background(), addr, "/", nil); err != nil {
		c.t.Fatal(err)
	}
	return ws
}

// echo writes msg as a text or binary message and returns the message read back and whether it
// was text.
func echo(t *testing.T, ws *websocket.Stream, msg []byte, text bool) ([]byte, bool) {
	t.Helper()
	ctx := context.Background()
	if text {
		ws.SetText()
	} else {
		ws.SetBinary()
	}
	if err := ws.Write(ctx, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	var got net.FlatBuffer
	if _, err := ws.Read(ctx, &got); err != nil {
		t.Fatalf("read: %v", err)
	}
	return got.Bytes(), ws.GotText()
}

// checkEcho checks that msg comes back whole, with its type.
func checkEcho(t *testing.T, ws *websocket.Stream, msg []byte, text bool) {
	t.Helper()
	got, gotText := echo(t, ws, msg, text)
	if !bytes.Equal(got, msg) || gotText != text {
		t.Fatalf("echo of %d bytes (text %v): got %d bytes (text %v), equal %v", len(msg), text, len(got), gotText, bytes.Equal(got, msg))
	}
}

// readClosed reads until the server's close frame ends the connection, and returns the close
// frame's code and reason.
func readClosed(t *testing.T, ws *websocket.Stream) websocket.CloseReason {
	t.Helper()
	reason, err := awaitClose(ws)
	if err != nil {
		t.Fatal(err)
	}
	return reason
}

// awaitClose is readClosed for goroutines other than the test's: the read must fail with
// ErrClosed, else the error says how it failed.
func awaitClose(ws *websocket.Stream) (websocket.CloseReason, error) {
	for {
		var msg net.FlatBuffer
		_, err := ws.Read(context.Background(), &msg)
		if err == nil {
			continue
		}
		if !errors.Is(err, websocket.ErrClosed) {
			return websocket.CloseReason{}, fmt.Errorf("read: %w, want ErrClosed", err)
		}
		return ws.Reason(), nil
	}
}
