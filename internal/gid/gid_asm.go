//go:build gc && (amd64 || arm64) && !beastgo_nogid

package gid

// asm is true where current reads the runtime's goroutine descriptor.
const asm = true

// current returns the address of the calling goroutine's runtime descriptor.
//
//go:noescape
func current() uintptr
