package net

import (
	"errors"
	"net/netip"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
)

// ConnectResult is the result of AsyncConnectAny: the address connected to, or the error of the
// last attempt.
type ConnectResult struct {
	Addr netip.AddrPort
	Err  error
}

// SetErr sets Err (completion.ErrorSetter).
func (r *ConnectResult) SetErr(err error) { r.Err = err }

// ErrNoAddresses is the error of AsyncConnectAny given no address to try.
var ErrNoAddresses = errors.New("net: no addresses to connect to")

// connector is the state of AsyncConnectAny: the next address to try.
type connector struct {
	s       *TCPSocket
	addrs   []netip.AddrPort
	i       int
	attempt composed.Slot[error]
}

// AsyncConnectAny connects s to each address in turn until one accepts (Asio's async_connect with
// resolver results), and completes h with the address it connected to, or with the last error.
// Cancelling h's context stops it between and during attempts.
func AsyncConnectAny(s *TCPSocket, addrs []netip.AddrPort, h completion.Handler[ConnectResult]) {
	c := &connector{s: s, addrs: addrs}
	composed.Start(s.Executor(), h, c.step)
}

func (c *connector) step(op *composed.Op[ConnectResult]) {
	if op.Resumed() {
		if c.attempt.Value == nil {
			op.Complete(ConnectResult{Addr: c.addrs[c.i]})
			return
		}
		if errors.Is(c.attempt.Value, completion.ErrOperationAborted) || c.i+1 == len(c.addrs) {
			op.Complete(ConnectResult{Err: c.attempt.Value})
			return
		}
		c.i++
	} else if len(c.addrs) == 0 {
		op.Complete(ConnectResult{Err: ErrNoAddresses})
		return
	}
	c.s.AsyncConnect(c.addrs[c.i], composed.Into(op, &c.attempt))
}
