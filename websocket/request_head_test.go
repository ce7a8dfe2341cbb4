package websocket

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// Upgrade heads as clients send them: this package's client, gorilla/websocket's and a browser's
// (with cookies, an Origin and an extension offer).
const (
	headOwn = "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	headGorilla = "GET /echo?x=1 HTTP/1.1\r\nHost: localhost:9001\r\nUser-Agent: Go-http-client/1.1\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\nSec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n\r\n"
	headBrowser = "GET /socket HTTP/1.1\r\nHost: example.com\r\nConnection: keep-alive, Upgrade\r\nPragma: no-cache\r\n" +
		"Cache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
		"Upgrade: websocket\r\nOrigin: https://example.com\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\nCookie: session=abc123; theme=dark\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
)

// readRequestOf parses head with net/http, as the handshake did before it had its own path.
func readRequestOf(head []byte) (*http.Request, bool) {
	br := bufio.NewReader(bytes.NewReader(head))
	req, err := http.ReadRequest(br)
	return req, err == nil && br.Buffered() == 0
}

// sameAsNetHTTP reports how got, parsed by parseUpgradeHead, differs from what net/http makes
// of head, in what the handshake reads: "" when it does not.
func sameAsNetHTTP(head []byte, got *http.Request) string {
	want, ok := readRequestOf(head)
	if !ok {
		return "net/http refuses the head"
	}
	switch {
	case got.Method != want.Method:
		return "method " + got.Method + ", net/http's " + want.Method
	case got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor:
		return "another version"
	case got.Host != want.Host:
		return "host " + got.Host + ", net/http's " + want.Host
	}
	for _, k := range keptHeaders {
		if g, w := got.Header.Values(k), want.Header.Values(k); !slices.Equal(g, w) {
			return k + ": " + strings.Join(g, "|") + ", net/http's " + strings.Join(w, "|")
		}
	}
	return ""
}

func TestParseUpgradeHeadReadsClientHeads(t *testing.T) {
	req := http.Request{Header: http.Header{}}
	for _, head := range []string{headOwn, headGorilla, headBrowser} {
		if !parseUpgradeHead([]byte(head), &req) {
			t.Errorf("parseUpgradeHead refused %q", head)
			continue
		}
		if diff := sameAsNetHTTP([]byte(head), &req); diff != "" {
			t.Errorf("%q: %s", head, diff)
		}
		if err := checkRequest(&req, &AcceptOptions{}); err != nil {
			t.Errorf("%q: checkRequest: %v", head, err)
		}
	}
}

// TestParseUpgradeHeadLeavesTheRestToNetHTTP checks that the heads the fast path does not read
// are refused by it (and so go to http.ReadRequest), and that a request read after one with more
// headers holds none of the earlier one's.
func TestParseUpgradeHeadLeavesTheRestToNetHTTP(t *testing.T) {
	req := http.Request{Header: http.Header{}}
	for name, head := range map[string]string{
		"another method":       strings.Replace(headOwn, "GET", "POST", 1),
		"HTTP/1.0":             strings.Replace(headOwn, "HTTP/1.1", "HTTP/1.0", 1),
		"absolute target":      strings.Replace(headOwn, "/chat", "http://h/chat", 1),
		"percent escape":       strings.Replace(headOwn, "/chat", "/c%68at", 1),
		"folded line":          strings.Replace(headOwn, "\r\nUpgrade: websocket", "\r\nUpgrade:\r\n websocket", 1),
		"space before colon":   strings.Replace(headOwn, "Upgrade:", "Upgrade :", 1),
		"bare LF":              strings.Replace(headOwn, "Host: 127.0.0.1:8080\r\n", "Host: 127.0.0.1:8080\n", 1),
		"lone CR":              strings.Replace(headOwn, "websocket", "web\rsocket", 1),
		"non-ASCII value":      strings.Replace(headOwn, "\r\n\r\n", "\r\nX: é\r\n\r\n", 1),
		"two Hosts":            strings.Replace(headOwn, "\r\n\r\n", "\r\nHost: b\r\n\r\n", 1),
		"content length":       strings.Replace(headOwn, "\r\n\r\n", "\r\nContent-Length: 0\r\n\r\n", 1),
		"chunked":              strings.Replace(headOwn, "\r\n\r\n", "\r\ntransfer-encoding: chunked\r\n\r\n", 1),
		"no end":               strings.TrimSuffix(headOwn, "\r\n"),
		"bytes after the head": headOwn + "x",
		"odd host":             strings.Replace(headOwn, "127.0.0.1:8080", "a b", 1),
	} {
		if parseUpgradeHead([]byte(head), &req) {
			t.Errorf("%s: parseUpgradeHead read %q", name, head)
		}
	}
	if !parseUpgradeHead([]byte(headBrowser), &req) || !parseUpgradeHead([]byte(headOwn), &req) {
		t.Fatal("parseUpgradeHead refused a client's head")
	}
	if got := req.Header.Values("Origin"); len(got) != 0 {
		t.Errorf("the second request has the first one's Origin: %q", got)
	}
}

