//go:build linux && !beastgo_portable

package net

import (
	"net/netip"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// An accepted socket knows its peer's address, port included, from what accept(2) wrote, over
// IPv4 and IPv6: it is the address the socket's errors name.
func TestAcceptedSocketKnowsItsPeer(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:0", "[::1]:0"} {
		t.Run(listen, func(t *testing.T) {
			ioc := executor.NewIOContext()
			acc := NewTCPAcceptor(ioc)
			if err := acc.Listen(netip.MustParseAddrPort(listen), 0); err != nil {
				t.Skipf("cannot listen on %s here: %v", listen, err)
			}
			defer acc.Close()
			var accepted AcceptResult
			acc.AsyncAccept(ioc, completion.Callback(func(r AcceptResult) { accepted = r }))
			client := NewTCPSocket(ioc)
			defer client.Close()
			var dialErr error
			client.AsyncConnect(acc.Addr(), completion.Callback(func(err error) { dialErr = err }))
			ioc.Run()
			if dialErr != nil || accepted.Err != nil {
				t.Fatalf("connect: %v, accept: %v", dialErr, accepted.Err)
			}
			defer accepted.Socket.Close()
			want, err := client.LocalAddr()
			if err != nil {
				t.Fatal(err)
			}
			if got := accepted.Socket.descriptor().addr.addrPort(); got != want {
				t.Errorf("the accepted socket's peer is %v, the client is at %v", got, want)
			}
		})
	}
}
