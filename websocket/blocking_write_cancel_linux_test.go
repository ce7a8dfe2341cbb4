//go:build linux && !beastgo_portable

package websocket

// This test needs a write that its context interrupts while the kernel is not taking its bytes:
// net's epoll path does that; its portable path (Go's net package) cannot, and the write ends only
// when the peer reads or the socket is closed (docs/websocket.md, Cancellation).

import (
	"context"
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
)

// TestBlockingWriteCancelled cancels a write stuck behind a peer that does not read, over TCP: the
// write fails with the cancellation, and so does a later read, since the frame on the wire is torn.
func TestBlockingWriteCancelled(t *testing.T) {
	ioc := runContext(t)
	cn, sn := tcpSockets(t, ioc)
	_, server := openStreams(t, cn, sn)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// Far more than the loopback connection's buffers hold while the client reads nothing.
	msg := make([]byte, 64<<20)
	server.SetBinary()
	go func() { done <- server.Write(ctx, msg) }()
	waitUntil(ioc, func() bool { return server.wrBusy })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("write cancelled in flight: %v; want context.Canceled and ErrOperationAborted", err)
	}
	if _, err := server.ReadSome(context.Background(), make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("read after a cancelled write: %v; want the write's cancellation", err)
	}
}
