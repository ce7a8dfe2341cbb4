//go:build !unix

package main

import "time"

// processCPU reports nothing where getrusage(2) does not exist: the server CPU column is left
// blank there.
func processCPU() (user, sys time.Duration) { return 0, 0 }

// raiseFileLimit does nothing where there is no RLIMIT_NOFILE.
func raiseFileLimit() error { return nil }

// fileLimit is unknown where there is no RLIMIT_NOFILE.
func fileLimit() uint64 { return 0 }
