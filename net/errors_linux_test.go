//go:build linux

package net

import stdnet "net"

func errClosed() error { return stdnet.ErrClosed }
