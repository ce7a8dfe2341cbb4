package websocket

import (
	"errors"
	"net/http"
)

// ErrHandshake is the category of every failure of the opening handshake (Beast's
// handshake_failed condition): errors.Is(err, ErrHandshake) holds for each of the errors below
// it. No WebSocket connection exists after one of them.
var ErrHandshake = errors.New("websocket: handshake failed")

// HandshakeError is one failure of the opening handshake of RFC 6455 section 4: what was wrong,
// and, for a failure found by the server in the client's request, the HTTP status the server
// answers with (see [HandshakeError.StatusCode]).
type HandshakeError struct {
	msg    string
	status int
}

// Error returns the failure's description, prefixed by the package's name.
func (e *HandshakeError) Error() string { return "websocket: " + e.msg }

// Is reports whether target is ErrHandshake, the category of every HandshakeError.
func (e *HandshakeError) Is(target error) bool { return target == ErrHandshake }

// StatusCode returns the HTTP status a server answers the failure with: 400 Bad Request for a
// malformed request, 426 Upgrade Required for a WebSocket version other than 13 (with
// Sec-WebSocket-Version: 13 so the client can retry), 403 Forbidden for a refused origin, 431 for
// a request over the size limit. It returns 0 for the failures a client finds in the server's
// response, which nobody answers.
func (e *HandshakeError) StatusCode() int { return e.status }

func handshakeError(status int, msg string) *HandshakeError {
	return &HandshakeError{msg: msg, status: status}
}

// The handshake failures, each its own error (Beast's websocket::error values of the
// handshake_failed condition). Each matches ErrHandshake. Those a server finds in a request carry
// the status it answers with; those a client finds in a response carry 0.
var (
	ErrBadHTTPVersion      = handshakeError(http.StatusBadRequest, "HTTP version is not 1.1 (or later, in a request)")
	ErrBadMethod           = handshakeError(http.StatusBadRequest, "upgrade request method is not GET")
	ErrNoHost              = handshakeError(http.StatusBadRequest, "upgrade request has no Host")
	ErrNoConnection        = handshakeError(http.StatusBadRequest, "no Connection header")
	ErrNoConnectionUpgrade = handshakeError(http.StatusBadRequest, "Connection header lacks the upgrade token")
	ErrNoUpgrade           = handshakeError(http.StatusBadRequest, "no Upgrade header")
	ErrNoUpgradeWebSocket  = handshakeError(http.StatusBadRequest, "Upgrade header lacks the websocket token")
	ErrNoSecKey            = handshakeError(http.StatusBadRequest, "no Sec-WebSocket-Key header")
	ErrBadSecKey           = handshakeError(http.StatusBadRequest, "Sec-WebSocket-Key is not 16 bytes in base64")
	ErrNoSecVersion        = handshakeError(http.StatusBadRequest, "no Sec-WebSocket-Version header")
	ErrBadSecVersion       = handshakeError(http.StatusUpgradeRequired, "Sec-WebSocket-Version is not 13")
	ErrOriginRefused       = handshakeError(http.StatusForbidden, "cross-origin request refused")
	ErrMalformedRequest    = handshakeError(http.StatusBadRequest, "upgrade request is not valid HTTP")

	ErrNoSecAccept     = handshakeError(0, "no Sec-WebSocket-Accept header")
	ErrBadSecAccept    = handshakeError(0, "Sec-WebSocket-Accept does not match the key")
	ErrUpgradeDeclined = handshakeError(0, "server declined the upgrade (status not 101)")
	ErrBadSubprotocol  = handshakeError(0, "server chose a subprotocol the client did not offer")
	ErrBadExtension    = handshakeError(0, "server chose an extension the client did not offer")
)

// ErrBufferOverflow reports an upgrade request larger than AcceptOptions.MaxRequestBytes (Beast's
// websocket::error::buffer_overflow during accept). It has its own name, apart from the malformed
// requests, because the request may have been valid and the limit is the server's choice; it
// still matches ErrHandshake, because it ends the opening handshake like the others: no
// connection exists afterwards, and a caller separating failed handshakes from failures of an
// open connection must find it among the former. The server answers it with 431 Request Header
// Fields Too Large.
var ErrBufferOverflow = handshakeError(http.StatusRequestHeaderFieldsTooLarge, "upgrade request larger than the limit")
