//go:build linux && !beastgo_portable && !race && !msan && !asan

package net

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// readFD and writeFD read and write a non-blocking socket with RawSyscall: without the
// scheduler's bookkeeping around a system call that might block (entersyscall and exitsyscall, a
// third of a round trip's user-space time). The sockets are non-blocking, so the call never parks
// the thread; it only keeps its P for the microseconds the kernel takes, as any computation does
// (a buffer in file-backed memory that faults inside the call would keep it longer). Go's own
// poller keeps the bookkeeping because it serves any descriptor; these serve only sockets.
//
// They are recvfrom(2) and sendto(2) rather than read(2) and write(2): the socket calls skip the
// file layer's position lock and notification hooks, and MSG_NOSIGNAL makes a write to a peer that
// has gone fail with EPIPE without raising SIGPIPE first. (On 386 and s390x these two calls need
// Linux 4.3 or later.)
//
// Builds with the race detector or a sanitizer use x/sys's annotated Read and Write instead
// (rawio_checked_linux.go), which tell the detector about the buffers and order a write to a peer
// before the read that returns its data; the speed does not matter there.
func readFD(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func writeFD(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}
