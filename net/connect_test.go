package net

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

func TestAsyncConnectAnyTriesEachAddress(t *testing.T) {
	ctx := executor.NewIOContext()
	dead := listen(t, ctx)
	deadAddr := dead.Addr()
	dead.Close()
	live := listen(t, ctx)
	defer live.Close()
	live.AsyncAccept(nil, completion.Callback(func(r AcceptResult) {
		if r.Err == nil {
			r.Socket.Close()
		}
	}))
	s := NewTCPSocket(ctx)
	defer s.Close()
	var got ConnectResult
	AsyncConnectAny(s, []netip.AddrPort{deadAddr, live.Addr()}, completion.Callback(func(r ConnectResult) { got = r }))
	ctx.Run()
	if got.Err != nil || got.Addr != live.Addr() {
		t.Fatalf("connected to %v (%v), want %v", got.Addr, got.Err, live.Addr())
	}

	// Every address refusing: the last error.
	ctx.Restart()
	AsyncConnectAny(s, []netip.AddrPort{deadAddr, deadAddr}, completion.Callback(func(r ConnectResult) { got = r }))
	ctx.Run()
	if !isRefused(got.Err) {
		t.Fatalf("all refused: %v", got.Err)
	}
	ctx.Restart()
	AsyncConnectAny(s, nil, completion.Callback(func(r ConnectResult) { got = r }))
	ctx.Run()
	if !errors.Is(got.Err, ErrNoAddresses) {
		t.Fatalf("no addresses: %v", got.Err)
	}
	// A context already done: nothing is tried.
	ctx.Restart()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	AsyncConnectAny(s, []netip.AddrPort{live.Addr()}, completion.WithContext(done, completion.Callback(func(r ConnectResult) { got = r })))
	ctx.Run()
	if !errors.Is(got.Err, context.Canceled) {
		t.Fatalf("cancelled connect: %v", got.Err)
	}
}
