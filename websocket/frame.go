package websocket

import "encoding/binary"

// Opcode is the kind of a frame (RFC 6455 section 5.2): a piece of a data message or a control
// frame.
type Opcode uint8

// The opcodes RFC 6455 defines; 0x3 to 0x7 and 0xB to 0xF are reserved, and a frame carrying one
// fails with [ErrBadOpcode].
const (
	OpContinuation Opcode = 0x0 // a later fragment of the message in progress
	OpText         Opcode = 0x1 // the first frame of a UTF-8 text message
	OpBinary       Opcode = 0x2 // the first frame of a binary message
	OpClose        Opcode = 0x8 // the closing handshake
	OpPing         Opcode = 0x9 // a keep-alive or liveness probe, answered with a pong
	OpPong         Opcode = 0xA // the answer to a ping, or a unidirectional heartbeat
)

// IsControl reports whether op is a control opcode (its high bit set): such frames may come
// between the fragments of a message, so they must be whole and short (RFC 6455 section 5.5).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

// isDefined reports whether op is one of the six opcodes RFC 6455 defines rather than a reserved
// one.
func (op Opcode) isDefined() bool {
	switch op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
		return true
	}
	return false
}

// Role is the side of the connection a stream plays (Beast's role_type): the opening handshake
// decides it, and it decides the direction of masking (RFC 6455 section 5.1, a client masks every
// frame it sends, a server masks none) and the suggested timeouts (SuggestedTimeout).
type Role uint8

// The two roles.
const (
	RoleClient Role = iota // frames we send are masked; frames we receive must not be
	RoleServer             // frames we receive must be masked; frames we send are not
)

// role, roleClient and roleServer are the package's own short names for Role and its values.
type role = Role

const (
	roleClient = RoleClient
	roleServer = RoleServer
)

// Frame header sizes and limits of RFC 6455 section 5.2.
const (
	// maxHeaderSize is the largest header: 2 fixed bytes, an 8-byte length and a 4-byte key.
	maxHeaderSize = 14

	// maxControlPayload is the largest payload of a control frame (section 5.5).
	maxControlPayload = 125

	// rsv1 is the first reserved bit within frameHeader.rsv, the one permessage-deflate (RFC
	// 7692) uses to mark a compressed message; rsv2 and rsv3 follow it.
	rsv1 = 0x4

	// len16 and len64 are the 7-bit length values announcing a 16-bit and a 64-bit length.
	len16 = 126
	len64 = 127
)

// frameHeader is one frame's header, decoded (RFC 6455 section 5.2). It is internal: the stream
// is the API, and callers see messages, not frames.
type frameHeader struct {
	fin    bool    // the last frame of its message
	rsv    uint8   // RSV1, RSV2, RSV3 as the low three bits, RSV1 highest (see rsv1)
	op     Opcode  // the frame's kind
	masked bool    // the payload is masked with key
	key    [4]byte // the masking key, meaningful only when masked
	length uint64  // the payload's length in bytes, at most 2^63-1
}

// encode writes h into b in its shortest form, the only form parseHeader accepts, and returns the
// number of bytes written. b must hold at least maxHeaderSize bytes, and h.length must be at
// most 2^63-1; checking either is the writer's job, since both are fixed by how it is built.
func (h *frameHeader) encode(b []byte) int {
	_ = b[maxHeaderSize-1] // one bounds check for every write below
	b0 := byte(h.op&0xF) | (h.rsv&0x7)<<4
	if h.fin {
		b0 |= 0x80
	}
	var b1 byte
	if h.masked {
		b1 = 0x80
	}
	b[0] = b0
	n := 2
	switch {
	case h.length < len16:
		b[1] = b1 | byte(h.length)
	case h.length <= 0xFFFF:
		b[1] = b1 | len16
		binary.BigEndian.PutUint16(b[2:], uint16(h.length))
		n = 4
	default:
		b[1] = b1 | len64
		binary.BigEndian.PutUint64(b[2:], h.length)
		n = 10
	}
	if h.masked {
		copy(b[n:], h.key[:])
		n += 4
	}
	return n
}

