//go:build linux && !beastgo_portable

package net

import "net/netip"

// errorAddr is the address a descriptor keeps for its errors (descriptor.addr), in 20 bytes where
// netip.AddrPort takes 32: a server holds a descriptor per connection, and the 12 bytes are what
// keeps a descriptor in its size class. It keeps no IPv6 zone: the addresses the kernel reports
// here carry none (fromSockaddr), so only a connect target given with a zone loses it, and only in
// its errors.
type errorAddr struct {
	ip   [16]byte // an IPv4 address in its IPv4-mapped form
	port uint16
	kind uint8 // 0 for no address, 4 or 6
}

// makeErrorAddr keeps ap, or nothing if ap is not valid.
func makeErrorAddr(ap netip.AddrPort) errorAddr {
	a := ap.Addr()
	switch {
	case a.Is4():
		return errorAddr{ip: a.As16(), port: ap.Port(), kind: 4}
	case a.Is6():
		return errorAddr{ip: a.As16(), port: ap.Port(), kind: 6}
	}
	return errorAddr{}
}

// addrPort returns the address kept, or the zero AddrPort if none is.
func (e *errorAddr) addrPort() netip.AddrPort {
	switch e.kind {
	case 4:
		return netip.AddrPortFrom(netip.AddrFrom16(e.ip).Unmap(), e.port)
	case 6:
		return netip.AddrPortFrom(netip.AddrFrom16(e.ip), e.port)
	}
	return netip.AddrPort{}
}
