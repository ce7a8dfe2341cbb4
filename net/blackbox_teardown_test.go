package net_test

// Black-box tests of AsyncTeardown: the peer sees EOF after our data; a peer that vanishes makes
// it fail; a peer that never closes keeps it pending until a bound context ends it; the stream
// is closed in every case. Over nettest, a loopback TCPSocket and FromConn over crypto/tls.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	stdnet "net"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// bbStreamClosed checks that s is closed: a read fails with an error matching net.ErrClosed.
func bbStreamClosed(t testing.TB, what string, s net.AsyncStream) {
	t.Helper()
	res := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 8), h) })
	if !errors.Is(res.Err, stdnet.ErrClosed) {
		t.Errorf("%s: a read after the teardown: %v, want net.ErrClosed (the stream closed)", what, res.Err)
	}
}

// bbTeardownCases runs the three teardown cases over streams made by mk, which returns our
// stream and the peer as a Go connection.
func bbTeardownCases(t *testing.T, mk func(t *testing.T, ex executor.Executor) (net.AsyncStream, stdnet.Conn, func() error)) {
	t.Run("clean", func(t *testing.T) {
		r := bbRun(t, 1)
		s, peer, vanish := mk(t, r.ioc)
		_ = vanish
		defer peer.Close()
		data := bbPattern(9, 10000)
		if w := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(s, data, h) }); w.Err != nil {
			t.Fatal(w.Err)
		}
		peerGot := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(peer) // our data, then EOF
			peer.Write([]byte("the peer's last words, discarded"))
			peer.Close()
			peerGot <- b
		}()
		err := completion.Await(func(h completion.Handler[error]) { net.AsyncTeardown(s, h) })
		if err != nil {
			t.Errorf("teardown with a peer that closes cleanly: %v", err)
		}
		if g := <-peerGot; !bytes.Equal(g, data) {
			t.Errorf("the peer read %d bytes then EOF, want our %d", len(g), len(data))
		}
		bbStreamClosed(t, "clean", s)
	})
	t.Run("vanishing peer", func(t *testing.T) {
		r := bbRun(t, 1)
		s, peer, vanish := mk(t, r.ioc)
		data := bbPattern(8, 20000)
		if w := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(s, data, h) }); w.Err != nil {
			t.Fatal(w.Err)
		}
		// The peer leaves with our data unread: a reset.
		if err := vanish(); err != nil {
			t.Fatal(err)
		}
		err := completion.Await(func(h completion.Handler[error]) { net.AsyncTeardown(s, h) })
		if err == nil {
			t.Errorf("teardown with a peer that reset the connection completed with nil")
		}
		bbStreamClosed(t, "vanishing peer", s)
		peer.Close()
	})
	t.Run("silent peer, bound context", func(t *testing.T) {
		r := bbRun(t, 1)
		s, peer, _ := mk(t, r.ioc)
		defer peer.Close()
		ctx, cancel := context.WithCancel(context.Background())
		h := bbNewOnce[error]()
		net.AsyncTeardown(s, completion.WithContext(ctx, h))
		// The peer sees our end of stream, and then says nothing.
		b, err := io.ReadAll(peer)
		if len(b) != 0 || err != nil {
			t.Errorf("the peer read %q, %v; want nothing then EOF", b, err)
		}
		select {
		case <-h.done:
			t.Fatalf("teardown completed (%v) while the peer has not ended its side", h.wait())
		default:
		}
		cancel()
		err = h.wait()
		if !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, context.Canceled) {
			t.Errorf("teardown ended by its context: %v", err)
		}
		bbStreamClosed(t, "silent peer", s)
	})
}

func TestBlackboxTeardownLoopbackTCPSocket(t *testing.T) {
	bbTeardownCases(t, func(t *testing.T, ex executor.Executor) (net.AsyncStream, stdnet.Conn, func() error) {
		ln := bbStdListener(t)
		s, peer := bbDialStd(t, ex, ln)
		return s, peer, func() error {
			// Our data is in the peer's receive queue, unread: closing resets.
			return peer.Close()
		}
	})
}

