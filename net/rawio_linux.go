package net

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// readFD and writeFD read and write a non-blocking socket, made with RawSyscall:
// without the scheduler's bookkeeping around a system call that might block (entersyscall and
// exitsyscall, a third of a round trip's user-space time). The descriptors are non-blocking, so
// the call never parks the thread; it only keeps its P for the microseconds the kernel takes, as
// any computation does. Go's own poller keeps the bookkeeping because it serves any descriptor;
// these serve only the reactor's sockets.
//
// They are recvfrom(2) and sendto(2) rather than read(2) and write(2): the socket calls skip the
// file layer's position lock and notification hooks, and MSG_NOSIGNAL makes a write to a peer that
// has gone fail with EPIPE without raising SIGPIPE first.
//
// Under the race detector they tell it what syscall.Read and Write do: the bytes the kernel
// wrote or read, and the order that data through a descriptor implies.
func readFD(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	raceRead(b[:r])
	return int(r), nil
}

func writeFD(fd int, b []byte) (int, error) {
	raceBeforeWrite()
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), unix.MSG_NOSIGNAL, 0, 0)
	if e != 0 {
		return -1, e
	}
	raceWrote(b[:r])
	return int(r), nil
}
