package net

import (
	"bytes"
	"io"
	stdnet "net"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// gatherData returns buffers of the given sizes, each of its own byte value, their
// concatenation, and a deep copy of them.
func gatherData(sizes ...int) (bufs [][]byte, all []byte, saved [][]byte) {
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte('a' + i)}, n)
		bufs = append(bufs, b)
		saved = append(saved, bytes.Clone(b))
		all = append(all, b...)
	}
	return bufs, all, saved
}

// A gather write over loopback larger than the kernel's buffers arrives whole and in order, and
// leaves the caller's buffers as they were.
func TestAsyncWriteBuffersOverLoopback(t *testing.T) {
	ioc := executor.NewIOContext()
	client, server := connectedPair(t, ioc)
	defer server.Close()
	// Small kernel buffers, so that the kernel takes the buffers in parts.
	if err := client.SetWriteBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	if err := server.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	bufs, all, saved := gatherData(300000, 2, 0, 100005, 14)
	got := make([]byte, len(all))
	var wrote, read IOResult
	AsyncWriteBuffers(client, bufs, completion.Callback(func(r IOResult) { wrote = r; client.Close() }))
	AsyncRead(server, got, completion.Callback(func(r IOResult) { read = r }))
	ioc.Run()
	if wrote != (IOResult{N: len(all)}) || read != (IOResult{N: len(all)}) {
		t.Fatalf("wrote %+v, read %+v, want %d bytes", wrote, read, len(all))
	}
	if !bytes.Equal(got, all) {
		t.Fatal("the bytes read are not the concatenation of the buffers")
	}
	if !sameBuffers(saved, bufs) {
		t.Fatal("the buffers were modified")
	}
}

// A ConnStream gathers over a conn that is not a socket (net.Pipe) with a Write per buffer, and
// over one that is with net.Buffers' writev; both leave the caller's buffers alone.
func TestConnStreamWriteSomeBuffers(t *testing.T) {
	pipeA, pipeB := stdnet.Pipe()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tcpA, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tcpB, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		a, b stdnet.Conn
	}{{"pipe", pipeA, pipeB}, {"tcp", tcpA, tcpB}} {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.b.Close()
			ioc := executor.NewIOContext()
			cs := FromConn(tt.a, ioc)
			defer cs.Close()
			bufs, all, saved := gatherData(10, 0, 70000, 3)
			got := make(chan []byte, 1)
			go func() {
				b := make([]byte, len(all))
				_, err := io.ReadFull(tt.b, b)
				if err != nil {
					b = nil
				}
				got <- b
			}()
			for round := range 2 { // the second reuses the ConnStream's copy of the slice
				var res IOResult
				cs.AsyncWriteSomeBuffers(bufs, completion.Callback(func(r IOResult) { res = r }))
				ioc.Run()
				ioc.Restart()
				if res != (IOResult{N: len(all)}) {
					t.Fatalf("round %d: %+v, want %d bytes", round, res, len(all))
				}
				if b := <-got; !bytes.Equal(b, all) {
					t.Fatalf("round %d: the peer did not read the concatenation", round)
				}
				if !sameBuffers(saved, bufs) {
					t.Fatal("the buffers were modified")
				}
				if round == 0 {
					go func() {
						b := make([]byte, len(all))
						if _, err := io.ReadFull(tt.b, b); err != nil {
							b = nil
						}
						got <- b
					}()
				}
			}
			// All buffers empty: nothing written, N == 0.
			var res IOResult = IOResult{N: -1}
			cs.AsyncWriteSomeBuffers([][]byte{nil, {}}, completion.Callback(func(r IOResult) { res = r }))
			ioc.Run()
			if res != (IOResult{}) {
				t.Fatalf("empty buffers: %+v", res)
			}
		})
	}
}

// sameBuffers reports whether a and b hold the same buffers with the same bytes.
func sameBuffers(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// More buffers than one gather write takes (a system's iovec limit) are all written, in order.
func TestAsyncWriteBuffersManyBuffersOverLoopback(t *testing.T) {
	ioc := executor.NewIOContext()
	client, server := connectedPair(t, ioc)
	defer server.Close()
	sizes := make([]int, 300)
	for i := range sizes {
		sizes[i] = i % 7 // some empty
	}
	bufs, all, saved := gatherData(sizes...)
	got := make([]byte, len(all))
	var wrote, read IOResult
	AsyncWriteBuffers(client, bufs, completion.Callback(func(r IOResult) { wrote = r; client.Close() }))
	AsyncRead(server, got, completion.Callback(func(r IOResult) { read = r }))
	ioc.Run()
	if wrote != (IOResult{N: len(all)}) || read != (IOResult{N: len(all)}) {
		t.Fatalf("wrote %+v, read %+v, want %d bytes", wrote, read, len(all))
	}
	if !bytes.Equal(got, all) || !sameBuffers(saved, bufs) {
		t.Fatal("the bytes read are not the concatenation of the buffers, or the buffers changed")
	}
}
