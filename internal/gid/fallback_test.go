//go:build beastgo_nogid

package gid

import "testing"

func TestTagForcesTheFallback(t *testing.T) {
	if asm || Known {
		t.Fatalf("built with beastgo_nogid: asm = %v, Known = %v, want both false", asm, Known)
	}
	if got := Current(); got != 0 {
		t.Fatalf("built with beastgo_nogid: Current() = %#x, want 0", got)
	}
}
