package websocket

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
)

// AcceptOptions configures the server's side of the opening handshake. Its zero value accepts
// any valid upgrade request from a client of the same origin or from a non-browser client, with
// no subprotocol, and refuses requests over 16 KiB.
type AcceptOptions struct {
	// Subprotocols are the subprotocols the server speaks, most preferred first. The first of
	// them the client offered is chosen and named in the response; the server's order wins over
	// the client's (as in coder/websocket; gorilla/websocket follows the client's), because the
	// server's author knows which protocol it serves best, say a newer version over an older
	// one, while a client lists what it can speak. Names match exactly. If the client offered
	// none of them, the handshake succeeds with no subprotocol, and the client decides whether
	// that is enough. Default: none, and Sec-WebSocket-Protocol is not sent.
	Subprotocols []string

	// OriginPatterns lists the origins, besides the request's own host, whose browser pages may
	// open a connection. A pattern is matched with path.Match, case-insensitively, against the
	// Origin's host (with its port, if any), or against scheme://host when the pattern holds
	// "://": "example.com", "*.example.com", "https://app.example.com:8443". A malformed pattern
	// matches nothing. Default: none; only an Origin whose host, port included, equals the
	// request's Host (case-insensitively) is accepted.
	//
	// A browser sends Origin on every WebSocket request, and sends the user's cookies with it,
	// whichever page asks: without this check, any site could act on a logged-in user's behalf
	// (cross-site WebSocket hijacking). Clients that are not browsers send no Origin and are not
	// affected. A server that needs a rule no pattern expresses checks r.Header.Get("Origin")
	// itself before accepting, and sets InsecureSkipOriginCheck.
	OriginPatterns []string

	// InsecureSkipOriginCheck accepts any Origin. Set it only when the server authenticates
	// without cookies or checks the origin itself. Default: false.
	InsecureSkipOriginCheck bool

	// Decorate, if not nil, edits the headers of the 101 response after its WebSocket headers
	// are set (Beast's stream_base::decorator): to add Server or Set-Cookie. Default: the
	// response is sent as built.
	Decorate func(http.Header)

	// MaxRequestBytes bounds the upgrade request, request line and headers, as read from the
	// connection; a longer request fails with ErrBufferOverflow. Zero means 16 KiB: room for a
	// browser's cookies, while a peer cannot make the server hold an unbounded header.
	MaxRequestBytes int

	// Stream configures the Stream that Upgrade returns (nil: the defaults). AsyncAccept and
	// AsyncAcceptRequest ignore it: their stream was configured by NewStream.
	Stream *Options
}

// hsDefaultMaxRequestBytes is AcceptOptions.MaxRequestBytes when it is zero.
const hsDefaultMaxRequestBytes = 16 << 10

// IsUpgrade reports whether r asks to open a WebSocket connection (Beast's is_upgrade): a GET of
// HTTP/1.1 or later whose Connection header holds the upgrade token and whose Upgrade header
// holds the websocket token. A server uses it to route a request to accept or to its HTTP
// handler; the rest of the request is checked by the handshake itself.
func IsUpgrade(r *http.Request) bool {
	return r.ProtoAtLeast(1, 1) && r.Method == http.MethodGet &&
		hsHasToken(r.Header, "Connection", "upgrade") && hsHasToken(r.Header, "Upgrade", "websocket")
}

// checkRequest checks an upgrade request against RFC 6455 section 4.2.1, in Beast's order, then
// its Origin against opts (nil means the zero AcceptOptions). Each failure is a *HandshakeError
// whose StatusCode is the answer writeErrorResponse sends.
func checkRequest(r *http.Request, opts *AcceptOptions) error {
	if opts == nil {
		opts = &AcceptOptions{}
	}
	if !r.ProtoAtLeast(1, 1) {
		return ErrBadHTTPVersion
	}
	if r.Method != http.MethodGet {
		return ErrBadMethod
	}
	if r.Host == "" {
		return ErrNoHost
	}
	if err := hsCheckTokens(r.Header); err != nil {
		return err
	}
	if err := hsCheckKey(r.Header); err != nil {
		return err
	}
	switch v := r.Header.Values("Sec-Websocket-Version"); {
	case len(v) == 0:
		return ErrNoSecVersion
	case len(v) != 1 || strings.Trim(v[0], " \t") != "13":
		return ErrBadSecVersion
	}
	if !opts.InsecureSkipOriginCheck && !hsOriginAllowed(r, opts.OriginPatterns) {
		return ErrOriginRefused
	}
	return nil
}

// hsCheckKey checks that the request carries exactly one Sec-WebSocket-Key, the base64 of 16
// bytes.
func hsCheckKey(h http.Header) error {
	keys := h.Values("Sec-Websocket-Key")
	if len(keys) == 0 {
		return ErrNoSecKey
	}
	if len(keys) != 1 {
		return ErrBadSecKey
	}
	// 16 bytes encode to exactly 24 characters; checking that first also bounds the decode
	// buffer, which Decode needs as long as DecodedLen of its input.
	key := strings.Trim(keys[0], " \t")
	if len(key) != hsEncodedKeyLen {
		return ErrBadSecKey
	}
	var b [hsEncodedKeyLen / 4 * 3]byte
	n, err := base64.StdEncoding.Decode(b[:], []byte(key))
	if err != nil || n != hsKeyLen {
		return ErrBadSecKey
	}
	return nil
}

