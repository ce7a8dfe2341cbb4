package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// netConnPair opens a client and a server Stream over cn and sn and returns binary NetConns over
// them (the streams too, for a test to look at).
func netConnPair(t *testing.T, cn, sn net.AsyncStream, opts *Options) (cc, sc stdnet.Conn, client, server *Stream) {
	t.Helper()
	client, server = openStreamsOpts(t, cn, sn, opts)
	ctx := context.Background()
	return NetConn(ctx, client, OpBinary), NetConn(ctx, server, OpBinary), client, server
}

// readN reads exactly n bytes from c in reads of at most chunk bytes.
func readN(c stdnet.Conn, n, chunk int) ([]byte, error) {
	got := make([]byte, 0, n)
	b := make([]byte, chunk)
	for len(got) < n {
		k, err := c.Read(b[:min(chunk, n-len(got))])
		got = append(got, b[:k]...)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

// closeBoth closes two NetConns at once, since each one's closing handshake needs the other side
// to answer, and returns their errors.
func closeBoth(a, b stdnet.Conn) (error, error) {
	ch := make(chan error, 1)
	go func() { ch <- b.Close() }()
	ea := a.Close()
	return ea, <-ch
}

// TestNetConnStream carries bytes both ways at once, over each transport: each side writes
// messages on one goroutine while another reads the peer's in small pieces that cut across the
// messages. Then one side closes, the other reads io.EOF, and both Closes succeed.
func TestNetConnStream(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ioc := runContext(t)
			cn, sn := tr.make(t, ioc)
			cc, sc, _, _ := netConnPair(t, cn, sn, nil)
			var sent bytes.Buffer
			for i := range 100 {
				fmt.Fprintf(&sent, "message %d;", i)
			}
			sent.Write(bytes.Repeat([]byte{0xff}, 10000))
			want := sent.Bytes()
			var wg sync.WaitGroup
			for _, c := range []stdnet.Conn{cc, sc} {
				wg.Go(func() { // the writer: one message per Write, empty ones included
					for rest := want; len(rest) > 0; {
						k := min(len(rest), 7+len(rest)%5000)
						if n, err := c.Write(rest[:k]); err != nil || n != k {
							t.Errorf("write: %d, %v", n, err)
							return
						}
						if _, err := c.Write(nil); err != nil {
							t.Errorf("empty write: %v", err)
							return
						}
						rest = rest[k:]
					}
				})
				wg.Go(func() { // the reader, 3 bytes at a time
					got, err := readN(c, len(want), 3)
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("read %d bytes of %d, %v", len(got), len(want), err)
					}
				})
			}
			wg.Wait()

			// The client closes; the server's read sees the close frame and ends with io.EOF.
			closed := make(chan error, 1)
			go func() { closed <- cc.Close() }()
			for range 2 {
				if n, err := sc.Read(make([]byte, 1)); n != 0 || err != io.EOF {
					t.Fatalf("server read after the client's close: %d, %v; want io.EOF", n, err)
				}
			}
			if err := <-closed; err != nil {
				t.Fatalf("client close: %v", err)
			}
			if err := sc.Close(); err != nil {
				t.Fatalf("server close after the client's: %v", err)
			}
		})
	}
}

// TestNetConnConcurrentWrites writes records from several goroutines at once: each Write is one
// message, so the reader finds every record whole.
func TestNetConnConcurrentWrites(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{ReadSize: 5})
	cc, sc, _, _ := netConnPair(t, cn, sn, nil)
	const writers, records, size = 4, 50, 16
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range records {
				rec := fmt.Sprintf("w%d r%011d|", w, i)
				if _, err := cc.Write([]byte(rec)); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		})
	}
	got, err := readN(sc, writers*records*size, 7)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for rec := range slices.Chunk(got, size) {
		var w, i int
		if _, err := fmt.Sscanf(string(rec), "w%d r%d|", &w, &i); err != nil || seen[string(rec)] {
			t.Fatalf("record %q torn or repeated (%v)", rec, err)
		}
		seen[string(rec)] = true
	}
	if err1, err2 := closeBoth(cc, sc); err1 != nil || err2 != nil {
		t.Fatalf("close: %v, %v", err1, err2)
	}
}

