package websocket

import "strconv"

// CloseCode is the status code of a close frame (RFC 6455 section 7.4; Beast's close_code).
type CloseCode uint16

// The close codes of RFC 6455 and its registry. CloseNone, CloseNoStatus, CloseAbnormal and
// CloseTLSHandshake are never sent in a close frame: CloseNone asks for a close frame with no
// payload, and the others report what happened locally.
const (
	CloseNone            CloseCode = 0    // no code: a close frame with an empty payload
	CloseNormal          CloseCode = 1000 // the purpose of the connection is fulfilled
	CloseGoingAway       CloseCode = 1001 // a server going down, a browser leaving the page
	CloseProtocolError   CloseCode = 1002 // the peer broke the protocol
	CloseUnsupportedData CloseCode = 1003 // a type of data the endpoint cannot accept
	CloseNoStatus        CloseCode = 1005 // a close frame arrived with no code (never sent)
	CloseAbnormal        CloseCode = 1006 // the connection ended without a close frame (never sent)
	CloseInvalidPayload  CloseCode = 1007 // data inconsistent with the message's type (bad UTF-8)
	ClosePolicyViolation CloseCode = 1008 // a message that violates the endpoint's policy
	CloseTooBig          CloseCode = 1009 // a message too big to process
	CloseMandatoryExt    CloseCode = 1010 // the client needed an extension the server did not agree
	CloseInternalError   CloseCode = 1011 // the server met an unexpected condition
	CloseServiceRestart  CloseCode = 1012 // the service is restarting
	CloseTryAgainLater   CloseCode = 1013 // the service is overloaded
	CloseBadGateway      CloseCode = 1014 // a gateway got an invalid response upstream
	CloseTLSHandshake    CloseCode = 1015 // the TLS handshake failed (never sent)
)

// Valid reports whether c may appear in a close frame on the wire: 1000 to 1003, 1007 to 1014,
// and 3000 to 4999 (registered and private codes).
func (c CloseCode) Valid() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// String returns the code's name, or its number for codes without one.
func (c CloseCode) String() string {
	if name, ok := closeCodeNames[c]; ok {
		return name
	}
	return strconv.Itoa(int(c))
}

var closeCodeNames = map[CloseCode]string{
	CloseNone: "none", CloseNormal: "normal", CloseGoingAway: "going away",
	CloseProtocolError: "protocol error", CloseUnsupportedData: "unsupported data",
	CloseNoStatus: "no status", CloseAbnormal: "abnormal closure",
	CloseInvalidPayload: "invalid payload data", ClosePolicyViolation: "policy violation",
	CloseTooBig: "message too big", CloseMandatoryExt: "mandatory extension",
	CloseInternalError: "internal error", CloseServiceRestart: "service restart",
	CloseTryAgainLater: "try again later", CloseBadGateway: "bad gateway",
	CloseTLSHandshake: "TLS handshake failure",
}
