package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// goodRequest is the client handshake of RFC 6455 section 1.2, less its Origin.
const goodRequest = "GET /chat HTTP/1.1\r\n" +
	"Host: server.example.com\r\n" +
	"Upgrade: websocket\r\n" +
	"Connection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n"

// parseRequest reads raw, a request without its final empty line.
func parseRequest(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
	if err != nil {
		t.Fatalf("http.ReadRequest: %v", err)
	}
	return r
}

// replaceHeader returns goodRequest with the header line starting with name replaced by line,
// or removed when line is "".
func replaceHeader(name, line string) string {
	var b strings.Builder
	for l := range strings.SplitSeq(strings.TrimSuffix(goodRequest, "\r\n"), "\r\n") {
		if strings.HasPrefix(l, name+":") || (name == "GET" && strings.HasPrefix(l, "GET ")) {
			if line != "" {
				b.WriteString(line + "\r\n")
			}
			continue
		}
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

// TestCheckRequest covers each failure the server finds in a request, with the status it answers
// it with, and the accepted forms.
func TestCheckRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     string
		opts    *AcceptOptions
		err     error
		upgrade bool // what IsUpgrade says
	}{
		{name: "RFC example", req: goodRequest, upgrade: true},
		{name: "tokens in lists, any case", req: replaceHeader("Connection", "Connection: keep-alive, Upgrade") + "Upgrade: h2c\r\n", upgrade: true},
		{name: "Connection repeated", req: replaceHeader("Connection", "Connection: keep-alive\r\nConnection: UPGRADE"), upgrade: true},
		{name: "Upgrade in capitals", req: replaceHeader("Upgrade", "Upgrade: WEBSOCKET"), upgrade: true},
		{name: "key with spaces around", req: replaceHeader("Sec-WebSocket-Key", "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  "), upgrade: true},
		{name: "HTTP/1.0", req: replaceHeader("GET", "GET /chat HTTP/1.0"), err: ErrBadHTTPVersion},
		{name: "HTTP/2.0 request line", req: replaceHeader("GET", "GET /chat HTTP/2.0"), upgrade: true},
		{name: "POST", req: replaceHeader("GET", "POST /chat HTTP/1.1"), err: ErrBadMethod},
		{name: "no Host", req: replaceHeader("Host", ""), err: ErrNoHost, upgrade: true},
		{name: "no Connection", req: replaceHeader("Connection", ""), err: ErrNoConnection},
		{name: "Connection without upgrade", req: replaceHeader("Connection", "Connection: keep-alive, upgraded"), err: ErrNoConnectionUpgrade},
		{name: "no Upgrade", req: replaceHeader("Upgrade", ""), err: ErrNoUpgrade},
		{name: "Upgrade without websocket", req: replaceHeader("Upgrade", "Upgrade: h2c, websocket/13"), err: ErrNoUpgradeWebSocket},
		{name: "no key", req: replaceHeader("Sec-WebSocket-Key", ""), err: ErrNoSecKey, upgrade: true},
		{name: "key not base64", req: replaceHeader("Sec-WebSocket-Key", "Sec-WebSocket-Key: not base64!"), err: ErrBadSecKey, upgrade: true},
		{name: "key of 15 bytes", req: replaceHeader("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"), err: ErrBadSecKey, upgrade: true},
		{name: "key of 17 bytes", req: replaceHeader("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA="), err: ErrBadSecKey, upgrade: true},
		{name: "key of 18 bytes", req: replaceHeader("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAAA"), err: ErrBadSecKey, upgrade: true},
		{name: "key of 29 characters", req: replaceHeader("Sec-WebSocket-Key", "Sec-WebSocket-Key: 00000000000000000000000000000"), err: ErrBadSecKey, upgrade: true},
		{name: "key of 1 KiB", req: replaceHeader("Sec-WebSocket-Key", "Sec-WebSocket-Key: "+strings.Repeat("A", 1024)), err: ErrBadSecKey, upgrade: true},
		{name: "two keys", req: goodRequest + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", err: ErrBadSecKey, upgrade: true},
		{name: "no version", req: replaceHeader("Sec-WebSocket-Version", ""), err: ErrNoSecVersion, upgrade: true},
		{name: "version 8", req: replaceHeader("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"), err: ErrBadSecVersion, upgrade: true},
		{name: "versions listed", req: replaceHeader("Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8"), err: ErrBadSecVersion, upgrade: true},
		{name: "same origin", req: goodRequest + "Origin: http://SERVER.example.com\r\n", upgrade: true},
		{name: "cross origin", req: goodRequest + "Origin: http://evil.example.org\r\n", err: ErrOriginRefused, upgrade: true},
		{name: "same host, other port", req: goodRequest + "Origin: http://server.example.com:8080\r\n", err: ErrOriginRefused, upgrade: true},
		{name: "null origin", req: goodRequest + "Origin: null\r\n", err: ErrOriginRefused, upgrade: true},
		{name: "null origin allowed", req: goodRequest + "Origin: null\r\n", opts: &AcceptOptions{OriginPatterns: []string{"null"}}, upgrade: true},
		{name: "origin by host pattern", req: goodRequest + "Origin: https://App.Example.org\r\n", opts: &AcceptOptions{OriginPatterns: []string{"*.example.org"}}, upgrade: true},
		{name: "origin by scheme pattern", req: goodRequest + "Origin: https://app.example.org\r\n", opts: &AcceptOptions{OriginPatterns: []string{"https://*.example.org"}}, upgrade: true},
		{name: "origin of another scheme", req: goodRequest + "Origin: http://app.example.org\r\n", opts: &AcceptOptions{OriginPatterns: []string{"https://*.example.org"}}, err: ErrOriginRefused, upgrade: true},
		{name: "malformed pattern", req: goodRequest + "Origin: http://a.example.org\r\n", opts: &AcceptOptions{OriginPatterns: []string{"[a.example.org"}}, err: ErrOriginRefused, upgrade: true},
		{name: "origin check skipped", req: goodRequest + "Origin: http://evil.example.org\r\n", opts: &AcceptOptions{InsecureSkipOriginCheck: true}, upgrade: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := parseRequest(t, tt.req)
			if err := checkRequest(r, tt.opts); err != tt.err {
				t.Errorf("checkRequest: err = %v, want %v", err, tt.err)
			}
			if got := IsUpgrade(r); got != tt.upgrade {
				t.Errorf("IsUpgrade = %v, want %v", got, tt.upgrade)
			}
		})
	}
}

