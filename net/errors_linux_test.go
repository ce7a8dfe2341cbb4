//go:build linux && !beastgo_portable

package net

import stdnet "net"

func errClosed() error { return stdnet.ErrClosed }
