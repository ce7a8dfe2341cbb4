//go:build gc && !beastgo_nogid

#include "textflag.h"

// func current() uintptr
TEXT ·current(SB),NOSPLIT,$0-8
	MOVD	g, R0
	MOVD	R0, ret+0(FP)
	RET
