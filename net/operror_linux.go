//go:build linux && !beastgo_portable

package net

import (
	stdnet "net"
	"net/netip"
)

// opError reports err, a system call's *os.SyscallError or net.ErrClosed, as Go's net package
// reports the errors of its connections and listeners: a *net.OpError naming the operation (op:
// "dial", "listen", "accept", "read", "write", "shutdown", "close", "set" or "get" for socket
// options, "getsockname" and "getpeername" for the addresses), the network ("tcp"), and the
// addresses known without a system call (Source the local one, Addr the peer's, or a listener's
// own). It returns nil for nil.
func opError(op string, local, remote netip.AddrPort, err error) error {
	if err == nil {
		return nil
	}
	return &stdnet.OpError{Op: op, Net: "tcp", Source: tcpAddr(local), Addr: tcpAddr(remote), Err: err}
}

// tcpAddr converts ap for an OpError: nil (not a nil *TCPAddr) when ap is unknown.
func tcpAddr(ap netip.AddrPort) stdnet.Addr {
	if !ap.IsValid() {
		return nil
	}
	return stdnet.TCPAddrFromAddrPort(ap)
}

// opError reports err of op on d, with the addresses d knows.
// A connection's known address is its peer's, a listener's its own: Go's net package reports
// both as Addr (an accept error's Addr is the listener's address), so Source stays unset.
func (d *descriptor) opError(op string, err error) error {
	return opError(op, netip.AddrPort{}, d.addr.addrPort(), err)
}

// name is the Op of an operation kind's errors, Go's net package's name for it.
func (k opKind) name() string {
	switch k {
	case opRead:
		return "read"
	case opWrite, opWriteBuffers, opWriteAll:
		return "write"
	case opConnect:
		return "dial"
	case opWaitRead:
		return "wait"
	}
	return "accept"
}
