package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
)

// hsGUID is the fixed string RFC 6455 section 1.3 appends to the client's key before hashing:
// a value no endpoint that does not speak WebSocket would produce, so a 101 from an unaware
// server or proxy cannot carry the right accept value by accident.
const hsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// hsKeyLen is the length of the decoded Sec-WebSocket-Key (RFC 6455 section 4.1).
const hsKeyLen = 16

// hsEncodedKeyLen is the length of the Sec-WebSocket-Key as sent: 16 bytes in padded base64.
const hsEncodedKeyLen = 24

// hsAcceptKey returns the Sec-WebSocket-Accept value that answers key: base64(SHA-1(key + GUID)).
// The key is hashed as sent, in its base64 form, not decoded.
func hsAcceptKey(key string) string { return string(hsAppendAcceptKey(nil, key)) }

// hsAppendAcceptKey appends hsAcceptKey(key) to dst, allocating nothing more when dst has room
// and key is no longer than a valid one.
func hsAppendAcceptKey(dst []byte, key string) []byte {
	var in [hsEncodedKeyLen + len(hsGUID)]byte
	var sum [sha1.Size]byte
	if len(key) == hsEncodedKeyLen {
		copy(in[copy(in[:], key):], hsGUID)
		sum = sha1.Sum(in[:])
	} else {
		sum = sha1.Sum([]byte(key + hsGUID))
	}
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// The handshake looks headers up by their names in http.Header's canonical form
// ("Sec-Websocket-Key", not "Sec-WebSocket-Key"): http.Header canonicalizes any other spelling
// into a new string on every lookup, garbage a server would make per connection.

// hsHasToken reports whether any value of header name in h holds token as one of its
// comma-separated elements, compared case-insensitively. Connection and Upgrade are token lists
// (RFC 9110 sections 7.6.1 and 7.8), so "keep-alive, Upgrade" carries the upgrade token, and a
// header may also be repeated instead of joined with commas.
func hsHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for elem := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(elem, " \t"), token) {
				return true
			}
		}
	}
	return false
}

// hsCheckTokens checks the two headers that ask for the protocol switch, in Beast's order, with
// the error for each missing header and for each header lacking its token.
func hsCheckTokens(h http.Header) error {
	switch {
	case len(h.Values("Connection")) == 0:
		return ErrNoConnection
	case !hsHasToken(h, "Connection", "upgrade"):
		return ErrNoConnectionUpgrade
	case len(h.Values("Upgrade")) == 0:
		return ErrNoUpgrade
	case !hsHasToken(h, "Upgrade", "websocket"):
		return ErrNoUpgradeWebSocket
	}
	return nil
}

// hsTokens returns the comma-separated elements of every value of header name in h, trimmed of
// spaces, without the empty ones (RFC 9110 section 5.6.1 lets a list hold empty elements).
func hsTokens(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for elem := range strings.SplitSeq(v, ",") {
			if elem = strings.Trim(elem, " \t"); elem != "" {
				out = append(out, elem)
			}
		}
	}
	return out
}