func TestNegotiateSubprotocol(t *testing.T) {
	tests := []struct {
		name      string
		offered   []string // Sec-WebSocket-Protocol header values
		supported []string
		want      string
	}{
		{"none offered", nil, []string{"chat"}, ""},
		{"none supported", []string{"chat"}, nil, ""},
		{"server order wins", []string{"v1, v2"}, []string{"v2", "v1"}, "v2"},
		{"repeated header", []string{"v1", "v2"}, []string{"v2"}, "v2"},
		{"no common", []string{"v1"}, []string{"v3"}, ""},
		{"exact match only", []string{"Chat"}, []string{"chat"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Header: http.Header{"Sec-Websocket-Protocol": tt.offered}}
			if got := negotiateSubprotocol(r, tt.supported); got != tt.want {
				t.Errorf("negotiateSubprotocol = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBuildResponse(t *testing.T) {
	r := parseRequest(t, goodRequest)
	resp := buildResponse(r, "chat", func(h http.Header) { h.Set("Server", "beastgo") })
	var wire bytes.Buffer
	if err := resp.Write(&wire); err != nil {
		t.Fatal(err)
	}
	text := wire.String()
	if !strings.HasPrefix(text, "HTTP/1.1 101 Switching Protocols\r\n") {
		t.Errorf("status line:\n%s", text)
	}
	for _, line := range []string{
		"Upgrade: websocket\r\n",
		"Connection: Upgrade\r\n",
		"Sec-Websocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n",
		"Sec-Websocket-Protocol: chat\r\n",
		"Server: beastgo\r\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("response lacks %q:\n%s", line, text)
		}
	}
	// A 101 has no body, and a Content-Length or Transfer-Encoding would tell the client to
	// wait for one before the frames.
	if strings.Contains(text, "Content-Length") || strings.Contains(text, "Transfer-Encoding") {
		t.Errorf("response announces a body:\n%s", text)
	}
	if !strings.HasSuffix(text, "\r\n\r\n") {
		t.Errorf("response does not end with its headers:\n%q", text)
	}
	if plain := buildResponse(r, "", nil); plain.Header.Get("Sec-WebSocket-Protocol") != "" {
		t.Error("Sec-WebSocket-Protocol sent with no subprotocol chosen")
	}
}

func TestWriteErrorResponse(t *testing.T) {
	tests := []struct {
		err     error
		status  int
		version string
	}{
		{ErrBadMethod, 400, ""},
		{ErrBadSecKey, 400, ""},
		{ErrNoSecVersion, 400, ""},
		{ErrBadSecVersion, 426, "13"},
		{ErrOriginRefused, 403, ""},
		{ErrBufferOverflow, 431, ""},
		{ErrBadSecAccept, 400, ""}, // a client's error carries no status; 400 is the fallback
		{errors.New("websocket: something else"), 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			var wire bytes.Buffer
			if err := writeErrorResponse(&wire, tt.err); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(&wire), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Sec-WebSocket-Version"); got != tt.version {
				t.Errorf("Sec-WebSocket-Version = %q, want %q", got, tt.version)
			}
			if string(body) != tt.err.Error() {
				t.Errorf("body = %q, want %q", body, tt.err.Error())
			}
			if !resp.Close {
				t.Error("no Connection: close")
			}
			if wire.Len() != 0 {
				t.Errorf("%d bytes after the response", wire.Len())
			}
			// The client reading this answer must see the upgrade declined.
			if _, err := checkResponse(resp, "dGhlIHNhbXBsZSBub25jZQ==", nil); err != ErrUpgradeDeclined {
				t.Errorf("checkResponse = %v, want ErrUpgradeDeclined", err)
			}
		})
	}

	boom := errors.New("boom")
	if err := writeErrorResponse(failWriter{boom}, ErrBadMethod); !errors.Is(err, boom) {
		t.Errorf("failing writer: err = %v, want %v wrapped", err, boom)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestReadHandshakeRequest(t *testing.T) {
	raw := goodRequest + "\r\n"
	frame := "\x81\x85abcd12345" // a client's first frame, sent right behind its request

	r, rest, err := readHandshakeRequest(strings.NewReader(raw+frame), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRequest(r, nil); err != nil {
		t.Errorf("checkRequest: %v", err)
	}
	if string(rest) != frame {
		t.Errorf("rest = %q, want %q", rest, frame)
	}

	if _, _, err := readHandshakeRequest(strings.NewReader(raw), len(raw)); err != nil {
		t.Errorf("request of exactly the limit: %v", err)
	}
	_, _, err = readHandshakeRequest(strings.NewReader(raw), len(raw)-1)
	if err != ErrBufferOverflow || !errors.Is(err, ErrHandshake) {
		t.Errorf("request one byte over the limit: err = %v, want ErrBufferOverflow", err)
	}
	big := strings.TrimSuffix(goodRequest, "\r\n") + "\r\nCookie: " + strings.Repeat("x", hsDefaultMaxRequestBytes) + "\r\n\r\n"
	if _, _, err := readHandshakeRequest(strings.NewReader(big), 0); err != ErrBufferOverflow {
		t.Errorf("request over the default limit: err = %v, want ErrBufferOverflow", err)
	}
	_, _, err = readHandshakeRequest(strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\n"), 0)
	if err == nil || errors.Is(err, ErrBufferOverflow) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated request: err = %v, want io.ErrUnexpectedEOF wrapped", err)
	}
}