func TestBlackboxTeardownTLS(t *testing.T) {
	cert, pool := net.SelfSigned(t)
	bbTeardownCases(t, func(t *testing.T, ex executor.Executor) (net.AsyncStream, stdnet.Conn, func() error) {
		ln := bbStdListener(t)
		raw, err := stdnet.DialTCP("tcp", nil, ln.Addr().(*stdnet.TCPAddr))
		if err != nil {
			t.Fatal(err)
		}
		praw, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		server := tls.Server(praw, &tls.Config{Certificates: []tls.Certificate{cert}})
		client := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "localhost"})
		herr := make(chan error, 1)
		go func() { herr <- server.Handshake() }()
		if err := client.Handshake(); err != nil {
			t.Fatal(err)
		}
		if err := <-herr; err != nil {
			t.Fatal(err)
		}
		return net.FromConn(client, ex), server, func() error {
			// The peer's TCP connection goes away under TLS with our data unread.
			return praw.Close()
		}
	})
}

func TestBlackboxTeardownNettest(t *testing.T) {
	t.Run("clean", func(t *testing.T) {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			r := bbRun(t, 1)
			a, b := nettest.NewPair(r.ioc, nettest.Options{Mode: mode, ReadSize: 7}, nettest.Options{Mode: mode})
			data := bbPattern(5, 1000)
			b.AsyncWriteSome([]byte("unread by us, discarded"), completion.Detached[net.IOResult]())
			if w := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(a, data, h) }); w.Err != nil {
				t.Fatal(w.Err)
			}
			ah := bbNewOnce[error]()
			net.AsyncTeardown(a, ah)
			got := make([]byte, len(data)+1)
			res := completion.Await(func(h completion.Handler[net.IOResult]) { net.AsyncRead(b, got, h) })
			if !errors.Is(res.Err, io.ErrUnexpectedEOF) || !bytes.Equal(got[:res.N], data) {
				t.Errorf("mode %v: the peer read %d bytes, %v; want our %d then EOF", mode, res.N, res.Err, len(data))
			}
			select {
			case <-ah.done:
				t.Fatalf("mode %v: teardown completed (%v) before the peer ended its side", mode, ah.wait())
			default:
			}
			b.Close()
			if err := ah.wait(); err != nil {
				t.Errorf("mode %v: teardown: %v", mode, err)
			}
			bbStreamClosed(t, "nettest clean", a)
			r.stop()
		}
	})
	t.Run("silent peer, bound context", func(t *testing.T) {
		r := bbRun(t, 1)
		a, b := nettest.NewPair(r.ioc, nettest.Options{}, nettest.Options{})
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		h := bbNewOnce[error]()
		net.AsyncTeardown(a, completion.WithContext(ctx, h))
		res := completion.Await(func(h completion.Handler[net.IOResult]) { b.AsyncReadSome(make([]byte, 8), h) })
		if res.Err != io.EOF {
			t.Errorf("the peer read %d, %v; want EOF", res.N, res.Err)
		}
		cancel()
		if err := h.wait(); !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, context.Canceled) {
			t.Errorf("teardown ended by its context: %v", err)
		}
		bbStreamClosed(t, "nettest silent", a)
	})
	t.Run("fault on each operation", func(t *testing.T) {
		for n := 1; n <= 4; n++ {
			r := bbRun(t, 1)
			fc := nettest.NewFailCount(n, nil)
			a, b := nettest.NewPair(r.ioc, nettest.Options{Fail: fc, ReadSize: 2}, nettest.Options{})
			b.AsyncWriteSome([]byte("abcde"), completion.Detached[net.IOResult]())
			b.Close()
			err := completion.Await(func(h completion.Handler[error]) { net.AsyncTeardown(a, h) })
			if err != nil && !errors.Is(err, nettest.ErrInjected) {
				t.Errorf("fault on op %d: %v", n, err)
			}
			if err == nil && fc.Count() >= n {
				t.Errorf("fault on op %d: the teardown made %d operations and still reported nil", n, fc.Count())
			}
			// Every later read fails with the injected error (a broken stream stays broken), so
			// closed is asked of Close: a second Close returns ErrClosed.
			if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
				t.Errorf("fault on op %d: Close after the teardown: %v, want ErrClosed (already closed)", n, err)
			}
			r.stop()
		}
	})
}
