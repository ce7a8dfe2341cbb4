package net

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// readFD and writeFD are read(2) and write(2) on a non-blocking descriptor, made with RawSyscall:
// without the scheduler's bookkeeping around a system call that might block (entersyscall and
// exitsyscall, a third of a round trip's user-space time). The descriptors are non-blocking, so
// the call never parks the thread; it only keeps its P for the microseconds the kernel takes, as
// any computation does. Go's own poller keeps the bookkeeping because it serves any descriptor;
// these serve only the reactor's sockets.
//
// Under the race detector they tell it what syscall.Read and Write do: the bytes the kernel
// wrote or read, and the order that data through a descriptor implies.
func readFD(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	raceRead(b[:r])
	return int(r), nil
}

func writeFD(fd int, b []byte) (int, error) {
	raceBeforeWrite()
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return -1, e
	}
	raceWrote(b[:r])
	return int(r), nil
}
