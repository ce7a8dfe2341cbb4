package websocket_test

import (
	"context"
	"errors"
	"io"
	stdnet "net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// running is an IOContext run by a goroutine of its own, kept running by a work guard until the
// test ends, for the blocking methods, which need the stream's executor run by another goroutine.
func running(t *testing.T) *executor.IOContext {
	t.Helper()
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	var wg sync.WaitGroup
	wg.Go(func() { ioc.Run() })
	t.Cleanup(func() { guard.Reset(); wg.Wait() })
	return ioc
}

// openBlocking opens a client and a server over a nettest pair with the blocking Handshake and
// Accept, each from a goroutine of its own.
func openBlocking(t *testing.T, ioc *executor.IOContext, cws, sws *websocket.Options) (client, server *websocket.Stream, cEnd, sEnd *nettest.Stream) {
	t.Helper()
	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	t.Cleanup(func() { a.Close(); b.Close() })
	client, server = websocket.NewStream(a, cws), websocket.NewStream(b, sws)
	var wg sync.WaitGroup
	var accErr error
	wg.Go(func() { accErr = server.Accept(context.Background(), nil) })
	hsErr := client.Handshake(context.Background(), "example.com", "/", nil)
	wg.Wait()
	if accErr != nil || hsErr != nil {
		t.Fatalf("Accept %v, Handshake %v", accErr, hsErr)
	}
	return client, server, a, b
}

// TestBBBlocking: the blocking methods carry messages, pings and the close as their Async forms
// do, from goroutines that are not the executor's.
func TestBBBlocking(t *testing.T) {
	ioc := running(t)
	client, server, _, _ := openBlocking(t, ioc, nil, nil)
	ctx := context.Background()
	var pongs []string
	var mu sync.Mutex
	client.SetControlCallback(func(k websocket.FrameType, b []byte) {
		mu.Lock()
		pongs = append(pongs, k.String()+":"+string(b))
		mu.Unlock()
	})
	var wg sync.WaitGroup
	var serverErr error
	var got []string
	wg.Go(func() {
		for {
			var buf net.FlatBuffer
			if _, err := server.Read(ctx, &buf); err != nil {
				serverErr = err
				return
			}
			got = append(got, string(buf.Bytes()))
			if n, err := server.WriteSome(ctx, true, buf.Bytes()); err != nil || n != buf.Size() {
				serverErr = err
				return
			}
		}
	})
	for _, m := range []string{"one", "two"} {
		if err := client.Write(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 10)
		n, err := client.ReadSome(ctx, b)
		if err != nil || string(b[:n]) != m {
			t.Fatalf("ReadSome %q %v", b[:n], err)
		}
		if !client.IsMessageDone() {
			// The message may end with a read of no bytes, after which IsMessageDone reports true.
			if n, err := client.ReadSome(ctx, b); n != 0 || err != nil || !client.IsMessageDone() {
				t.Fatalf("end of message: %d %v done %v", n, err, client.IsMessageDone())
			}
		}
	}
	if err := client.Ping(ctx, []byte("are you there")); err != nil {
		t.Fatal(err)
	}
	if err := client.Write(ctx, []byte("three")); err != nil {
		t.Fatal(err)
	}
	var buf net.FlatBuffer
	if n, err := client.Read(ctx, &buf); err != nil || n != 5 || !client.GotText() {
		t.Fatalf("Read %d %v", n, err)
	}
	if err := client.Close(ctx, websocket.CloseReason{Code: 1000, Reason: "bye"}); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if !errors.Is(serverErr, websocket.ErrClosed) || server.Reason().Reason != "bye" || strings.Join(got, ",") != "one,two,three" {
		t.Fatalf("server: %v, Reason %+v, got %v", serverErr, server.Reason(), got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pongs) != 1 || pongs[0] != websocket.FramePong.String()+":are you there" {
		t.Fatalf("client's control callback: %v", pongs)
	}
}

// TestBBBlockingFromHandler: a blocking method called from a handler running on the stream's
// executor (an IOContext run by one goroutine) returns ErrWouldDeadlock instead of waiting for ever.
func TestBBBlockingFromHandler(t *testing.T) {
	if !gid.Known {
		// ErrWouldDeadlock needs to know the calling goroutine; without goroutine identity the
		// blocking methods document that a call from a handler waits for ever.
		t.Skip("goroutine identity unknown (beastgo_nogid): the deadlock cannot be detected, as documented")
	}
	ioc := running(t)
	client, _, _, _ := openBlocking(t, ioc, nil, nil)
	ctx := context.Background()
	calls := map[string]func() error{
		"Write":  func() error { return client.Write(ctx, []byte("x")) },
		"Read":   func() error { _, err := client.Read(ctx, net.NewFlatBuffer(0)); return err },
		"Ping":   func() error { return client.Ping(ctx, nil) },
		"Close":  func() error { return client.Close(ctx, websocket.CloseReason{}) },
		"Accept": func() error { return websocket.NewStream(client.NextLayer(), nil).Accept(ctx, nil) },
	}
	for name, call := range calls {
		done := make(chan error, 1)
		ioc.Post(func() { done <- call() })
		if err := <-done; !errors.Is(err, websocket.ErrWouldDeadlock) {
			t.Fatalf("%s from a handler: %v, want ErrWouldDeadlock", name, err)
		}
	}
	if !client.IsOpen() {
		t.Fatal("a refused blocking call changed the stream")
	}
}

// TestBBBlockingCancelled: a blocking call whose context is done before it starts returns
// completion.Canceled(ctx) and changes nothing; a Read cancelled while in flight ends the stream
// with an error matching ctx.Err() and completion.ErrOperationAborted, which later calls return
// too; a Handshake cancelled in flight fails with ErrHandshake, ctx.Err() and ErrOperationAborted.
func TestBBBlockingCancelled(t *testing.T) {
	ioc := running(t)
	client, server, _, _ := openBlocking(t, ioc, nil, nil)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if err := client.Write(done, []byte("x")); !errors.Is(err, context.Canceled) || err.Error() != completion.Canceled(done).Error() {
		t.Fatalf("Write with a done context: %v", err)
	}
	if _, err := client.Read(done, net.NewFlatBuffer(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a done context: %v", err)
	}
	if !client.IsOpen() {
		t.Fatal("a call with a done context changed the stream")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := server.Read(ctx, net.NewFlatBuffer(0))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("Read past its deadline: %v", err)
	}
	if err2 := server.Write(context.Background(), []byte("x")); !errors.Is(err2, context.DeadlineExceeded) {
		t.Fatalf("Write after the cancelled read: %v, want the read's error", err2)
	}
	if _, err2 := server.Read(context.Background(), net.NewFlatBuffer(0)); !errors.Is(err2, context.DeadlineExceeded) {
		t.Fatalf("Read after the cancelled read: %v, want its error", err2)
	}
	if server.IsOpen() {
		t.Fatal("open after a cancelled read")
	}

	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer a.Close()
	defer b.Close()
	hctx, hcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer hcancel()
	err = websocket.NewStream(a, nil).Handshake(hctx, "example.com", "/", nil) // nobody answers
	if !errors.Is(err, websocket.ErrHandshake) || !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("Handshake past its deadline: %v", err)
	}
}

// TestBBUpgrade opens a server Stream with Upgrade under net/http's httptest server, configured by
// AcceptOptions.Stream: a message within its ReadMessageMax is read, one over it fails the read
// with ErrMessageTooBig, and the client's read sees the close code 1009. A request that is not an
// upgrade is refused through the ResponseWriter with 400 and an error matching ErrHandshake.
func TestBBUpgrade(t *testing.T) {
	ioc := running(t)
	type result struct {
		msg string
		err error
	}
	results := make(chan result, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := websocket.Upgrade(w, r, ioc, &websocket.AcceptOptions{Stream: &websocket.Options{ReadMessageMax: 8}})
		if err != nil {
			results <- result{err: err}
			return
		}
		for {
			var buf net.FlatBuffer
			_, err := s.Read(context.Background(), &buf)
			results <- result{string(buf.Bytes()), err}
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := <-results; resp.StatusCode != 400 || !errors.Is(r.err, websocket.ErrHandshake) {
		t.Fatalf("plain GET: status %d, Upgrade %v", resp.StatusCode, r.err)
	}

	conn, err := stdnet.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cs := net.FromConn(conn, ioc)
	defer cs.Close()
	client := websocket.NewStream(cs, nil)
	ctx := context.Background()
	if err := client.Handshake(ctx, srv.Listener.Addr().String(), "/", nil); err != nil {
		t.Fatal(err)
	}
	if err := client.Write(ctx, []byte("12345678")); err != nil {
		t.Fatal(err)
	}
	if r := <-results; r.err != nil || r.msg != "12345678" {
		t.Fatalf("server read %q %v", r.msg, r.err)
	}
	// The client reads while the server meets the violation: the server's teardown waits for the
	// client's end of the connection, which the client's read sends once it has the close frame.
	clientRead := make(chan error, 1)
	go func() {
		_, err := client.Read(ctx, net.NewFlatBuffer(0))
		clientRead <- err
	}()
	if err := client.Write(ctx, []byte("123456789")); err != nil {
		t.Fatal(err)
	}
	if r := <-results; !errors.Is(r.err, websocket.ErrMessageTooBig) {
		t.Fatalf("server read of 9 bytes: %v, want ErrMessageTooBig", r.err)
	}
	if err := <-clientRead; !errors.Is(err, websocket.ErrClosed) || client.Reason().Code != websocket.CloseTooBig {
		t.Fatalf("client read %v, Reason %+v; want ErrClosed with 1009", err, client.Reason())
	}
}

// TestBBNetConn: a NetConn sends a message per Write, reads messages as one stream of bytes,
// returns io.EOF once the peer closed normally, and Close runs the closing handshake; every call
// after Close returns an error matching net.ErrClosed. Over a nettest pair its addresses are
// placeholders of network "websocket".
func TestBBNetConn(t *testing.T) {
	ioc := running(t)
	client, server, _, _ := openBlocking(t, ioc, nil, nil)
	ctx := context.Background()
	nc := websocket.NetConn(ctx, client, websocket.OpBinary)
	if nc.LocalAddr().Network() != "websocket" || nc.RemoteAddr().Network() != "websocket" {
		t.Fatalf("addresses %v %v", nc.LocalAddr(), nc.RemoteAddr())
	}
	for _, m := range []string{"abc", "defg"} {
		if n, err := nc.Write([]byte(m)); n != len(m) || err != nil {
			t.Fatalf("Write %d %v", n, err)
		}
		var buf net.FlatBuffer
		if _, err := server.Read(ctx, &buf); err != nil || string(buf.Bytes()) != m || !server.GotBinary() {
			t.Fatalf("server Read %q %v binary %v", buf.Bytes(), err, server.GotBinary())
		}
	}
	server.SetBinary()
	for _, m := range []string{"hello ", "world"} {
		if err := server.Write(ctx, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := io.ReadAll(io.LimitReader(nc, 11))
	if err != nil || string(got) != "hello world" {
		t.Fatalf("NetConn read %q %v", got, err)
	}
	var wg sync.WaitGroup
	var serverErr error
	wg.Go(func() { _, serverErr = server.Read(ctx, net.NewFlatBuffer(0)) })
	if err := nc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if !errors.Is(serverErr, websocket.ErrClosed) || server.Reason().Code != websocket.CloseNormal {
		t.Fatalf("server: %v, Reason %+v", serverErr, server.Reason())
	}
	if err := nc.Close(); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("Write after Close: %v", err)
	}
	if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

// TestBBNetConnPeerClose: Read returns io.EOF after the peer's CloseNormal or CloseGoingAway, and
// ErrClosed after another code; Close then returns nil.
func TestBBNetConnPeerClose(t *testing.T) {
	for _, c := range []struct {
		code websocket.CloseCode
		eof  bool
	}{{websocket.CloseNormal, true}, {websocket.CloseGoingAway, true}, {4000, false}} {
		ioc := running(t)
		client, server, _, _ := openBlocking(t, ioc, nil, nil)
		nc := websocket.NetConn(context.Background(), client, websocket.OpText)
		var wg sync.WaitGroup
		var closeErr error
		wg.Go(func() { closeErr = server.Close(context.Background(), websocket.CloseReason{Code: c.code}) })
		_, err := nc.Read(make([]byte, 10))
		wg.Wait()
		if c.eof && err != io.EOF || !c.eof && !errors.Is(err, websocket.ErrClosed) || closeErr != nil {
			t.Fatalf("code %d: Read %v, server's Close %v", c.code, err, closeErr)
		}
		if err := nc.Close(); err != nil {
			t.Fatalf("code %d: Close after the peer's close: %v", c.code, err)
		}
	}
}

// TestBBNetConnTypeAndDeadline: a message of the other type fails the Read with
// ErrUnexpectedMessageType and closes the connection with 1003; a read deadline in the past fails
// a Read at once with os.ErrDeadlineExceeded (a Timeout error) and, moved, lets it read again.
func TestBBNetConnTypeAndDeadline(t *testing.T) {
	ioc := running(t)
	client, server, _, _ := openBlocking(t, ioc, nil, nil)
	ctx := context.Background()
	nc := websocket.NetConn(ctx, client, websocket.OpBinary)
	nc.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := nc.Read(make([]byte, 4))
	var te interface{ Timeout() bool }
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &te) || !te.Timeout() {
		t.Fatalf("Read past the deadline: %v", err)
	}
	nc.SetReadDeadline(time.Time{})
	server.SetBinary()
	if err := server.Write(ctx, []byte("bin")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if n, err := nc.Read(b); err != nil || string(b[:n]) != "bin" {
		t.Fatalf("Read after moving the deadline: %q %v", b[:n], err)
	}
	server.SetText()
	if err := server.Write(ctx, []byte("text")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var serverErr error
	wg.Go(func() { _, serverErr = server.Read(ctx, net.NewFlatBuffer(0)) })
	if _, err := nc.Read(b); !errors.Is(err, websocket.ErrUnexpectedMessageType) {
		t.Fatalf("Read of a text message: %v", err)
	}
	wg.Wait()
	if !errors.Is(serverErr, websocket.ErrClosed) || server.Reason().Code != websocket.CloseUnsupportedData {
		t.Fatalf("server: %v, Reason %+v; want 1003", serverErr, server.Reason())
	}
	nc.Close()
}

// TestBBNetConnDeadlineInFlight: a read deadline that passes while a Read waits fails it with
// os.ErrDeadlineExceeded and ends the stream: later calls fail, and Close returns.
func TestBBNetConnDeadlineInFlight(t *testing.T) {
	ioc := running(t)
	client, _, _, _ := openBlocking(t, ioc, nil, nil)
	nc := websocket.NetConn(context.Background(), client, websocket.OpBinary)
	nc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := nc.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read when the deadline passed: %v", err)
	}
	nc.SetDeadline(time.Time{})
	if _, err := nc.Write([]byte("x")); err == nil {
		t.Fatal("Write succeeded after a read was cancelled by its deadline")
	}
	if _, err := nc.Read(make([]byte, 4)); err == nil {
		t.Fatal("Read succeeded after a read was cancelled by its deadline")
	}
	if client.IsOpen() {
		t.Fatal("stream open after a read was cancelled by its deadline")
	}
	nc.Close()
}

// TestBBNetConnContext: once the NetConn's context is done, the Read in flight fails, later calls
// fail with the context's error (matching completion.ErrOperationAborted), the peer sees the
// connection closed with CloseGoingAway, and Close returns.
func TestBBNetConnContext(t *testing.T) {
	ioc := running(t)
	client, server, _, _ := openBlocking(t, ioc, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	nc := websocket.NetConn(ctx, client, websocket.OpBinary)
	var wg sync.WaitGroup
	var serverErr error
	wg.Go(func() { _, serverErr = server.Read(context.Background(), net.NewFlatBuffer(0)) })
	readErr := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 4))
		readErr <- err
	}()
	cancel()
	if err := <-readErr; err == nil {
		t.Fatal("Read in flight succeeded after the context ended")
	}
	if _, err := nc.Write([]byte("x")); !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("Write after the context ended: %v", err)
	}
	wg.Wait()
	if !errors.Is(serverErr, websocket.ErrClosed) || server.Reason().Code != websocket.CloseGoingAway {
		t.Fatalf("server: %v, Reason %+v; want 1001", serverErr, server.Reason())
	}
	nc.Close()
}

// TestBBBlockingCloseEndsRead: a Read in flight on another goroutine (its next-layer read
// started) ends with ErrClosed when Close runs, and the peer's Read with ErrClosed too.
func TestBBBlockingCloseEndsRead(t *testing.T) {
	ioc := running(t)
	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	t.Cleanup(func() { a.Close(); b.Close() })
	reading := make(chan int, 16)
	ca := &countingStream{Stream: a, before: func(n int) { reading <- n }}
	client, server := websocket.NewStream(ca, nil), websocket.NewStream(b, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	var accErr error
	wg.Go(func() { accErr = server.Accept(ctx, nil) })
	if err := client.Handshake(ctx, "example.com", "/", nil); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if accErr != nil {
		t.Fatal(accErr)
	}
	for len(reading) > 0 {
		<-reading
	}
	var clientErr, serverErr error
	wg.Go(func() { _, clientErr = client.Read(ctx, net.NewFlatBuffer(0)) })
	wg.Go(func() { _, serverErr = server.Read(ctx, net.NewFlatBuffer(0)) })
	<-reading // the client's Read is in flight: its next-layer read has started
	closeErr := client.Close(ctx, websocket.CloseReason{Code: 1000})
	wg.Wait()
	if closeErr != nil || !errors.Is(clientErr, websocket.ErrClosed) || !errors.Is(serverErr, websocket.ErrClosed) {
		t.Fatalf("Close %v, client's Read %v, server's Read %v", closeErr, clientErr, serverErr)
	}
}

// TestBBOverConns runs a connection over net.FromConn, on net.Pipe (whose conns cannot shut one
// direction down, so the teardown meets an error that the close must not report) and on TLS over
// loopback TCP (whose teardown sends close_notify): messages cross and both closes succeed.
func TestBBOverConns(t *testing.T) {
	for _, kind := range []string{"pipe", "tls"} {
		ioc := running(t)
		var c1, c2 stdnet.Conn
		if kind == "pipe" {
			c1, c2 = stdnet.Pipe()
		} else {
			c1, c2 = tlsPair(t)
		}
		a, b := net.FromConn(c1, ioc), net.FromConn(c2, ioc)
		client, server := websocket.NewStream(a, nil), websocket.NewStream(b, nil)
		ctx := context.Background()
		var wg sync.WaitGroup
		var accErr, readErr error
		var got net.FlatBuffer
		wg.Go(func() {
			if accErr = server.Accept(ctx, nil); accErr != nil {
				return
			}
			if _, readErr = server.Read(ctx, &got); readErr != nil {
				return
			}
			_, readErr = server.Read(ctx, net.NewFlatBuffer(0))
		})
		if err := client.Handshake(ctx, "example.com", "/", nil); err != nil {
			t.Fatalf("%s: Handshake %v", kind, err)
		}
		if err := client.Write(ctx, []byte("over "+kind)); err != nil {
			t.Fatalf("%s: Write %v", kind, err)
		}
		closeErr := client.Close(ctx, websocket.CloseReason{Code: 1000})
		wg.Wait()
		a.Close()
		b.Close()
		if accErr != nil || closeErr != nil || !errors.Is(readErr, websocket.ErrClosed) || string(got.Bytes()) != "over "+kind {
			t.Fatalf("%s: Accept %v, Close %v, server's reads %q %v", kind, accErr, closeErr, got.Bytes(), readErr)
		}
	}
}

// TestBBNetConnConcurrentAndUnlimited: concurrent Reads (and Writes) from several goroutines wait
// their turn instead of failing, and a NetConn reads a message larger than the stream's
// ReadMessageMax, in pieces.
func TestBBNetConnConcurrentAndUnlimited(t *testing.T) {
	ioc := running(t)
	client, server, _, _ := openBlocking(t, ioc, &websocket.Options{ReadMessageMax: 10}, nil)
	ctx := context.Background()
	nc := websocket.NetConn(ctx, client, websocket.OpBinary)
	server.SetBinary()
	big := make([]byte, 100)
	for i := range big {
		big[i] = byte(i)
	}
	if err := server.Write(ctx, big); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]byte, 4)
	errs := make([]error, 8)
	for i := range 4 {
		wg.Go(func() {
			b := make([]byte, 25)
			_, errs[i] = io.ReadFull(nc, b)
			got[i] = b
		})
		wg.Go(func() { _, errs[4+i] = nc.Write([]byte{byte(i)}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	sum := 0
	for _, b := range got {
		for _, c := range b {
			sum += int(c)
		}
	}
	if sum != 99*100/2 {
		t.Fatalf("the four reads did not share the message's bytes: %v", got)
	}
	seen := map[byte]bool{}
	for range 4 {
		var buf net.FlatBuffer
		if _, err := server.Read(ctx, &buf); err != nil || buf.Size() != 1 {
			t.Fatalf("server Read %v %v", buf.Bytes(), err)
		}
		seen[buf.Bytes()[0]] = true
	}
	if len(seen) != 4 {
		t.Fatalf("server read %v, want the four writes", seen)
	}
	var closeWG sync.WaitGroup
	closeWG.Go(func() { server.Read(ctx, net.NewFlatBuffer(0)) })
	if err := nc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closeWG.Wait()
}
