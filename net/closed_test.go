package net

// The tests of what a closed socket and a closed acceptor do: every method fails with an error
// that matches Go's net.ErrClosed, and none acts on a descriptor the object no longer owns, even
// when the kernel has handed its number to another socket, and even when the method races Close.
// They use the exported API only, so that they hold on both paths.

import (
	"errors"
	"io"
	stdnet "net"
	"net/netip"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// isClosed reports whether err says the object is closed, as Go's net package says it.
func isClosed(err error) bool { return errors.Is(err, stdnet.ErrClosed) }

// bystander is a live connection of Go's net package, made after a socket was closed so that it
// may take over the closed socket's descriptor number.
type bystander struct {
	client, server stdnet.Conn
}

func newBystander(t *testing.T, ln stdnet.Listener) bystander {
	t.Helper()
	client, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return bystander{client, server}
}

// check fails t if the bystander's connection was touched: its client sends a byte each way and
// each peer must read it, not EOF.
func (b bystander) check(t *testing.T) {
	t.Helper()
	defer b.client.Close()
	defer b.server.Close()
	for _, p := range [][2]stdnet.Conn{{b.client, b.server}, {b.server, b.client}} {
		if _, err := p[0].Write([]byte{'x'}); err != nil {
			t.Errorf("the bystander's write: %v (a closed socket shut it down)", err)
			continue
		}
		var one [1]byte
		if _, err := io.ReadFull(p[1], one[:]); err != nil {
			t.Errorf("the bystander's read: %v (a closed socket shut its peer down)", err)
		}
	}
}

func TestClosedSocketFailsEveryMethodAndLeavesAReusedDescriptorAlone(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer server.Close()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	// The kernel hands out the lowest free number: the bystander's client takes the socket's.
	b := newBystander(t, ln)

	results := map[string]error{
		"Close again":             client.Close(),
		"Shutdown(ShutdownWrite)": client.Shutdown(ShutdownWrite),
		"Shutdown(ShutdownBoth)":  client.Shutdown(ShutdownBoth),
		"SetNoDelay":              client.SetNoDelay(false),
		"SetKeepAlive":            client.SetKeepAlive(true),
		"SetReadBuffer":           client.SetReadBuffer(4096),
		"SetWriteBuffer":          client.SetWriteBuffer(4096),
	}
	_, results["LocalAddr"] = client.LocalAddr()
	_, results["RemoteAddr"] = client.RemoteAddr()
	_, results["NoDelay"] = client.NoDelay()
	for name, err := range results {
		if !isClosed(err) {
			t.Errorf("%s after Close: %v, want net.ErrClosed", name, err)
		}
	}
	if n := client.Cancel(); n != 0 {
		t.Errorf("Cancel after Close cancelled %d operations", n)
	}

	reads := make(chan IOResult, 1)
	writes := make(chan IOResult, 1)
	connects := make(chan error, 1)
	client.AsyncReadSome(make([]byte, 1), completion.Chan(reads))
	client.AsyncWriteSome([]byte{'y'}, completion.Chan(writes))
	client.AsyncConnect(netip.MustParseAddrPort(ln.Addr().String()), completion.Chan(connects))
	ctx.Run()
	if r := <-reads; !isClosed(r.Err) {
		t.Errorf("AsyncReadSome after Close: %+v, want net.ErrClosed", r)
	}
	if r := <-writes; !isClosed(r.Err) || r.N != 0 {
		t.Errorf("AsyncWriteSome after Close: %+v, want net.ErrClosed", r)
	}
	if err := <-connects; !isClosed(err) {
		t.Errorf("AsyncConnect after Close: %v, want net.ErrClosed", err)
	}
	b.check(t)
}

func TestClosedAcceptorFailsItsMethods(t *testing.T) {
	ctx := executor.NewIOContext()
	a := listen(t, ctx)
	addr := a.Addr()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); !isClosed(err) {
		t.Errorf("Close again: %v, want net.ErrClosed", err)
	}
	if err := a.Listen(loopback, 0); !isClosed(err) {
		t.Errorf("Listen after Close: %v, want net.ErrClosed", err)
	}
	// Addr reports the address the acceptor listened on, which it keeps: no system call, so it
	// cannot report a socket that took over the number.
	if got := a.Addr(); got != addr {
		t.Errorf("Addr after Close: %v, want %v", got, addr)
	}
	accepts := make(chan AcceptResult, 1)
	a.AsyncAccept(nil, completion.Chan(accepts))
	ctx.Run()
	if r := <-accepts; !isClosed(r.Err) || r.Socket != nil {
		t.Errorf("AsyncAccept after Close: %+v, want net.ErrClosed", r)
	}
	if n := a.Cancel(); n != 0 {
		t.Errorf("Cancel after Close cancelled %d operations", n)
	}
}

func TestMethodsRacingCloseSucceedOrFailClosed(t *testing.T) {
	const trials, callers, calls = 40, 4, 50
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for range trials {
		ctx := executor.NewIOContext()
		client, server := connectedPair(t, ctx)
		var wg sync.WaitGroup
		errs := make(chan error, callers*calls*3)
		start := make(chan struct{})
		for range callers {
			wg.Go(func() {
				<-start
				for range calls {
					_, err := client.LocalAddr()
					errs <- err
					errs <- client.SetNoDelay(true)
					errs <- client.Shutdown(ShutdownWrite)
				}
			})
		}
		close(start)
		closeErr := client.Close()
		b := newBystander(t, ln) // may take the number while the callers still run
		wg.Wait()
		close(errs)
		if closeErr != nil {
			t.Fatalf("Close: %v", closeErr)
		}
		for err := range errs {
			if err != nil && !isClosed(err) {
				t.Fatalf("a method racing Close: %v, want nil or net.ErrClosed", err)
			}
		}
		b.check(t)
		server.Close()
		ctx.Run()
	}
}
