package websocket

import "errors"

// ErrProtocol is the category of every violation of RFC 6455 by the peer (Beast's
// protocol_violation condition): errors.Is(err, ErrProtocol) holds for each of the errors below
// it. A read that meets one sends the close code it carries (see [ProtocolError.Code]) and then
// fails with it.
var ErrProtocol = errors.New("websocket: protocol violation")

// ProtocolError is one violation of RFC 6455: what was wrong, and the close code that answers it
// (1002 protocol error, 1007 invalid payload data, 1009 message too big).
type ProtocolError struct {
	msg  string
	code CloseCode
}

// Error returns the violation's description, prefixed by the package's name.
func (e *ProtocolError) Error() string { return "websocket: " + e.msg }

// Is reports whether target is ErrProtocol, the category of every ProtocolError.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// Code returns the close code the violation is answered with.
func (e *ProtocolError) Code() CloseCode { return e.code }

func protocolError(code CloseCode, msg string) *ProtocolError {
	return &ProtocolError{msg: msg, code: code}
}

// The protocol violations, each its own error (Beast's websocket::error values of the
// protocol_violation condition). Each matches ErrProtocol.
var (
	ErrBadOpcode          = protocolError(CloseProtocolError, "reserved opcode")
	ErrBadDataFrame       = protocolError(CloseProtocolError, "data frame inside a fragmented message")
	ErrBadContinuation    = protocolError(CloseProtocolError, "continuation frame with no message to continue")
	ErrBadReservedBits    = protocolError(CloseProtocolError, "reserved bits set")
	ErrBadControlFragment = protocolError(CloseProtocolError, "fragmented control frame")
	ErrBadControlSize     = protocolError(CloseProtocolError, "control frame payload over 125 bytes")
	ErrBadUnmaskedFrame   = protocolError(CloseProtocolError, "unmasked frame from a client")
	ErrBadMaskedFrame     = protocolError(CloseProtocolError, "masked frame from a server")
	ErrBadSize            = protocolError(CloseProtocolError, "payload length not in its shortest form, or over 2^63-1")
	ErrBadFramePayload    = protocolError(CloseInvalidPayload, "invalid UTF-8 in a text message")
	ErrBadCloseCode       = protocolError(CloseProtocolError, "invalid close code")
	ErrBadCloseSize       = protocolError(CloseProtocolError, "close frame payload of one byte")
	ErrBadClosePayload    = protocolError(CloseInvalidPayload, "invalid UTF-8 in a close reason")
	ErrMessageTooBig      = protocolError(CloseTooBig, "message larger than the read limit")
)