// TestNetConnCloseCodes reads the peer's close: io.EOF for CloseNormal and CloseGoingAway, the
// stream's ErrClosed, with its Reason, for any other code.
func TestNetConnCloseCodes(t *testing.T) {
	for _, code := range []CloseCode{CloseNormal, CloseGoingAway, ClosePolicyViolation, CloseNone} {
		t.Run(code.String(), func(t *testing.T) {
			ioc := runContext(t)
			cn, sn := nettestEnds(t, ioc, nettest.Options{})
			client, server := openStreams(t, cn, sn)
			sc := NetConn(context.Background(), server, OpBinary)
			closed := make(chan error, 1)
			go func() { closed <- client.Close(context.Background(), CloseReason{Code: code}) }()
			_, err := sc.Read(make([]byte, 8))
			if code == CloseNormal || code == CloseGoingAway {
				if err != io.EOF {
					t.Fatalf("read after the peer's %v: %v; want io.EOF", code, err)
				}
			} else if !errors.Is(err, ErrClosed) || err == io.EOF {
				t.Fatalf("read after the peer's %v: %v; want ErrClosed", code, err)
			}
			if err := <-closed; err != nil {
				t.Fatalf("peer's close: %v", err)
			}
			if err := sc.Close(); err != nil {
				t.Fatalf("close after the peer's: %v", err)
			}
		})
	}
}

// TestNetConnCloseEndsCalls closes a NetConn while a Read is blocked in it: the Read ends with
// net.ErrClosed, Close succeeds once the peer answers, and every later call fails with
// net.ErrClosed, a second Close included.
func TestNetConnCloseEndsCalls(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	cc, sc, _, server := netConnPair(t, cn, sn, nil)
	read := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 8))
		read <- err
	}()
	waitUntil(ioc, func() bool { return server.rs.busy })
	peer := make(chan error, 1)
	go func() { // the peer answers the close frame when it reads it
		_, err := cc.Read(make([]byte, 8))
		peer <- err
	}()
	if err := sc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-read; !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("read blocked during close: %v; want net.ErrClosed", err)
	}
	if err := <-peer; err != io.EOF {
		t.Fatalf("peer's read: %v; want io.EOF", err)
	}
	if err := sc.Close(); !errors.Is(err, stdnet.ErrClosed) {
		t.Errorf("second close: %v; want net.ErrClosed", err)
	}
	if _, err := sc.Read(make([]byte, 1)); !errors.Is(err, stdnet.ErrClosed) {
		t.Errorf("read after close: %v; want net.ErrClosed", err)
	}
	if _, err := sc.Write([]byte("x")); !errors.Is(err, stdnet.ErrClosed) {
		t.Errorf("write after close: %v; want net.ErrClosed", err)
	}
	if err := cc.Close(); err != nil {
		t.Errorf("peer's close after its EOF: %v", err)
	}
}

// TestNetConnCloseTimeout closes a NetConn whose peer never answers: the close gives up after
// the stream's close timeout with ErrTimeout, and the calls in flight end.
func TestNetConnCloseTimeout(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	_, sc, _, _ := netConnPair(t, cn, sn, &Options{CloseTimeout: 10 * time.Millisecond})
	if err := sc.Close(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("close with a silent peer: %v; want ErrTimeout", err)
	}
}

// TestNetConnCloseBehindStuckWrite closes a NetConn whose Write is stuck behind a peer that
// reads nothing, over TCP: the close cannot take its turn, gives up after the close timeout and
// closes the connection hard, which ends the Write.
func TestNetConnCloseBehindStuckWrite(t *testing.T) {
	ioc := runContext(t)
	cn, sn := tcpSockets(t, ioc)
	_, sc, _, server := netConnPair(t, cn, sn, &Options{CloseTimeout: 10 * time.Millisecond})
	wrote := make(chan error, 1)
	go func() {
		_, err := sc.Write(make([]byte, 64<<20))
		wrote <- err
	}()
	waitUntil(ioc, func() bool { return server.wrBusy })
	if err := sc.Close(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("close behind a stuck write: %v; want ErrTimeout", err)
	}
	if err := <-wrote; err == nil {
		t.Fatal("stuck write succeeded")
	}
}

// isTimeout reports whether err is a net.Conn's deadline error: os.ErrDeadlineExceeded, and a
// net.Error whose Timeout reports true.
func isTimeout(err error) bool {
	var ne stdnet.Error
	return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
}

// TestNetConnDeadlinePassed sets deadlines already passed: the calls fail at once with a timeout,
// the connection stays usable, and moving the deadline lets the calls through again.
func TestNetConnDeadlinePassed(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	cc, sc, _, _ := netConnPair(t, cn, sn, nil)
	past := time.Now().Add(-time.Second)
	sc.SetReadDeadline(past)
	cc.SetWriteDeadline(past)
	if _, err := sc.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("read past its deadline: %v; want a timeout", err)
	}
	if _, err := cc.Write([]byte("x")); !isTimeout(err) {
		t.Fatalf("write past its deadline: %v; want a timeout", err)
	}
	sc.SetReadDeadline(time.Time{})
	cc.SetDeadline(time.Now().Add(time.Hour))
	if _, err := cc.Write([]byte("after")); err != nil {
		t.Fatalf("write with its deadline moved: %v", err)
	}
	if got, err := readN(sc, 5, 5); err != nil || string(got) != "after" {
		t.Fatalf("read with its deadline cleared: %q, %v", got, err)
	}
	if err1, err2 := closeBoth(cc, sc); err1 != nil || err2 != nil {
		t.Fatalf("close: %v, %v", err1, err2)
	}
}

