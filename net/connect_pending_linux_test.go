//go:build linux

package net

import (
	"context"
	"errors"
	stdnet "net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// unansweredAddr returns a loopback address where a connect stays pending: a listener with a
// backlog of 0 whose one queued connection is never accepted, so Linux drops further SYNs. It runs
// on both paths (it makes the listener with system calls, not with a TCPAcceptor).
func unansweredAddr(t *testing.T) netip.AddrPort {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4(sa.(*unix.SockaddrInet4).Addr), uint16(sa.(*unix.SockaddrInet4).Port))
	// Fill the accept queue until a connect times out.
	for range 8 {
		c, err := stdnet.DialTimeout("tcp", addr.String(), 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the listener's accept queue never filled")
	return addr
}

// pendingConnect starts a connect that stays pending, and skips the test if it does not.
func pendingConnect(t *testing.T, ioc *executor.IOContext, s *TCPSocket, addr netip.AddrPort, h func(chan error) completion.Handler[error]) chan error {
	t.Helper()
	res := make(chan error, 1)
	s.AsyncConnect(addr, h(res))
	time.Sleep(20 * time.Millisecond)
	ioc.Poll()
	ioc.Restart()
	if len(res) != 0 {
		t.Skipf("the connect did not stay pending: %v", <-res)
	}
	return res
}

func TestPendingConnectCancelContextAndClose(t *testing.T) {
	ioc := executor.NewIOContext()
	addr := unansweredAddr(t)
	plain := func(ch chan error) completion.Handler[error] { return completion.Chan(ch) }

	s := NewTCPSocket(ioc)
	res := pendingConnect(t, ioc, s, addr, plain)
	if n := s.Cancel(); n != 1 {
		t.Fatalf("Cancel reported %d, want 1", n)
	}
	ioc.Run()
	if err := <-res; !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("cancelled connect: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	res = pendingConnect(t, ioc, s, addr, func(ch chan error) completion.Handler[error] {
		return completion.WithContext(ctx, completion.Chan(ch))
	})
	cancel()
	ioc.Run()
	if err := <-res; !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("connect whose context ended: %v", err)
	}

	// A second connect replaces the first, which completes with ErrOperationAborted.
	res = pendingConnect(t, ioc, s, addr, plain)
	res2 := pendingConnect(t, ioc, s, addr, plain)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ioc.Run()
	for i, ch := range []chan error{res, res2} {
		if err := <-ch; !errors.Is(err, completion.ErrOperationAborted) {
			t.Fatalf("connect %d: %v, want ErrOperationAborted", i+1, err)
		}
	}
}
