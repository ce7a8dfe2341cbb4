//go:build linux && !beastgo_portable

package net

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// writeAllBig is more than loopback's socket buffers hold, so that a write to a peer that does not
// read stays pending with part of it gone.
const writeAllBig = 32 << 20

// startStalledWrite starts an AsyncWrite of writeAllBig bytes on a fresh connection whose server
// end reads nothing, runs what is ready, and checks that the write is pending as one operation of
// the socket (opWriteAll) with part of it gone. The result lands in *res when h runs.
func startStalledWrite(t *testing.T, ioc *executor.IOContext, ctx context.Context, res *IOResult, ran *bool) (client, server *TCPSocket) {
	t.Helper()
	client, server = connectedPair(t, ioc)
	AsyncWrite(client, make([]byte, writeAllBig), completion.WithContext(ctx, completion.Callback(func(r IOResult) { *res, *ran = r, true })))
	ioc.Poll()
	ioc.Restart()
	d := client.descriptor()
	d.mu.Lock()
	kind, pending, gone := d.write.kind, d.write.pending, d.write.res.N
	d.mu.Unlock()
	if *ran || kind != opWriteAll || !pending || gone <= 0 || gone >= writeAllBig {
		t.Fatalf("the write: handler run %v, kind %v, pending %v, %d of %d bytes gone; want one pending operation with part gone", *ran, kind, pending, gone, writeAllBig)
	}
	return client, server
}

// drain reads the server end until io.EOF and returns how many bytes came.
func drain(t *testing.T, ioc *executor.IOContext, server *TCPSocket) int {
	t.Helper()
	buf := make([]byte, 256<<10)
	got := 0
	var readErr error
	var read func()
	read = func() {
		server.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
			got += r.N
			if r.Err != nil {
				readErr = r.Err
				return
			}
			read()
		}))
	}
	read()
	ioc.Run()
	ioc.Restart()
	if readErr != io.EOF {
		t.Fatalf("the server's reads ended with %v, want io.EOF", readErr)
	}
	return got
}

// A write cancelled through its handler's context in the middle completes with the cancellation
// and the count of what went, and exactly that many bytes reach the peer.
func TestAsyncWriteOnASocketCancelledMidway(t *testing.T) {
	ioc := executor.NewIOContext()
	ctx, cancel := context.WithCancel(context.Background())
	var res IOResult
	var ran bool
	client, server := startStalledWrite(t, ioc, ctx, &res, &ran)
	defer server.Close()
	defer client.Close()
	cancel()
	ioc.Run()
	ioc.Restart()
	if !ran || !errors.Is(res.Err, context.Canceled) || !errors.Is(res.Err, completion.ErrOperationAborted) || res.N <= 0 || res.N >= writeAllBig {
		t.Fatalf("the cancelled write completed (%v) with %d bytes and %v; want part of %d and the cancellation", ran, res.N, res.Err, writeAllBig)
	}
	if err := client.Shutdown(ShutdownWrite); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, ioc, server); got != res.N {
		t.Fatalf("the peer read %d bytes; the write said %d went", got, res.N)
	}
}

// A write whose socket is closed in the middle completes with ErrOperationAborted and the count of
// what went, and exactly that many bytes reach the peer before its end of stream.
func TestAsyncWriteOnASocketClosedMidway(t *testing.T) {
	ioc := executor.NewIOContext()
	var res IOResult
	var ran bool
	client, server := startStalledWrite(t, ioc, context.Background(), &res, &ran)
	defer server.Close()
	client.Close()
	ioc.Run()
	ioc.Restart()
	if !ran || !errors.Is(res.Err, completion.ErrOperationAborted) || res.N <= 0 || res.N >= writeAllBig {
		t.Fatalf("the write closed under it completed (%v) with %d bytes and %v; want part of %d and ErrOperationAborted", ran, res.N, res.Err, writeAllBig)
	}
	if got := drain(t, ioc, server); got != res.N {
		t.Fatalf("the peer read %d bytes; the write said %d went", got, res.N)
	}
}

// While the write is in flight it is the write direction's operation: another write on the socket
// fails with ErrInProgress, and the write itself goes on to the end once the peer reads.
func TestAsyncWriteOnASocketHoldsTheWriteDirection(t *testing.T) {
	ioc := executor.NewIOContext()
	var res IOResult
	var ran bool
	client, server := startStalledWrite(t, ioc, context.Background(), &res, &ran)
	defer server.Close()
	defer client.Close()
	var second IOResult
	client.AsyncWriteSome([]byte("x"), completion.Callback(func(r IOResult) { second = r }))
	ioc.Poll()
	ioc.Restart()
	if !errors.Is(second.Err, ErrInProgress) {
		t.Fatalf("a second write during the first completed with %v, want ErrInProgress", second.Err)
	}
	buf := make([]byte, 256<<10)
	got := 0
	var read func()
	read = func() {
		server.AsyncReadSome(buf, completion.Callback(func(r IOResult) {
			if got += r.N; r.Err == nil && got < writeAllBig {
				read()
			}
		}))
	}
	read()
	ioc.Run()
	if !ran || res.Err != nil || res.N != writeAllBig || got != writeAllBig {
		t.Fatalf("the write completed (%v) with %d bytes and %v, the peer read %d; want all %d", ran, res.N, res.Err, got, writeAllBig)
	}
}
