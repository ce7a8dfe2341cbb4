//go:build amd64 || arm64

package gid

const known = true

// Current returns an identifier of the calling goroutine, unique among live goroutines.
//
//go:noescape
func Current() uintptr