// TestNetConnDeadlineInFlight lets a read deadline pass while a Read is blocked: the Read fails
// with a timeout, and since a cancelled operation ends the stream, so does every later call.
func TestNetConnDeadlineInFlight(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	_, sc, _, server := netConnPair(t, cn, sn, nil)
	read := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 8))
		read <- err
	}()
	waitUntil(ioc, func() bool { return server.rs.busy })
	sc.SetReadDeadline(time.Now())
	err := <-read
	if !isTimeout(err) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("read whose deadline passed in flight: %v; want a timeout and an abort", err)
	}
	if _, err := sc.Write([]byte("x")); err == nil {
		t.Fatal("write after a read ended by its deadline succeeded")
	}
	if onExecutor(ioc, server.IsOpen) {
		t.Fatal("stream open after a read ended by its deadline")
	}
	sc.Close()
}

// TestNetConnDeadlineLater sets a read deadline a little ahead and reads: the Read ends with a
// timeout, whether the deadline passed before the read started or while it waited.
func TestNetConnDeadlineLater(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	_, sc, _, _ := netConnPair(t, cn, sn, nil)
	sc.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	if _, err := sc.Read(make([]byte, 8)); !isTimeout(err) {
		t.Fatalf("read past its deadline: %v; want a timeout", err)
	}
	sc.Close()
}

// TestNetConnContextEnd ends a NetConn's context: with a Read blocked, the Read fails with the
// cancellation and later calls too; with nothing in flight, the NetConn closes with
// CloseGoingAway, which the peer reads as io.EOF.
func TestNetConnContextEnd(t *testing.T) {
	t.Run("read in flight", func(t *testing.T) {
		ioc := runContext(t)
		cn, sn := nettestEnds(t, ioc, nettest.Options{})
		client, server := openStreams(t, cn, sn)
		ctx, cancel := context.WithCancel(context.Background())
		sc := NetConn(ctx, server, OpBinary)
		read := make(chan error, 1)
		go func() {
			_, err := sc.Read(make([]byte, 8))
			read <- err
		}()
		waitUntil(ioc, func() bool { return server.rs.busy })
		cancel()
		if err := <-read; !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
			t.Fatalf("read when the context ended: %v; want context.Canceled and ErrOperationAborted", err)
		}
		if _, err := sc.Write([]byte("x")); !errors.Is(err, context.Canceled) {
			t.Fatalf("write after the context ended: %v; want context.Canceled", err)
		}
		sc.Close() // the stream had ended: there was no handshake to run, and Close says so
		if _, err := client.ReadSome(context.Background(), make([]byte, 1)); err == nil {
			t.Fatal("the peer read from a connection whose other end was closed")
		}
	})
	t.Run("idle", func(t *testing.T) {
		ioc := runContext(t)
		cn, sn := nettestEnds(t, ioc, nettest.Options{})
		client, server := openStreams(t, cn, sn)
		ctx, cancel := context.WithCancel(context.Background())
		sc := NetConn(ctx, server, OpBinary)
		cc := NetConn(context.Background(), client, OpBinary)
		cancel()
		if _, err := cc.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("peer's read: %v; want io.EOF", err)
		}
		if client.Reason().Code != CloseGoingAway {
			t.Fatalf("peer got %v; want CloseGoingAway", client.Reason())
		}
		if err := sc.Close(); err != nil {
			t.Fatalf("close after the context's: %v", err)
		}
		if _, err := sc.Read(make([]byte, 1)); !errors.Is(err, stdnet.ErrClosed) {
			t.Fatalf("read after close: %v; want net.ErrClosed", err)
		}
		cc.Close()
	})
}

