package net

import (
	"bytes"
	"runtime"
	"strconv"
)

// goroutineID reads the calling goroutine's number from runtime.Stack. It is slow, and it does not
// depend on how the executors identify goroutines, so tests that check where a handler ran hold
// with and without the tag beastgo_nogid.
func goroutineID() uint64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

// GoroutineID is goroutineID for the package's external tests.
var GoroutineID = goroutineID
