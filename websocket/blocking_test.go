package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// runContext returns an IOContext that a goroutine of its own runs, kept running by a work guard,
// until the test ends. Cleanups registered after this call run first, so they close what is pending
// on the context before the goroutine is waited for.
func runContext(t *testing.T) *executor.IOContext {
	t.Helper()
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ioc.Run()
	}()
	t.Cleanup(func() {
		guard.Reset()
		<-done
	})
	return ioc
}

// onExecutor runs f on ex and returns its result: how a test looks at a stream's state, which
// belongs to the stream's executor.
func onExecutor[T any](ex executor.Executor, f func() T) T {
	ch := make(chan T, 1)
	ex.Post(func() { ch <- f() })
	return <-ch
}

// waitUntil waits for cond, asked on ex, to hold: for an operation started by another goroutine
// to be in flight.
func waitUntil(ex executor.Executor, cond func() bool) {
	for !onExecutor(ex, cond) {
		runtime.Gosched()
	}
}

// transport makes the two connected next layers a test runs over, on ioc, closed when the test
// ends.
type transport struct {
	name string
	make func(t *testing.T, ioc *executor.IOContext) (client, server net.AsyncStream)
}

var transports = []transport{
	{"nettest", func(t *testing.T, ioc *executor.IOContext) (net.AsyncStream, net.AsyncStream) {
		return nettestEnds(t, ioc, nettest.Options{})
	}},
	{"nettest one byte at a time", func(t *testing.T, ioc *executor.IOContext) (net.AsyncStream, net.AsyncStream) {
		return nettestEnds(t, ioc, nettest.Options{ReadSize: 1, WriteSize: 1})
	}},
	{"tcp", func(t *testing.T, ioc *executor.IOContext) (net.AsyncStream, net.AsyncStream) {
		return tcpSockets(t, ioc)
	}},
	{"ConnStream over tcp", func(t *testing.T, ioc *executor.IOContext) (net.AsyncStream, net.AsyncStream) {
		return connStreams(t, ioc)
	}},
}

// connStreams returns the two ends of a loopback TCP connection of Go's net package, each seen as
// an AsyncStream through net.FromConn.
func connStreams(t *testing.T, ioc *executor.IOContext) (*net.ConnStream, *net.ConnStream) {
	t.Helper()
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, b, err := dialPair(ln)
	if err != nil {
		t.Fatal(err)
	}
	ca, cb := net.FromConn(a, ioc), net.FromConn(b, ioc)
	t.Cleanup(func() { ca.Close(); cb.Close() })
	return ca, cb
}

func nettestEnds(t *testing.T, ex executor.Executor, o nettest.Options) (net.AsyncStream, net.AsyncStream) {
	c, s := nettest.NewPair(ex, o, o)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// tcpSockets returns the two ends of a loopback TCP connection of beastgo's own sockets, served by
// ioc's reactor.
func tcpSockets(t *testing.T, ioc *executor.IOContext) (*net.TCPSocket, *net.TCPSocket) {
	t.Helper()
	acceptor := net.NewTCPAcceptor(ioc)
	if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	defer acceptor.Close()
	accepted := completion.NewFuture[net.AcceptResult]()
	acceptor.AsyncAccept(nil, accepted)
	client := net.NewTCPSocket(ioc)
	t.Cleanup(func() { client.Close() })
	if err := completion.Await(func(h completion.Handler[error]) { client.AsyncConnect(acceptor.Addr(), h) }); err != nil {
		t.Fatal(err)
	}
	a := accepted.Wait()
	if a.Err != nil {
		t.Fatal(a.Err)
	}
	t.Cleanup(func() { a.Socket.Close() })
	return client, a.Socket
}

// openStreams opens a client and a server Stream over cn and sn with the blocking Handshake and
// Accept, each on its own goroutine.
func openStreams(t *testing.T, cn, sn net.AsyncStream) (client, server *Stream) {
	t.Helper()
	return openStreamsOpts(t, cn, sn, nil)
}

// openStreamsOpts is openStreams with both streams configured by opts.
func openStreamsOpts(t *testing.T, cn, sn net.AsyncStream, opts *Options) (client, server *Stream) {
	t.Helper()
	client, server = NewStream(cn, opts), NewStream(sn, opts)
	ctx := context.Background()
	accepted := make(chan error, 1)
	go func() { accepted <- server.Accept(ctx, &AcceptOptions{Subprotocols: []string{"chat"}}) }()
	herr := client.Handshake(ctx, "example.com", "/", &HandshakeOptions{Subprotocols: []string{"chat"}})
	if aerr := <-accepted; herr != nil || aerr != nil {
		t.Fatalf("handshake: client %v, server %v", herr, aerr)
	}
	if client.Subprotocol() != "chat" || server.Subprotocol() != "chat" {
		t.Fatalf("subprotocol: client %q, server %q", client.Subprotocol(), server.Subprotocol())
	}
	return client, server
}

// TestBlockingMessages sends whole messages and fragments both ways with the blocking methods,
// from two goroutines at once, over each transport.
func TestBlockingMessages(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ioc := runContext(t)
			cn, sn := tr.make(t, ioc)
			client, server := openStreams(t, cn, sn)
			ctx := context.Background()

			// Whole messages: the client writes while the server reads and answers.
			big := bytes.Repeat([]byte("0123456789"), 10000)
			msgs := [][]byte{[]byte("hello"), {}, big}
			var wg sync.WaitGroup
			wg.Go(func() {
				for _, m := range msgs {
					if err := client.Write(ctx, m); err != nil {
						t.Errorf("client write: %v", err)
						return
					}
				}
			})
			for _, want := range msgs {
				var buf net.FlatBuffer
				n, err := server.Read(ctx, &buf)
				if err != nil || n != len(want) || !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("server read %d bytes, %v; want %d", n, err, len(want))
				}
				if !server.GotText() || !server.IsMessageDone() {
					t.Fatalf("text %v, done %v; want both", server.GotText(), server.IsMessageDone())
				}
			}
			wg.Wait()

			// A binary message in fragments, read a byte at a time.
			server.SetBinary()
			wg.Go(func() {
				for i, part := range []string{"ab", "", "cd"} {
					n, err := server.WriteSome(ctx, i == 2, []byte(part))
					if err != nil || n != len(part) {
						t.Errorf("server write some: %d, %v", n, err)
						return
					}
				}
			})
			var got []byte
			b := make([]byte, 1)
			for {
				n, err := client.ReadSome(ctx, b)
				if err != nil {
					t.Fatalf("client read some: %v", err)
				}
				got = append(got, b[:n]...)
				if client.IsMessageDone() {
					break
				}
			}
			wg.Wait()
			if string(got) != "abcd" || !client.GotBinary() {
				t.Fatalf("client read %q, binary %v; want \"abcd\", binary", got, client.GotBinary())
			}
		})
	}
}

