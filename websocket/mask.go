package websocket

import "github.com/beastgo/beast/internal/mask"

// maskBytes masks (or unmasks: XOR is its own inverse) b in place with key, as RFC 6455 section
// 5.3 defines, starting at key byte pos&3. pos is the offset within the payload of b's first
// byte, so a payload masked in pieces, each call given the previous call's result, comes out as
// if masked whole. It returns the position of the byte after b, modulo 4.
//
// The work is internal/mask's (with AVX2 assembly on amd64), which the bench program measures
// too.
func maskBytes(key [4]byte, pos int, b []byte) int { return mask.Bytes(key, pos, b) }
