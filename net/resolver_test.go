package net

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

func TestResolverLiteralsNamesAndPorts(t *testing.T) {
	ctx := executor.NewIOContext()
	r := NewResolver(ctx)
	r.lookup = func(_ context.Context, network, host string) ([]netip.Addr, error) {
		if host != "example.test" {
			return nil, errors.New("no such host")
		}
		return []netip.Addr{netip.MustParseAddr("::ffff:192.0.2.1"), netip.MustParseAddr("2001:db8::1")}, nil
	}
	tests := []struct {
		host, port string
		want       []netip.AddrPort
		wantErr    bool
	}{
		{"127.0.0.1", "80", []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:80")}, false},
		{"example.test", "8080", []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:8080"), netip.MustParseAddrPort("[2001:db8::1]:8080")}, false},
		{"example.test", "http", []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:80"), netip.MustParseAddrPort("[2001:db8::1]:80")}, false},
		{"missing.test", "80", nil, true},
		{"127.0.0.1", "no-such-service-name", nil, true},
	}
	for _, tt := range tests {
		var got ResolveResult
		r.AsyncResolve(tt.host, tt.port, completion.Callback(func(res ResolveResult) { got = res }))
		ctx.Run()
		ctx.Restart()
		if (got.Err != nil) != tt.wantErr {
			t.Fatalf("%s:%s: error %v", tt.host, tt.port, got.Err)
		}
		if diff := cmp.Diff(tt.want, got.Addrs, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
			t.Fatalf("%s:%s (-want +got):\n%s", tt.host, tt.port, diff)
		}
	}
}

func TestResolverCancelledByContext(t *testing.T) {
	ctx := executor.NewIOContext()
	r := NewResolver(ctx)
	started := make(chan struct{})
	r.lookup = func(c context.Context, _, _ string) ([]netip.Addr, error) {
		close(started)
		<-c.Done()
		return nil, c.Err()
	}
	cctx, cancel := context.WithCancel(context.Background())
	var got ResolveResult
	r.AsyncResolve("slow.test", "80", completion.WithContext(cctx, completion.Callback(func(res ResolveResult) { got = res })))
	go func() { <-started; cancel() }()
	ctx.Run()
	if !errors.Is(got.Err, completion.ErrOperationAborted) || !errors.Is(got.Err, context.Canceled) {
		t.Fatalf("cancelled resolve: %v", got.Err)
	}
}
