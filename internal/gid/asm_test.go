//go:build gc && (amd64 || arm64) && !beastgo_nogid

package gid

import "testing"

func TestAssemblyReadIsUsed(t *testing.T) {
	if !asm || !Known {
		t.Fatalf("gc on %s: asm = %v, Known = %v, want both true", "amd64 or arm64", asm, Known)
	}
	if Current() == 0 {
		t.Fatal("Current() = 0 with the assembly read")
	}
}
