//go:build linux && !beastgo_portable

package net

import (
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// BenchmarkFrameWrite writes a frame, a 14-byte header and a 1 KiB payload in separate buffers
// (as a websocket message leaves), over one loopback connection whose peer reads and discards:
// with one gather write, with a write per buffer, and copied into one buffer first. ns/op is per
// frame. The loop runs the context with RunOne, whose entry allocates: allocs/op counts those
// (one per completion), not the writes, which allocate nothing (TestWriteSomeBuffersOverLoopback).
func BenchmarkFrameWrite(b *testing.B) {
	for _, mode := range []string{"gather", "write-per-buffer", "copy"} {
		b.Run(mode, func(b *testing.B) { benchFrameWrite(b, mode) })
	}
}

func benchFrameWrite(b *testing.B, mode string) {
	ctx := executor.NewIOContext()
	client, server := benchPair(b, ctx)
	defer client.Close()
	defer server.Close()
	sink := make([]byte, 64<<10)
	var drain completion.Func[IOResult]
	drain = func(r IOResult) {
		if r.Err == nil {
			server.AsyncReadSome(sink, drain)
		}
	}
	server.AsyncReadSome(sink, drain)

	header, payload := make([]byte, 14), make([]byte, 1024)
	joined := make([]byte, 0, len(header)+len(payload))
	var bufs [2][]byte
	left := 0 // buffers of bufs still to write, from the end
	var failed error
	var wrote completion.Func[IOResult]
	next := func() {
		rest := bufs[len(bufs)-left:]
		if mode == "gather" {
			client.AsyncWriteSomeBuffers(rest, wrote)
		} else {
			client.AsyncWriteSome(rest[0], wrote)
		}
	}
	wrote = func(r IOResult) {
		if r.Err != nil {
			failed, left = r.Err, 0
			return
		}
		for n := r.N; n > 0; {
			i := len(bufs) - left
			k := min(n, len(bufs[i]))
			bufs[i], n = bufs[i][k:], n-k
			if len(bufs[i]) == 0 {
				left--
			}
		}
		if left > 0 {
			next()
		}
	}
	b.SetBytes(int64(len(header) + len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if mode == "copy" {
			joined = append(append(joined[:0], header...), payload...)
			bufs, left = [2][]byte{nil, joined}, 1
		} else {
			bufs, left = [2][]byte{header, payload}, 2
		}
		next()
		for left > 0 {
			ctx.RunOne()
		}
		if failed != nil {
			b.Fatal(failed)
		}
	}
}

// benchPair returns a connected client and server socket on ctx.
func benchPair(b *testing.B, ctx *executor.IOContext) (client, server *TCPSocket) {
	b.Helper()
	a := NewTCPAcceptor(ctx)
	if err := a.Listen(loopback, 0); err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	client = NewTCPSocket(ctx)
	accepted := make(chan AcceptResult, 1)
	connected := make(chan error, 1)
	a.AsyncAccept(nil, completion.Chan(accepted))
	client.AsyncConnect(a.Addr(), completion.Chan(connected))
	ctx.Run()
	ctx.Restart()
	r := <-accepted
	if err := <-connected; err != nil || r.Err != nil {
		b.Fatalf("connect: %v, accept: %v", err, r.Err)
	}
	return client, r.Socket
}
