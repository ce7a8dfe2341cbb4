//go:build linux && !beastgo_portable && (race || msan || asan)

package net

import "golang.org/x/sys/unix"

// Under the race detector or a sanitizer, sockets are read and written through x/sys's Read and
// Write, whose annotations tell the detector which bytes the kernel wrote or read and order a
// write to a peer (through x/sys or not) before the read that returns its data. See
// rawio_linux.go for the calls other builds make.

func readFD(fd int, b []byte) (int, error) { return unix.Read(fd, b) }

func writeFD(fd int, b []byte) (int, error) { return unix.Write(fd, b) }