// TestNetConnMessageType sends a text message to a binary NetConn: its Read fails with
// ErrUnexpectedMessageType, and the NetConn closes the connection with CloseUnsupportedData.
func TestNetConnMessageType(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	client, server := openStreams(t, cn, sn)
	sc := NetConn(context.Background(), server, OpBinary)
	ctx := context.Background()
	if err := client.Write(ctx, []byte("text")); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Read(make([]byte, 8)); !errors.Is(err, ErrUnexpectedMessageType) {
		t.Fatalf("read of a text message: %v; want ErrUnexpectedMessageType", err)
	}
	if _, err := client.ReadSome(ctx, make([]byte, 8)); !errors.Is(err, ErrClosed) {
		t.Fatalf("peer's read: %v; want ErrClosed", err)
	}
	if code := onExecutor(ioc, client.Reason).Code; code != CloseUnsupportedData {
		t.Fatalf("peer got close code %v; want %v", code, CloseUnsupportedData)
	}
	if err := sc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// TestNetConnBadMessageType makes a NetConn of a type that is not a data message's: its calls
// fail instead of sending anything.
func TestNetConnBadMessageType(t *testing.T) {
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	client, server := openStreams(t, cn, sn)
	sc := NetConn(context.Background(), server, OpPing)
	if _, err := sc.Write([]byte("x")); err == nil {
		t.Error("write on a NetConn of OpPing succeeded")
	}
	if _, err := sc.Read(make([]byte, 1)); err == nil {
		t.Error("read on a NetConn of OpPing succeeded")
	}
	// Nothing was sent: the peer's first read meets the close frame.
	peer := make(chan error, 1)
	go func() {
		_, err := client.ReadSome(context.Background(), make([]byte, 1))
		peer <- err
	}()
	if err := sc.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-peer; !errors.Is(err, ErrClosed) {
		t.Fatalf("peer's first read: %v; want ErrClosed", err)
	}
}

// TestNetConnAddrs takes a NetConn's addresses from its next layer: a TCPSocket's, a ConnStream's
// conn's, and the placeholder for a next layer with none.
func TestNetConnAddrs(t *testing.T) {
	ioc := runContext(t)
	check := func(t *testing.T, c stdnet.Conn, local, remote string) {
		t.Helper()
		if got := c.LocalAddr().String(); got != local {
			t.Errorf("LocalAddr %s, want %s", got, local)
		}
		if got := c.RemoteAddr().String(); got != remote {
			t.Errorf("RemoteAddr %s, want %s", got, remote)
		}
	}
	t.Run("TCPSocket", func(t *testing.T) {
		cs, _ := tcpSockets(t, ioc)
		la, _ := cs.LocalAddr()
		ra, _ := cs.RemoteAddr()
		if c := NetConn(context.Background(), NewStream(cs, nil), OpBinary); c.LocalAddr().Network() != "tcp" {
			t.Errorf("network %q, want tcp", c.LocalAddr().Network())
		} else {
			check(t, c, la.String(), ra.String())
		}
	})
	t.Run("ConnStream", func(t *testing.T) {
		ln, err := listenLoopback()
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		a, b, err := dialPair(ln)
		if err != nil {
			t.Fatal(err)
		}
		cs := net.FromConn(a, ioc)
		defer cs.Close()
		defer b.Close()
		check(t, NetConn(context.Background(), NewStream(cs, nil), OpBinary), a.LocalAddr().String(), a.RemoteAddr().String())
	})
	t.Run("nettest", func(t *testing.T) {
		cn, _ := nettestEnds(t, ioc, nettest.Options{})
		c := NetConn(context.Background(), NewStream(cn, nil), OpBinary)
		if c.LocalAddr().Network() != "websocket" || c.RemoteAddr().Network() != "websocket" {
			t.Errorf("networks %q and %q, want websocket", c.LocalAddr().Network(), c.RemoteAddr().Network())
		}
	})
}

// TestNetConnWouldDeadlock calls a NetConn's blocking methods from a handler of the stream's
// executor: each returns ErrWouldDeadlock and changes nothing, so the NetConn works afterwards.
func TestNetConnWouldDeadlock(t *testing.T) {
	if !gid.Known {
		t.Skip("goroutines cannot be identified in this build: the executor cannot tell, and the call would wait for ever")
	}
	ioc := runContext(t)
	cn, sn := nettestEnds(t, ioc, nettest.Options{})
	cc, sc, _, _ := netConnPair(t, cn, sn, nil)
	calls := map[string]func() error{
		"Read":  func() error { _, err := sc.Read(make([]byte, 1)); return err },
		"Write": func() error { _, err := sc.Write([]byte("x")); return err },
		"Close": sc.Close,
	}
	for name, call := range calls {
		if err := onExecutor(ioc, call); !errors.Is(err, ErrWouldDeadlock) {
			t.Errorf("%s from the executor: %v; want ErrWouldDeadlock", name, err)
		}
	}
	if _, err := cc.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if got, err := readN(sc, 2, 2); err != nil || string(got) != "ok" {
		t.Fatalf("read after the refused calls: %q, %v", got, err)
	}
	if err1, err2 := closeBoth(cc, sc); err1 != nil || err2 != nil {
		t.Fatalf("close: %v, %v", err1, err2)
	}
}
