package websocket

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// HandshakeOptions configures the client's side of the opening handshake. Its zero value is a
// plain handshake: no subprotocol offered, the request as RFC 6455 section 4.1 describes it.
type HandshakeOptions struct {
	// Subprotocols are offered to the server in Sec-WebSocket-Protocol, most preferred first.
	// The server picks at most one; a response naming any other fails with ErrBadSubprotocol.
	// Default: none offered, and the header is not sent.
	Subprotocols []string

	// Decorate, if not nil, edits the upgrade request after its WebSocket headers are set
	// (Beast's stream_base::decorator): to add User-Agent, cookies or authorization. It can
	// overwrite the WebSocket headers too, and the handshake then fails as the server sees fit.
	// Default: the request is sent as built.
	Decorate func(*http.Request)
}

// newClientKey returns a fresh Sec-WebSocket-Key: 16 bytes from rand, in base64. The key must be
// unpredictable (RFC 6455 section 4.1) so that a cache or proxy cannot replay an old accept; a nil
// rand means crypto/rand.
func newClientKey(rand io.Reader) (string, error) {
	var b [hsKeyLen]byte
	if rand == nil {
		rand = cryptoRand
	}
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("websocket: making the handshake key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b[:]), nil
}

// cryptoRand is crypto/rand's reader, named so that newClientKey's parameter may be called rand.
var cryptoRand = rand.Reader

// buildRequest returns the client's upgrade request (RFC 6455 section 4.1) for target on host,
// carrying key and offering subprotocols, then edited by decorate when it is not nil. The request
// is meant to be sent with its Write method.
func buildRequest(host, target, key string, subprotocols []string, decorate func(*http.Request)) *http.Request {
	u, err := url.ParseRequestURI(target)
	if err != nil {
		// Write sends an opaque URL as it is: a target ParseRequestURI refuses still goes out
		// unchanged and the server judges it.
		u = &url.URL{Opaque: target}
	}
	h := http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-Websocket-Key":     {key},
		"Sec-Websocket-Version": {"13"},
	}
	if len(subprotocols) > 0 {
		h["Sec-Websocket-Protocol"] = []string{strings.Join(subprotocols, ", ")}
	}
	req := &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Host:       host,
	}
	if decorate != nil {
		decorate(req)
	}
	return req
}

// checkResponse checks the server's answer to an upgrade request that carried key and offered
// the subprotocols offered (RFC 6455 section 4.1, in Beast's order): HTTP/1.1, status 101, the
// Connection and Upgrade tokens, and Sec-WebSocket-Accept. It returns the subprotocol the server
// chose, "" for none, and fails with ErrBadSubprotocol if the server chose one not offered, and
// with ErrBadExtension if it named any extension: the client offers none (section 4.1's fifth
// check: an extension the client did not ask for fails the connection), so frames compressed by
// one would otherwise be refused later for their reserved bits.
func checkResponse(resp *http.Response, key string, offered []string) (subprotocol string, err error) {
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		return "", ErrBadHTTPVersion
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return "", ErrUpgradeDeclined
	}
	if err := hsCheckTokens(resp.Header); err != nil {
		return "", err
	}
	accept := resp.Header.Values("Sec-Websocket-Accept")
	if len(accept) == 0 {
		return "", ErrNoSecAccept
	}
	if len(accept) != 1 || strings.Trim(accept[0], " \t") != hsAcceptKey(key) {
		return "", ErrBadSecAccept
	}
	if len(hsTokens(resp.Header, "Sec-Websocket-Extensions")) != 0 {
		return "", ErrBadExtension
	}
	chosen := hsTokens(resp.Header, "Sec-Websocket-Protocol")
	switch {
	case len(chosen) == 0:
		return "", nil
	case len(chosen) == 1 && slices.Contains(offered, chosen[0]):
		return chosen[0], nil
	}
	return "", ErrBadSubprotocol
}