// headerSize returns the size of the header whose second byte is b1 (the mask bit and the 7-bit
// length decide it): the reader needs it before it can parse the rest.
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7F {
	case len16:
		n += 2
	case len64:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4
	}
	return n
}

// parseHeader decodes the frame header at the start of b, received by a stream of role r. It
// returns the header and its size in bytes; when b holds only part of a header it returns n == 0
// and no error, so that the reader reads more and calls again.
//
// A header that breaks RFC 6455 fails with the error naming the first rule broken, checked in
// this order: reserved bits ([ErrBadReservedBits]), reserved opcodes ([ErrBadOpcode]), control
// frames fragmented ([ErrBadControlFragment]) or over 125 bytes ([ErrBadControlSize]), masking
// wrong for r ([ErrBadUnmaskedFrame], [ErrBadMaskedFrame]), and lengths not in their shortest
// form or over 2^63-1 ([ErrBadSize]).
//
// allowRSV1 is set when permessage-deflate is in use: RSV1 then marks a compressed message, and is
// accepted on a text or binary frame, the first of a message (RFC 7692 section 6), but still
// refused on continuation and control frames.
func parseHeader(b []byte, r role, allowRSV1 bool) (h frameHeader, n int, err error) {
	if len(b) < 2 {
		return frameHeader{}, 0, nil
	}
	n = headerSize(b[1])
	if len(b) < n {
		return frameHeader{}, 0, nil
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = (b[0] >> 4) & 0x7
	h.op = Opcode(b[0] & 0xF)
	h.masked = b[1]&0x80 != 0

	if h.rsv != 0 && (h.rsv != rsv1 || !allowRSV1 || (h.op != OpText && h.op != OpBinary)) {
		return frameHeader{}, 0, ErrBadReservedBits
	}
	if !h.op.isDefined() {
		return frameHeader{}, 0, ErrBadOpcode
	}
	length := uint64(b[1] & 0x7F)
	if h.op.IsControl() {
		if !h.fin {
			return frameHeader{}, 0, ErrBadControlFragment
		}
		// The 7-bit length decides: a control frame announcing a 16- or 64-bit length is too big
		// whatever the value, since 126 and 127 mean lengths of at least 126.
		if length > maxControlPayload {
			return frameHeader{}, 0, ErrBadControlSize
		}
	}
	switch {
	case r == roleServer && !h.masked:
		return frameHeader{}, 0, ErrBadUnmaskedFrame
	case r == roleClient && h.masked:
		return frameHeader{}, 0, ErrBadMaskedFrame
	}
	p := 2
	switch length {
	case len16:
		length = uint64(binary.BigEndian.Uint16(b[2:]))
		p = 4
		if length < len16 {
			return frameHeader{}, 0, ErrBadSize
		}
	case len64:
		length = binary.BigEndian.Uint64(b[2:])
		p = 10
		if length <= 0xFFFF || length>>63 != 0 {
			return frameHeader{}, 0, ErrBadSize
		}
	}
	h.length = length
	if h.masked {
		copy(h.key[:], b[p:p+4])
	}
	return h, n, nil
}

// messageState follows the data frames of one direction to check that they form messages (RFC
// 6455 section 5.4): a text or binary frame starts a message, continuations extend it, and the
// frame with fin set ends it. Control frames may come anywhere and leave it unchanged.
type messageState struct {
	inMessage bool // a message has started and its final frame has not yet come
}

// next checks a frame of opcode op and fin flag, whose header parseHeader accepted, against the
// message in progress, and records it. A continuation with no message fails with
// [ErrBadContinuation], a text or binary frame inside a message with [ErrBadDataFrame]; on an
// error the state is left as it was, since the connection is failed anyway.
func (s *messageState) next(op Opcode, fin bool) error {
	switch {
	case op.IsControl():
		return nil
	case op == OpContinuation:
		if !s.inMessage {
			return ErrBadContinuation
		}
	default:
		if s.inMessage {
			return ErrBadDataFrame
		}
	}
	s.inMessage = !fin
	return nil
}
