package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxCloseReason is the longest reason a close frame can carry: a control frame's payload is at
// most 125 bytes (RFC 6455 section 5.5), two of which are the code.
const maxCloseReason = 123

// ErrBadCloseReason reports a CloseReason that cannot be sent: a code that may not appear on the
// wire, a reason over 123 bytes, a reason that is not valid UTF-8, or a reason without a code.
// It is the caller's mistake, found before anything is written, so it does not match ErrProtocol.
var ErrBadCloseReason = errors.New("websocket: close reason cannot be sent")

// CloseReason is the content of a close frame (Beast's close_reason): a status code and a
// UTF-8 reason of at most 123 bytes, meant for humans and debugging rather than for programs.
//
// Sent with Code CloseNone, it asks for a close frame with an empty payload, and Reason must then
// be empty. Received, a close frame with an empty payload reads as Code CloseNoStatus
// (RFC 6455 section 7.1.5), which is never sent: a read answers it with CloseNormal, as Beast's
// does (a close frame's code is what a peer's logs show; 1000 says the close was clean).
type CloseReason struct {
	Code   CloseCode
	Reason string
}

// parseClosePayload decodes the payload of a received close frame. The errors are the peer's
// violations Beast checks for: ErrBadCloseSize for a one-byte payload, ErrBadCloseCode for a code
// that may not be sent, ErrBadClosePayload for a reason that is not valid UTF-8; and
// ErrBadControlSize for a payload over 125 bytes, which the frame reader refuses first but which
// would otherwise give a reason no CloseReason may carry.
func parseClosePayload(b []byte) (CloseReason, error) {
	switch {
	case len(b) == 0:
		return CloseReason{Code: CloseNoStatus}, nil
	case len(b) == 1:
		return CloseReason{}, ErrBadCloseSize
	case len(b) > 2+maxCloseReason:
		return CloseReason{}, ErrBadControlSize
	}
	code := CloseCode(binary.BigEndian.Uint16(b))
	if !code.Valid() {
		return CloseReason{}, ErrBadCloseCode
	}
	reason := b[2:]
	if !utf8.Valid(reason) {
		return CloseReason{}, ErrBadClosePayload
	}
	return CloseReason{Code: code, Reason: string(reason)}, nil
}

// appendClosePayload appends the payload of a close frame carrying r to dst: nothing for
// CloseNone, else the code in network byte order followed by the reason. A reason that cannot
// be sent gives an error matching ErrBadCloseReason and dst unchanged, so that no close frame
// the peer would have to refuse ever leaves this end.
func appendClosePayload(dst []byte, r CloseReason) ([]byte, error) {
	if err := r.check(); err != nil {
		return dst, err
	}
	if r.Code == CloseNone {
		return dst, nil
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.Code))
	return append(dst, r.Reason...), nil
}

// check reports why r cannot be sent, or nil when it can.
func (r CloseReason) check() error {
	switch {
	case r.Code == CloseNone && r.Reason != "":
		return fmt.Errorf("%w: a reason without a code", ErrBadCloseReason)
	case r.Code != CloseNone && !r.Code.Valid():
		return fmt.Errorf("%w: code %d may not be sent", ErrBadCloseReason, uint16(r.Code))
	case len(r.Reason) > maxCloseReason:
		return fmt.Errorf("%w: reason of %d bytes, over %d", ErrBadCloseReason, len(r.Reason), maxCloseReason)
	case !utf8.ValidString(r.Reason):
		return fmt.Errorf("%w: reason not valid UTF-8", ErrBadCloseReason)
	}
	return nil
}