// hsOriginAllowed reports whether the request's Origin, if any, is its own host or matches one of
// patterns. No Origin is allowed: browsers always send one, so its absence means a client that
// cannot be tricked into carrying a user's cookies.
func hsOriginAllowed(r *http.Request, patterns []string) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		// "null" (a sandboxed page or a file) and garbage name no host; only a pattern for the
		// whole string lets them in.
		return slices.ContainsFunc(patterns, func(p string) bool { return hsMatch(p, origin) })
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.ContainsFunc(patterns, func(p string) bool {
		if strings.Contains(p, "://") {
			return hsMatch(p, u.Scheme+"://"+u.Host)
		}
		return hsMatch(p, u.Host)
	})
}

// hsMatch reports whether s matches pattern with path.Match, both lower-cased: hosts and schemes
// are case-insensitive. A malformed pattern matches nothing.
func hsMatch(pattern, s string) bool {
	ok, err := path.Match(strings.ToLower(pattern), strings.ToLower(s))
	return err == nil && ok
}

// negotiateSubprotocol returns the first of supported, the server's list in its order of
// preference, that the client offered in r; "" if none was or supported is empty.
func negotiateSubprotocol(r *http.Request, supported []string) string {
	// The offers are walked for each supported name rather than gathered into a slice first:
	// a few comparisons more, no garbage per connection.
	offered := r.Header.Values("Sec-Websocket-Protocol")
	for _, s := range supported {
		if s == "" {
			continue // an empty element of the client's list offers nothing
		}
		for _, v := range offered {
			for o := range strings.SplitSeq(v, ",") {
				if strings.Trim(o, " \t") == s {
					return s
				}
			}
		}
	}
	return ""
}

// buildResponse returns the 101 Switching Protocols answer to an upgrade request that passed
// checkRequest, naming subprotocol if it is not "" and edited by decorate if it is not nil. The
// response is meant to be sent with its Write method.
func buildResponse(r *http.Request, subprotocol string, decorate func(http.Header)) *http.Response {
	h := http.Header{
		"Upgrade":              {"websocket"},
		"Connection":           {"Upgrade"},
		"Sec-Websocket-Accept": {hsAcceptKey(strings.Trim(r.Header.Get("Sec-Websocket-Key"), " \t"))},
	}
	if subprotocol != "" {
		h["Sec-Websocket-Protocol"] = []string{subprotocol}
	}
	if decorate != nil {
		decorate(h)
	}
	return &http.Response{
		Status:     "101 Switching Protocols",
		StatusCode: http.StatusSwitchingProtocols,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Request:    r,
	}
}

// appendResponse appends to dst the 101 Switching Protocols answer to r, as buildResponse makes
// it. Without decorate it writes the few lines itself: going through http.Response.Write costs a
// header map, a transfer writer and a bytes.Buffer per connection, garbage a server accepting
// many connections pays for in heap growth.
func appendResponse(dst []byte, r *http.Request, subprotocol string, decorate func(http.Header)) ([]byte, error) {
	if decorate != nil {
		w := bytes.NewBuffer(dst)
		err := buildResponse(r, subprotocol, decorate).Write(w)
		return w.Bytes(), err
	}
	dst = append(dst, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = hsAppendAcceptKey(dst, strings.Trim(r.Header.Get("Sec-Websocket-Key"), " \t"))
	if subprotocol != "" { // one of AcceptOptions.Subprotocols, as the server wrote it
		dst = append(dst, "\r\nSec-WebSocket-Protocol: "...)
		dst = append(dst, subprotocol...)
	}
	return append(dst, "\r\n\r\n"...), nil
}

// writeErrorResponse writes to w the answer to a request the handshake refused with err: the
// status of err's HandshakeError (400 for any other error, or one that carries no status), with
// Sec-WebSocket-Version: 13 on a 426 so the client learns which version to use (RFC 6455 section
// 4.4), the error's text as a plain-text body, and Connection: close, since no WebSocket follows.
func writeErrorResponse(w io.Writer, err error) error {
	status := http.StatusBadRequest
	if he, ok := errors.AsType[*HandshakeError](err); ok && he.status != 0 {
		status = he.status
	}
	body := "websocket handshake failed"
	if err != nil {
		body = err.Error()
	}
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	if status == http.StatusUpgradeRequired {
		h["Sec-Websocket-Version"] = []string{"13"}
	}
	resp := &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Close:         true,
	}
	if werr := resp.Write(w); werr != nil {
		return fmt.Errorf("websocket: writing the handshake's error response: %w", werr)
	}
	return nil
}

// readHandshakeRequest reads one upgrade request from r, reading at most maxBytes bytes (zero
// means 16 KiB); a request that does not fit fails with ErrBufferOverflow. It returns the bytes
// it read past the request: a client may send its first frames right behind the request, and
// they belong to the WebSocket stream.
func readHandshakeRequest(r io.Reader, maxBytes int) (req *http.Request, rest []byte, err error) {
	if maxBytes <= 0 {
		maxBytes = hsDefaultMaxRequestBytes
	}
	lr := &io.LimitedReader{R: r, N: int64(maxBytes)}
	br := bufio.NewReaderSize(lr, min(maxBytes, 4096))
	req, err = http.ReadRequest(br)
	if err != nil {
		if lr.N == 0 {
			return nil, nil, ErrBufferOverflow
		}
		return nil, nil, fmt.Errorf("websocket: reading the upgrade request: %w", err)
	}
	rest, _ = br.Peek(br.Buffered())
	return req, bytes.Clone(rest), nil
}
