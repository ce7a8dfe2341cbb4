//go:build !purego

#include "textflag.h"

// func xorAVX2(p *byte, n int, k uint64)
//
// XORs the n bytes at p (n a positive multiple of 32) with k repeated: 128 bytes an iteration
// while that many are left, then 32. The loads and stores are unaligned ones, since a payload
// starts wherever its buffer does.
TEXT ·xorAVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ k+16(FP), X0
	VPBROADCASTQ X0, Y0
	CMPQ CX, $128
	JB   tail

	// A loop that starts on a 32-byte boundary is decoded the same way in every binary it is
	// linked into, so its speed does not depend on where the linker put it.
	PCALIGN $32

loop128:
	VPXOR   0(DI), Y0, Y1
	VPXOR   32(DI), Y0, Y2
	VPXOR   64(DI), Y0, Y3
	VPXOR   96(DI), Y0, Y4
	VMOVDQU Y1, 0(DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	VMOVDQU Y4, 96(DI)
	ADDQ    $128, DI
	SUBQ    $128, CX
	CMPQ    CX, $128
	JAE     loop128

tail:
	TESTQ CX, CX
	JZ    done

loop32:
	VPXOR   0(DI), Y0, Y1
	VMOVDQU Y1, 0(DI)
	ADDQ    $32, DI
	SUBQ    $32, CX
	JNZ     loop32

done:
	VZEROUPPER
	RET
