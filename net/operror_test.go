package net

// The error types both paths share: a system call's error, and the error of a closed socket, are
// *net.OpError of Go's net package, as Go's net reports them; io.EOF stays bare.

import (
	"errors"
	"io"
	stdnet "net"
	"syscall"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// wantOpError fails t unless err is a *net.OpError on "tcp" that matches target.
func wantOpError(t *testing.T, what string, err, target error) {
	t.Helper()
	var op *stdnet.OpError
	switch {
	case !errors.As(err, &op):
		t.Errorf("%s: %T %v, want a *net.OpError", what, err, err)
	case op.Net != "tcp" || op.Op == "":
		t.Errorf("%s: Op %q Net %q, want an Op and Net \"tcp\"", what, op.Op, op.Net)
	case !errors.Is(err, target):
		t.Errorf("%s: %v, want it to match %v", what, err, target)
	}
}

func TestErrorsAreOpErrors(t *testing.T) {
	ctx := executor.NewIOContext()

	// A refused connection: a closed listener's port.
	a := listen(t, ctx)
	addr := a.Addr()
	a.Close()
	refused := make(chan error, 1)
	NewTCPSocket(ctx).AsyncConnect(addr, completion.Chan(refused))
	ctx.Run()
	wantOpError(t, "connect to a closed port", <-refused, syscall.ECONNREFUSED)

	// Listen on an address another acceptor listens on.
	busy := listen(t, ctx)
	defer busy.Close()
	second := NewTCPAcceptor(ctx)
	wantOpError(t, "Listen on a busy port", second.Listen(busy.Addr(), 0), syscall.EADDRINUSE)
	second.Close()

	ctx.Restart()
	client, server := connectedPair(t, ctx)
	// The end of the stream is io.EOF itself.
	server.Shutdown(ShutdownWrite)
	eof := make(chan IOResult, 1)
	client.AsyncReadSome(make([]byte, 1), completion.Chan(eof))
	if r := <-waitRun(ctx, eof); r.Err != io.EOF {
		t.Errorf("read at the end of the stream: %#v, want io.EOF itself", r.Err)
	}
	server.Close()

	// Use after Close.
	client.Close()
	wantOpError(t, "Close again", client.Close(), stdnet.ErrClosed)
	wantOpError(t, "Shutdown after Close", client.Shutdown(ShutdownWrite), stdnet.ErrClosed)
	_, err := client.LocalAddr()
	wantOpError(t, "LocalAddr after Close", err, stdnet.ErrClosed)
	wantOpError(t, "SetNoDelay after Close", client.SetNoDelay(true), stdnet.ErrClosed)
	reads := make(chan IOResult, 1)
	writes := make(chan IOResult, 1)
	client.AsyncReadSome(make([]byte, 1), completion.Chan(reads))
	client.AsyncWriteSome(make([]byte, 1), completion.Chan(writes))
	ctx.Restart()
	ctx.Run()
	wantOpError(t, "AsyncReadSome after Close", (<-reads).Err, stdnet.ErrClosed)
	wantOpError(t, "AsyncWriteSome after Close", (<-writes).Err, stdnet.ErrClosed)

	acc := listen(t, ctx)
	acc.Close()
	accepts := make(chan AcceptResult, 1)
	acc.AsyncAccept(nil, completion.Chan(accepts))
	ctx.Restart()
	ctx.Run()
	wantOpError(t, "AsyncAccept after Close", (<-accepts).Err, stdnet.ErrClosed)
	wantOpError(t, "Listen after Close", acc.Listen(loopback, 0), stdnet.ErrClosed)
}
