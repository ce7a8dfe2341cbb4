package net

import (
	"context"
	"errors"
	stdnet "net"
	"net/netip"
	"strconv"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// ResolveResult is the result of a resolve: the addresses found, in the resolver's order.
type ResolveResult struct {
	Addrs []netip.AddrPort
	Err   error
}

// SetErr sets Err (completion.ErrorSetter).
func (r *ResolveResult) SetErr(err error) { r.Err = err }

// Resolver turns host names into addresses: Asio's ip::tcp::resolver.
//
// It runs each lookup with net.DefaultResolver on a goroutine of its own, which ends when the
// lookup does: name resolution may read files and talk to DNS servers with blocking calls (the
// system's resolver through cgo, or Go's), and Asio likewise runs it on a private thread.
type Resolver struct {
	ex executor.Executor
	// lookup looks host names up; nil means net.DefaultResolver.LookupNetIP. Tests set it to
	// resolve names without the network.
	lookup func(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// NewResolver returns a resolver whose operations complete on ex.
func NewResolver(ex executor.Executor) *Resolver { return &Resolver{ex: ex} }

// AsyncResolve looks up host ("localhost", "example.com", or an IP literal) and completes h with
// an address for each of its IP addresses and port, a number or a service name ("http"). The
// handler's context (completion.WithContext) cancels the lookup.
func (r *Resolver) AsyncResolve(host, port string, h completion.Handler[ResolveResult]) {
	ctx := completion.AssociatedContext(h)
	if ctx == nil {
		ctx = context.Background()
	}
	if ctx.Err() != nil {
		postResult(r.ex, h, ResolveResult{Err: completion.Canceled(ctx)})
		return
	}
	lookup := r.lookup
	if lookup == nil {
		lookup = stdnet.DefaultResolver.LookupNetIP
	}
	w := completion.StartWork(r.ex, completion.AssociatedExecutor(h, r.ex))
	go func() {
		res := resolve(ctx, lookup, host, port)
		w.Handler().Post(func() { // from a goroutine that runs no executor: post
			h.Complete(res)
			w.Finish()
		})
	}()
}

func resolve(ctx context.Context, lookup func(context.Context, string, string) ([]netip.Addr, error), host, port string) ResolveResult {
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		n, serr := stdnet.DefaultResolver.LookupPort(ctx, "tcp", port)
		if serr != nil {
			return ResolveResult{Err: serr}
		}
		p = uint64(n)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		return ResolveResult{Addrs: []netip.AddrPort{netip.AddrPortFrom(addr, uint16(p))}}
	}
	addrs, err := lookup(ctx, "ip", host)
	if err != nil {
		if ctx.Err() != nil {
			err = completion.Canceled(ctx)
		}
		return ResolveResult{Err: err}
	}
	out := make([]netip.AddrPort, len(addrs))
	for i, a := range addrs {
		out[i] = netip.AddrPortFrom(a.Unmap(), uint16(p))
	}
	if len(out) == 0 {
		return ResolveResult{Err: errors.New("net: no addresses for " + host)}
	}
	return ResolveResult{Addrs: out}
}
