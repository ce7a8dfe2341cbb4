//go:build linux && !beastgo_portable

package net

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

func toSockaddr(ap netip.AddrPort) (unix.Sockaddr, int) {
	addr := ap.Addr()
	if addr.Is4() || addr.Is4In6() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: addr.Unmap().As4()}, unix.AF_INET
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: addr.As16()}
	return sa, unix.AF_INET6
}

func fromSockaddr(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
