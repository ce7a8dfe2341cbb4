package net

import (
	"errors"
	"io"
	stdnet "net"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Shutdown(ShutdownWrite) ends the sending side only, as shutdown(2)'s SHUT_WR does (the first
// step of a stream's teardown): the peer reads io.EOF, the peer's data still arrives, and a later
// write fails as a *net.OpError.
func TestShutdownWriteHalfCloses(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	if err := client.Shutdown(ShutdownWrite); err != nil {
		t.Fatal(err)
	}
	eof := make(chan IOResult, 1)
	server.AsyncReadSome(make([]byte, 8), completion.Chan(eof))
	if r := <-waitRun(ctx, eof); r.Err != io.EOF {
		t.Fatalf("the peer's read after ShutdownWrite: %+v, want io.EOF", r)
	}
	reply := make(chan IOResult, 1)
	AsyncWrite(server, []byte("still here"), completion.Chan(reply))
	if r := <-waitRun(ctx, reply); r.Err != nil {
		t.Fatalf("the peer's write: %+v", r)
	}
	got := make([]byte, len("still here"))
	read := make(chan IOResult, 1)
	AsyncRead(client, got, completion.Chan(read))
	if r := <-waitRun(ctx, read); r.Err != nil || string(got) != "still here" {
		t.Fatalf("reading after ShutdownWrite: %+v %q, want the peer's data", r, got)
	}
	write := make(chan IOResult, 1)
	client.AsyncWriteSome([]byte("x"), completion.Chan(write))
	r := <-waitRun(ctx, write)
	var op *stdnet.OpError
	if r.Err == nil || !errors.As(r.Err, &op) {
		t.Fatalf("a write after ShutdownWrite: %+v, want a *net.OpError", r)
	}
}
