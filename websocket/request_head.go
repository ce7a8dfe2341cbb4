package websocket

import (
	"bytes"
	"net/http"
	"unsafe"
)

// parseUpgradeHead reads the head of an ordinary upgrade request into req, without
// http.ReadRequest: "GET /target HTTP/1.1", then header lines, each "Name: value" ended by CRLF,
// then the empty line. It reports false, leaving req to be discarded, for anything else, which
// the caller hands to http.ReadRequest, so that every unusual request (another method or version,
// an absolute target, a percent sign, a folded or non-ASCII line, a body, a repeated Host) is
// judged by net/http, as before. What it accepts, net/http parses to the same method, version and
// host and the same values of the headers the handshake reads (FuzzUpgradeHead checks that).
//
// http.ReadRequest makes about 1 KiB of garbage per request: the Request, a URL, a map of every
// header and their strings. This keeps only the headers the handshake looks at, in req.Header
// (emptied, its slices kept for the next request), and allocates nothing: the values it stores
// are strings that view head, so req is valid only while head is unchanged. The server handshake
// reads head into its pooled scratch memory and is done with req before it gives that back. A
// server accepting many connections grows its heap by its garbage before the collector runs, so
// that garbage counts in what an idle connection costs.
func parseUpgradeHead(head []byte, req *http.Request) bool {
	const method, version = "GET ", " HTTP/1.1"
	line, rest, ok := cutLine(head)
	if !ok || len(line) <= len(method)+len(version) ||
		!bytes.HasPrefix(line, []byte(method)) || !bytes.HasSuffix(line, []byte(version)) {
		return false
	}
	target := line[len(method) : len(line)-len(version)]
	if len(target) == 0 || target[0] != '/' || !allIn(target, &targetBytes) {
		return false
	}
	for k, v := range req.Header {
		req.Header[k] = v[:0]
	}
	req.Method, req.Proto, req.ProtoMajor, req.ProtoMinor = http.MethodGet, "HTTP/1.1", 1, 1
	req.Host = ""
	hosts := 0
	for {
		if line, rest, ok = cutLine(rest); !ok {
			return false
		}
		if len(line) == 0 {
			return len(rest) == 0 // the head ends here; the caller gives it whole
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !allIn(line[:colon], &tokenBytes) {
			return false // no name, or a folded line (which starts with a space or tab)
		}
		name, value := line[:colon], bytes.Trim(line[colon+1:], " \t")
		if !allIn(value, &valueBytes) {
			return false
		}
		switch {
		case bytes.EqualFold(name, []byte("Host")):
			if hosts++; hosts > 1 || !allIn(value, &hostBytes) {
				return false
			}
			req.Host = viewString(value)
		case bytes.EqualFold(name, []byte("Content-Length")), bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return false // a body's framing, which net/http checks
		default:
			if key := keptHeader(name); key != "" {
				req.Header[key] = append(req.Header[key], viewString(value))
			}
		}
	}
}

// cutLine splits b at its first CRLF. A line holding a lone CR or LF is not one of ours.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, nil, false
	}
	line = b[:i-1]
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, nil, false
	}
	return line, b[i+1:], true
}

// keptHeaders are the headers the server handshake reads, in http.Header's canonical form.
var keptHeaders = [...]string{
	"Connection", "Upgrade", "Origin",
	"Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Protocol",
}

// keptHeader returns name's canonical form if the handshake reads it, and "" otherwise.
func keptHeader(name []byte) string {
	for _, k := range keptHeaders {
		if bytes.EqualFold(name, []byte(k)) {
			return k
		}
	}
	return ""
}

// viewString returns the bytes of v as a string without copying them: valid only while v is
// unchanged (see parseUpgradeHead).
func viewString(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	return unsafe.String(&v[0], len(v))
}

// byteSet is a set of bytes.
type byteSet [256]bool

// allIn reports whether every byte of b is in set.
func allIn(b []byte, set *byteSet) bool {
	for _, c := range b {
		if !set[c] {
			return false
		}
	}
	return true
}

// The bytes the fast path accepts: a token's (RFC 9110 section 5.6.2); a header value's, visible
// ASCII, space and tab (no obs-text, which net/http judges); a Host's, the letters of a host name
// or an IP literal and a port; and a request target's, RFC 3986's pchar and "/" and "?" without
// the percent sign, whose escapes net/http checks.
var tokenBytes, valueBytes, hostBytes, targetBytes = func() (tok, val, host, target byteSet) {
	alnum := func(s *byteSet) {
		for c := '0'; c <= '9'; c++ {
			s[c] = true
		}
		for c := 'a'; c <= 'z'; c++ {
			s[c], s[c-'a'+'A'] = true, true
		}
	}
	add := func(s *byteSet, chars string) {
		for i := range len(chars) {
			s[chars[i]] = true
		}
	}
	alnum(&tok)
	add(&tok, "!#$&'*+-.^_`|~%")
	for c := 0x20; c < 0x7f; c++ {
		val[c] = true
	}
	val['\t'] = true
	alnum(&host)
	add(&host, ".-:[]_")
	alnum(&target)
	add(&target, "-._~!$&'()*+,;=:@/?")
	return
}()