// TestBlockingReadCancelled cancels a read in flight: it fails with an error matching both
// context.Canceled and completion.ErrOperationAborted, and the stream is ended, so a later write
// fails with the same error (Beast's terminal cancellation).
func TestBlockingReadCancelled(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	client, server := openStreams(t, cn, sn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := server.ReadSome(ctx, make([]byte, 16))
		done <- err
	}()
	waitUntil(ioc, func() bool { return server.rs.busy })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("read cancelled in flight: %v; want context.Canceled and ErrOperationAborted", err)
	}
	if err := server.Write(context.Background(), []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("write after a cancelled read: %v; want the read's cancellation", err)
	}
	if onExecutor(ioc, server.IsOpen) {
		t.Fatal("stream open after a cancelled read")
	}
	if !onExecutor(ioc, client.IsOpen) {
		t.Fatal("the peer's stream closed by a local cancellation")
	}
}

// TestBlockingDeadline gives a read a deadline that passes, before or after the read is in flight:
// either way the error matches context.DeadlineExceeded and completion.ErrOperationAborted.
func TestBlockingDeadline(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	_, server := openStreams(t, cn, sn)
	ctx, cancel := context.WithTimeout(context.Background(), 1)
	defer cancel()
	_, err := server.ReadSome(ctx, make([]byte, 16))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("read past its deadline: %v; want context.DeadlineExceeded and ErrOperationAborted", err)
	}
}

// TestBlockingCancelledBeforeStart calls each blocking method with a context already done: each
// returns the cancellation without starting anything, and the stream goes on working.
func TestBlockingCancelledBeforeStart(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	client, server := openStreams(t, cn, sn)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"Read":      func() error { _, err := server.Read(done, new(net.FlatBuffer)); return err },
		"ReadSome":  func() error { _, err := server.ReadSome(done, make([]byte, 1)); return err },
		"Write":     func() error { return client.Write(done, []byte("lost")) },
		"WriteSome": func() error { _, err := client.WriteSome(done, true, []byte("lost")); return err },
		"Handshake": func() error { return client.Handshake(done, "example.com", "/", nil) },
		"Accept":    func() error { return server.Accept(done, nil) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
			t.Errorf("%s with a done context: %v; want context.Canceled and ErrOperationAborted", name, err)
		}
	}
	ctx := context.Background()
	if err := client.Write(ctx, []byte("still open")); err != nil {
		t.Fatal(err)
	}
	var buf net.FlatBuffer
	if _, err := server.Read(ctx, &buf); err != nil || string(buf.Bytes()) != "still open" {
		t.Fatalf("read after the cancelled calls: %q, %v", buf.Bytes(), err)
	}
}

