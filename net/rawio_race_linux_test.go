//go:build linux && !beastgo_portable && race

package net

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// Under the race detector, data written to a peer with unix.Write orders what preceded the write
// before the read that returns it, as syscall and x/sys order their own reads and writes: the
// detector must not report the handler's read of shared.
func TestRaceDetectorSeesAWriteToThePeerBeforeTheRead(t *testing.T) {
	ctx := executor.NewIOContext()
	client, server := connectedPair(t, ctx)
	defer client.Close()
	defer server.Close()
	shared := 0
	got := -1
	buf := make([]byte, 16)
	client.AsyncReadSome(buf, completion.Callback(func(IOResult) { got = shared }))
	fd := server.d.Load().fd
	go func() { shared = 42; unix.Write(fd, []byte("x")) }()
	ctx.Run()
	if got != 42 {
		t.Fatalf("the handler saw %d, want 42", got)
	}
}
