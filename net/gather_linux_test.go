//go:build linux && !beastgo_portable

package net

import (
	"bytes"
	"errors"
	stdnet "net"
	"slices"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// readAll reads exactly n bytes from s, running ctx, and returns them.
func readAll(t *testing.T, ctx *executor.IOContext, s *TCPSocket, n int) []byte {
	t.Helper()
	got := make([]byte, n)
	res := make(chan IOResult, 1)
	AsyncRead(s, got, completion.Chan(res))
	if r := <-waitRun(ctx, res); r.Err != nil || r.N != n {
		t.Fatalf("reading %d bytes: %+v", n, r)
	}
	return got
}

// writeSomeBuffers starts one gather write and runs ctx until it completes.
func writeSomeBuffers(t *testing.T, ctx *executor.IOContext, s *TCPSocket, bufs [][]byte) IOResult {
	t.Helper()
	res := make(chan IOResult, 1)
	s.AsyncWriteSomeBuffers(bufs, completion.Chan(res))
	return <-waitRun(ctx, res)
}

// snapshot copies bufs' slice headers and bytes, to check a write left them untouched.
func snapshot(bufs [][]byte) ([][]byte, [][]byte) {
	headers := slices.Clone(bufs)
	contents := make([][]byte, len(bufs))
	for i, b := range bufs {
		contents[i] = bytes.Clone(b)
	}
	return headers, contents
}

func checkUntouched(t *testing.T, bufs, headers, contents [][]byte) {
	t.Helper()
	for i := range bufs {
		if len(bufs[i]) != len(headers[i]) || cap(bufs[i]) != cap(headers[i]) ||
			(len(bufs[i]) > 0 && &bufs[i][0] != &headers[i][0]) || !bytes.Equal(bufs[i], contents[i]) {
			t.Fatalf("buffer %d was modified", i)
		}
	}
}

func TestWriteSomeBuffersOverLoopback(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()

	t.Run("several buffers, some empty", func(t *testing.T) {
		bufs := [][]byte{[]byte("header:"), nil, []byte("payload"), {}, []byte("!")}
		headers, contents := snapshot(bufs)
		r := writeSomeBuffers(t, ctx, client, bufs)
		if r.Err != nil || r.N != len("header:payload!") {
			t.Fatalf("got %+v, want all %d bytes", r, len("header:payload!"))
		}
		checkUntouched(t, bufs, headers, contents)
		if got := readAll(t, ctx, server, r.N); string(got) != "header:payload!" {
			t.Fatalf("the peer read %q", got)
		}
	})

	t.Run("all empty", func(t *testing.T) {
		for _, bufs := range [][][]byte{nil, {}, {nil, {}, nil}} {
			if r := writeSomeBuffers(t, ctx, client, bufs); r != (IOResult{}) {
				t.Fatalf("%d empty buffers: %+v, want N == 0 and no error", len(bufs), r)
			}
		}
	})

	t.Run("more buffers than one call takes", func(t *testing.T) {
		const count = 3*maxGatherBuffers + 5
		bufs := make([][]byte, 0, 2*count)
		var want []byte
		for i := range count {
			b := []byte{byte(i)}
			bufs = append(bufs, nil, b) // the empty ones do not count against the limit
			want = append(want, b...)
		}
		headers, contents := snapshot(bufs)
		first := writeSomeBuffers(t, ctx, client, bufs)
		if first.Err != nil || first.N != maxGatherBuffers {
			t.Fatalf("the first call: %+v, want the first %d buffers' bytes", first, maxGatherBuffers)
		}
		res := make(chan IOResult, 1)
		AsyncWriteBuffers(client, bufs, completion.Chan(res)) // the rest, through the composed helper
		all := readAll(t, ctx, server, len(want)+first.N)
		if r := <-waitRun(ctx, res); r.Err != nil || r.N != len(want) {
			t.Fatalf("AsyncWriteBuffers: %+v", r)
		}
		checkUntouched(t, bufs, headers, contents)
		if !bytes.Equal(all[:first.N], want[:first.N]) || !bytes.Equal(all[first.N:], want) {
			t.Fatal("the peer read other bytes than were written")
		}
	})

	t.Run("a large write goes partial", func(t *testing.T) {
		if err := client.SetWriteBuffer(4096); err != nil {
			t.Fatal(err)
		}
		bufs := [][]byte{bytes.Repeat([]byte{1}, 1<<20), bytes.Repeat([]byte{2}, 1<<20), {3}}
		total := 2<<20 + 1
		headers, contents := snapshot(bufs)
		r := writeSomeBuffers(t, ctx, client, bufs)
		if r.Err != nil || r.N <= 0 || r.N >= total {
			t.Fatalf("got %+v, want a short write of the %d bytes", r, total)
		}
		// The next one waits in the reactor, if the send buffer is still full, for the peer to read.
		next := make(chan IOResult, 1)
		client.AsyncWriteSomeBuffers([][]byte{[]byte("after")}, completion.Chan(next))
		got := readAll(t, ctx, server, r.N)
		n := <-waitRun(ctx, next)
		if n.Err != nil || n.N != len("after") {
			t.Fatalf("the write after the short one: %+v", n)
		}
		checkUntouched(t, bufs, headers, contents)
		if want := slices.Concat(bufs...)[:r.N]; !bytes.Equal(got, want) {
			t.Fatal("the peer read other bytes than were written")
		}
		readAll(t, ctx, server, len("after"))
	})

	t.Run("allocates nothing per call", func(t *testing.T) {
		if raceEnabled {
			t.Skip("the race detector's build writes through x/sys, which allocates")
		}
		// Running the context to completion allocates on its own, so the gather write is
		// measured against a plain write in the same loop.
		bufs := [][]byte{[]byte("head"), []byte("body")}
		sink := make([]byte, 64)
		var written IOResult
		write := completion.Callback(func(r IOResult) { written = r })
		read := completion.Callback(func(IOResult) {})
		loop := func(start func()) float64 {
			return testing.AllocsPerRun(100, func() {
				start()
				server.AsyncReadSome(sink, read)
				ctx.Restart()
				ctx.Run()
			})
		}
		plain := loop(func() { client.AsyncWriteSome(bufs[0], write) })
		gather := loop(func() { client.AsyncWriteSomeBuffers(bufs, write) })
		if written.Err != nil || gather > plain {
			t.Fatalf("%v allocations per gather write and read, %v per plain write and read (last write %+v)", gather, plain, written)
		}
	})
}

func TestWriteSomeBuffersAfterCloseAndWhileAWriteIsPending(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer server.Close()
	pending := pendingWrite(t, ctx, client)
	if r := writeSomeBuffers(t, ctx, client, [][]byte{{1}}); !errors.Is(r.Err, ErrInProgress) {
		t.Fatalf("a gather write while a write is pending: %+v, want ErrInProgress", r)
	}
	client.Close()
	if r := <-waitRun(ctx, pending); !errors.Is(r.Err, completion.ErrOperationAborted) {
		t.Fatalf("the pending write at Close: %+v", r)
	}
	if r := writeSomeBuffers(t, ctx, client, [][]byte{{1}}); !errors.Is(r.Err, stdnet.ErrClosed) {
		t.Fatalf("a gather write after Close: %+v, want net.ErrClosed", r)
	}
}
