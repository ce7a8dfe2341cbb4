//go:build !race

package testkit

// Race reports whether the binary was built with the race detector, which slows every handler
// about tenfold: tests then run fewer rounds of the same interleavings.
const Race = false