// TestBlockingHandshakeCancelled cancels an Accept waiting for a request that never comes: the
// failure is a handshake failure and a cancellation at once.
func TestBlockingHandshakeCancelled(t *testing.T) {
	ioc := runContext(t)
	_, sn := nettestEnds(t, ioc, nettest.Options{})
	server := NewStream(sn, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Accept(ctx, nil) }()
	waitUntil(ioc, func() bool { return server.hs != nil && server.hs.busy })
	cancel()
	err := <-done
	for _, target := range []error{ErrHandshake, context.Canceled, completion.ErrOperationAborted} {
		if !errors.Is(err, target) {
			t.Errorf("accept cancelled in flight: %v; want it to match %v", err, target)
		}
	}
}

// TestBlockingWouldDeadlock calls a blocking method from a handler running on the stream's
// executor, which nothing else runs: it returns ErrWouldDeadlock instead of waiting for ever, and
// leaves the stream as it was.
func TestBlockingWouldDeadlock(t *testing.T) {
	if !gid.Known {
		t.Skip("goroutines cannot be identified in this build: the executor cannot tell, and the call would wait for ever")
	}
	ioc := runContext(t)
	strand := executor.NewStrand(ioc)
	cases := []struct {
		name   string
		stream executor.Executor // the next layer's executor
		caller executor.Executor // where the blocking call is made from
	}{
		{"IOContext", ioc, ioc},
		{"Strand", strand, strand},
		{"Strand, called from its IOContext", strand, ioc},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cn, sn := nettestEnds(t, c.stream, nettest.Options{})
			client, server := openStreams(t, cn, sn)
			ctx := context.Background()
			err := onExecutor(c.caller, func() error {
				_, err := server.ReadSome(ctx, make([]byte, 1))
				return err
			})
			if !errors.Is(err, ErrWouldDeadlock) {
				t.Fatalf("blocking read from the executor: %v; want ErrWouldDeadlock", err)
			}
			if err := client.Write(ctx, []byte("after")); err != nil {
				t.Fatal(err)
			}
			var buf net.FlatBuffer
			if _, err := server.Read(ctx, &buf); err != nil || string(buf.Bytes()) != "after" {
				t.Fatalf("read after the refused call: %q, %v", buf.Bytes(), err)
			}
		})
	}
}

// TestBlockingExecutorNotRunning calls a blocking method on a stream whose executor nobody runs:
// the call's context ends the wait, and the operation, never started, does not start later.
func TestBlockingExecutorNotRunning(t *testing.T) {
	ioc := executor.NewIOContext() // nobody runs it
	cn, sn := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer cn.Close()
	defer sn.Close()
	s := NewStream(sn, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := s.ReadSome(ctx, make([]byte, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read on an executor nobody runs: %v; want the context's end", err)
	}
	// The read never started, so the stream is as it was: not open, and no read is busy.
	ioc.Poll()
	if s.rs.busy {
		t.Fatal("a read abandoned before it started left the stream busy")
	}
}

// TestBlockingPing sends pings with the blocking Ping: the peer's read sees each one (its control
// callback) and answers it, and this side's read consumes the pong. A payload over 125 bytes
// fails before anything is sent.
func TestBlockingPing(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	client, server := openStreams(t, cn, sn)
	seen := make(chan string, 2)
	report := func(who string) func(FrameType, []byte) {
		return func(kind FrameType, payload []byte) { seen <- fmt.Sprintf("%s %v %q", who, kind, payload) }
	}
	onExecutor(ioc, func() bool {
		server.SetControlCallback(report("server"))
		client.SetControlCallback(report("client"))
		return true
	})
	ctx := context.Background()
	if err := client.Ping(ctx, make([]byte, 126)); !errors.Is(err, ErrControlTooBig) {
		t.Fatalf("ping of 126 bytes: %v; want ErrControlTooBig", err)
	}
	if err := client.Ping(ctx, []byte("are you there")); err != nil {
		t.Fatal(err)
	}
	// The server's read answers the ping on its way to the message; the client's read consumes
	// the pong on its way to the reply.
	var wg sync.WaitGroup
	wg.Go(func() {
		var buf net.FlatBuffer
		if _, err := server.Read(ctx, &buf); err != nil {
			t.Errorf("server read: %v", err)
			return
		}
		if err := server.Write(ctx, buf.Bytes()); err != nil {
			t.Errorf("server write: %v", err)
		}
	})
	if err := client.Write(ctx, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	var buf net.FlatBuffer
	if _, err := client.Read(ctx, &buf); err != nil || string(buf.Bytes()) != "hi" {
		t.Fatalf("client read %q, %v", buf.Bytes(), err)
	}
	wg.Wait()
	got := []string{<-seen, <-seen}
	want := []string{fmt.Sprintf("server %v %q", FramePing, "are you there"), fmt.Sprintf("client %v %q", FramePong, "are you there")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("control frames seen (-want +got):\n%s", diff)
	}
}
