//go:build race

package net

import (
	"runtime"
	"unsafe"
)

// ioSync orders a write through any descriptor before a read that returns data, for the race
// detector, as syscall's does.
var ioSync int64

// raceRead records a read that filled b.
func raceRead(b []byte) {
	if len(b) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&b[0]), len(b))
	}
	runtime.RaceAcquire(unsafe.Pointer(&ioSync))
}

// raceBeforeWrite records that what happened before a write is visible to a later read.
func raceBeforeWrite() { runtime.RaceReleaseMerge(unsafe.Pointer(&ioSync)) }

// raceWrote records a write that took b.
func raceWrote(b []byte) {
	if len(b) > 0 {
		runtime.RaceReadRange(unsafe.Pointer(&b[0]), len(b))
	}
}
