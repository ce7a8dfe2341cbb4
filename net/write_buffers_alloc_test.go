package net

import (
	"io"
	stdnet "net"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// allocsPerWrite returns the allocations of one write started by write on a ConnStream over a
// loopback TCP connection whose peer discards everything, in steady state.
func allocsPerWrite(t *testing.T, write func(cs *ConnStream, h completion.Handler[IOResult])) float64 {
	t.Helper()
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	drained := make(chan struct{})
	go func() {
		io.Copy(io.Discard, peer)
		close(drained)
	}()
	defer func() {
		peer.Close()
		<-drained
	}()
	ioc := executor.NewIOContext()
	cs := FromConn(conn, ioc)
	defer cs.Close()
	var res IOResult
	h := completion.Callback(func(r IOResult) { res = r })
	allocs := testing.AllocsPerRun(200, func() {
		write(cs, h)
		ioc.Run()
		ioc.Restart()
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	})
	return allocs
}

// A ConnStream's gather write allocates no more than its plain write: net.Buffers works on a
// copy of the slice that the ConnStream keeps.
func TestConnStreamGatherWriteAllocatesAsAWrite(t *testing.T) {
	header, payload := make([]byte, 2), make([]byte, 1000)
	bufs := [][]byte{header, payload}
	plain := allocsPerWrite(t, func(cs *ConnStream, h completion.Handler[IOResult]) { cs.AsyncWriteSome(payload, h) })
	gather := allocsPerWrite(t, func(cs *ConnStream, h completion.Handler[IOResult]) { cs.AsyncWriteSomeBuffers(bufs, h) })
	t.Logf("allocations per write: %.1f, per gather write: %.1f", plain, gather)
	if gather > plain {
		t.Fatalf("a gather write allocates %.1f times, a write %.1f", gather, plain)
	}
}
