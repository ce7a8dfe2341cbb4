//go:build linux && !beastgo_portable

package net

import (
	"net/netip"
	"testing"
	"unsafe"
)

// TestErrorAddrKeepsTheAddress checks that a descriptor's compact address gives back what it was
// given, IPv4 and IPv6 told apart (an IPv4-mapped IPv6 address stays IPv6), and that a zone is the
// one thing it drops.
func TestErrorAddrKeepsTheAddress(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"0.0.0.0:0", "0.0.0.0:0"},
		{"[::1]:443", "[::1]:443"},
		{"[::ffff:10.1.2.3]:80", "[::ffff:10.1.2.3]:80"},
		{"[2001:db8::1]:65535", "[2001:db8::1]:65535"},
		{"[fe80::1%eth0]:22", "[fe80::1]:22"},
	} {
		in := netip.MustParseAddrPort(c.in)
		e := makeErrorAddr(in)
		if got := e.addrPort(); got.String() != c.want {
			t.Errorf("makeErrorAddr(%v).addrPort() = %v, want %v", in, got, c.want)
		}
	}
	none := makeErrorAddr(netip.AddrPort{})
	if got := none.addrPort(); got.IsValid() {
		t.Errorf("no address kept gives %v, want the zero AddrPort", got)
	}
}

// TestDescriptorSize holds a descriptor to the 352-byte size class on 64-bit platforms: a server
// keeps one per connection, and its idle connection's cost is measured against 1 KiB
// (docs/benchmarks.md). A field added past that has to move something else out.
func TestDescriptorSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the size class is for 64-bit platforms")
	}
	if got := unsafe.Sizeof(descriptor{}); got > 352 {
		t.Errorf("unsafe.Sizeof(descriptor{}) = %d B, over the 352-byte size class", got)
	}
}