// The fast path allocates nothing once req's header has its slices: its values view the head.
func TestParseUpgradeHeadAllocations(t *testing.T) {
	req := http.Request{Header: http.Header{}}
	head := []byte(headOwn)
	parseUpgradeHead(head, &req) // makes the header's slices
	if allocs := testing.AllocsPerRun(100, func() { parseUpgradeHead(head, &req) }); allocs != 0 {
		t.Errorf("parseUpgradeHead allocated %.0f times, want none", allocs)
	}
}

// The values parseUpgradeHead stores view the head it read: they are the head's bytes, not
// copies, and a second request parsed into the same req replaces every one of them.
func TestParseUpgradeHeadValuesViewTheHead(t *testing.T) {
	req := http.Request{Header: http.Header{}}
	head := []byte(headOwn)
	if !parseUpgradeHead(head, &req) {
		t.Fatalf("parseUpgradeHead refused %q", head)
	}
	key := req.Header.Get("Sec-Websocket-Key")
	i := bytes.Index(head, []byte(key))
	if key == "" || i < 0 || unsafe.StringData(key) != &head[i] {
		t.Fatalf("the key %q is not a view of the head", key)
	}
	other := []byte(strings.Replace(headOwn, "127.0.0.1:8080", "example.com", 1))
	if !parseUpgradeHead(other, &req) {
		t.Fatalf("parseUpgradeHead refused %q", other)
	}
	if req.Host != "example.com" || len(req.Header["Sec-Websocket-Key"]) != 1 {
		t.Errorf("after a second head: Host %q, keys %q", req.Host, req.Header["Sec-Websocket-Key"])
	}
	if got := req.Header.Get("Sec-Websocket-Key"); unsafe.StringData(got) == &head[i] {
		t.Errorf("the key still views the first head")
	}
}

// FuzzUpgradeHead checks the fast path against net/http: a head it reads, net/http must read
// whole too, to the same method, version, host and values of every header the handshake looks
// at. It may refuse what net/http reads (net/http then judges it), never the other way round.
func FuzzUpgradeHead(f *testing.F) {
	for _, h := range []string{headOwn, headGorilla, headBrowser,
		strings.Replace(headOwn, "Upgrade: websocket", "upgrade:\twebsocket \t", 1),
		strings.Replace(headOwn, "\r\n\r\n", "\r\nConnection: close\r\nX-Empty:\r\n\r\n", 1),
	} {
		f.Add([]byte(h))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		req := http.Request{Header: http.Header{"Origin": {"left from before"}}}
		if !parseUpgradeHead(head, &req) {
			return
		}
		if diff := sameAsNetHTTP(head, &req); diff != "" {
			t.Fatalf("%q: %s", head, diff)
		}
	})
}
