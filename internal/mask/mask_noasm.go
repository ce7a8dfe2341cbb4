//go:build !amd64 || purego

package mask

// haveAsm reports whether blocks masks with assembly: never, here.
const haveAsm = false

// blocks masks nothing: without assembly for this architecture, words does it all.
func blocks(b []byte, k uint64) int { return 0 }
