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

// gatherState is what a gather write keeps between calls, so that it allocates nothing per call:
// the iovec array and the message header sendmsg(2) reads.
type gatherState struct {
	bufs [][]byte // the buffers of the gather write in progress
	iov  [maxGatherBuffers]unix.Iovec
	msg  unix.Msghdr
}

// writevFD writes the first maxGatherBuffers non-empty buffers of g.bufs with one sendmsg(2), the
// socket call's writev(2) (with MSG_NOSIGNAL, as writeFD), and returns how many bytes it wrote and
// how many it tried to. It drops its pointers to the buffers afterwards, so that g does not keep
// them alive.
func writevFD(fd int, g *gatherState) (n, total int, err error) {
	k := 0
	for _, b := range g.bufs {
		if len(b) == 0 {
			continue
		}
		g.iov[k].Base = unsafe.SliceData(b)
		g.iov[k].SetLen(len(b))
		total += len(b)
		if k++; k == maxGatherBuffers {
			break
		}
	}
	if k == 0 {
		return 0, 0, nil
	}
	g.msg.Iov = &g.iov[0]
	g.msg.SetIovlen(k)
	r, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&g.msg)), unix.MSG_NOSIGNAL)
	clear(g.iov[:k])
	g.msg.Iov = nil
	if e != 0 {
		return -1, total, e
	}
	return int(r), total, nil
}

func writeFD(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}
