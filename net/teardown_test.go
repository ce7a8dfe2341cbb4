package net

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	stdnet "net"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// readToEOF reads s until an error and reports the bytes read and that error on done.
func readToEOF(s AsyncReadStream, done chan<- IOResult) {
	buf := make([]byte, 64)
	total := 0
	var next func()
	next = func() {
		s.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
			total += r.N
			if r.Err != nil {
				done <- IOResult{N: total, Err: r.Err}
				return
			}
			next()
		}))
	}
	next()
}

// A loopback socket's teardown sends the peer its end of stream, waits for the peer's, and
// closes the socket.
func TestTeardownTCPSocket(t *testing.T) {
	ioc := executor.NewIOContext()
	client, server := connectedPair(t, ioc)
	defer server.Close()
	torn := make(chan error, 1)
	peer := make(chan IOResult, 1)
	AsyncTeardown(client, completion.Chan(torn))
	// The peer reads what is left and the end of stream, writes a last message (which the
	// teardown discards), and closes.
	readToEOF(server, peer)
	r := <-waitRun(ioc, peer)
	if r.Err != io.EOF {
		t.Fatalf("the peer read %+v, want io.EOF", r)
	}
	writeAll(server, []byte("bye"), func(error) { server.Close() })
	if err := <-waitRun(ioc, torn); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	if _, err := client.LocalAddr(); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("LocalAddr after the teardown: %v, want net.ErrClosed", err)
	}
	ioc.Restart()
	ioc.Run()
}

// tlsPair returns the two ends of a TLS connection over loopback, handshakes done, and the
// client's TCP connection under its TLS.
func tlsPair(t *testing.T) (client, server *tls.Conn, clientTCP stdnet.Conn) {
	t.Helper()
	cert, pool := selfSigned(t)
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan *tls.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if s.Handshake() != nil {
			s.Close()
			s = nil
		}
		accepted <- s
	}()
	clientTCP, err = stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client = tls.Client(clientTCP, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err := client.Handshake(); err != nil {
		t.Fatal(err)
	}
	if server = <-accepted; server == nil {
		t.Fatal("the server's handshake failed")
	}
	return client, server, clientTCP
}

// Over crypto/tls, a ConnStream's teardown sends close_notify (the peer reads io.EOF, not a
// truncation), waits for the peer's, and closes the connection under it.
func TestTeardownTLS(t *testing.T) {
	clientTLS, serverTLS, clientTCP := tlsPair(t)
	ioc := executor.NewIOContext()
	client := FromConn(clientTLS, ioc)
	server := FromConn(serverTLS, ioc)
	defer server.Close()
	defer client.Close()
	torn := make(chan error, 2)
	peer := make(chan IOResult, 1)
	AsyncTeardown(client, completion.Chan(torn))
	readToEOF(server, peer)
	if r := <-waitRun(ioc, peer); r.Err != io.EOF {
		t.Fatalf("the peer read %+v, want io.EOF (close_notify)", r)
	}
	AsyncTeardown(server, completion.Chan(torn))
	for range 2 {
		if err := <-waitRun(ioc, torn); err != nil {
			t.Fatalf("teardown: %v", err)
		}
	}
	if _, err := clientTCP.Write([]byte{0}); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("a write on the TCP connection under the torn-down stream: %v, want net.ErrClosed", err)
	}
	ioc.Restart()
	ioc.Run()
}

// A peer that never ends its side keeps the teardown pending until its context ends; the stream
// is closed all the same.
func TestTeardownCancelledByContext(t *testing.T) {
	ioc := executor.NewIOContext()
	client, server := connectedPair(t, ioc)
	defer server.Close()
	ctx, cancel := context.WithCancel(context.Background())
	torn := make(chan error, 1)
	peer := make(chan IOResult, 1)
	AsyncTeardown(client, completion.WithContext(ctx, completion.Chan(torn)))
	readToEOF(server, peer)
	<-waitRun(ioc, peer) // the shutdown has reached the peer; the teardown reads
	ioc.Restart()
	ioc.Poll()
	if len(torn) != 0 {
		t.Fatalf("the teardown completed while the peer kept its side open: %v", <-torn)
	}
	cancel()
	err := <-waitRun(ioc, torn)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("cancelled teardown: %v", err)
	}
	if err := client.Close(); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("Close after a cancelled teardown: %v, want net.ErrClosed (already closed)", err)
	}
	ioc.Restart()
	ioc.Run()
}

// A conn that cannot shut one direction down (net.Pipe) cannot be torn down cleanly: the
// teardown says so and closes it all the same.
func TestTeardownConnWithoutCloseWrite(t *testing.T) {
	a, b := stdnet.Pipe()
	defer b.Close()
	ioc := executor.NewIOContext()
	cs := FromConn(a, ioc)
	var got error
	AsyncTeardown(cs, completion.Callback(func(err error) { got = err }))
	ioc.Run()
	if !errors.Is(got, errors.ErrUnsupported) {
		t.Fatalf("teardown over net.Pipe: %v, want errors.ErrUnsupported", got)
	}
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the peer of the torn-down pipe reads %v, want io.EOF (closed)", err)
	}
}
