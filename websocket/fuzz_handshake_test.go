package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"testing"
)

// FuzzCheckRequest feeds arbitrary bytes, parsed with http.ReadRequest, to the server's side of
// the handshake. It must never panic. A request checkRequest accepts must be one IsUpgrade
// accepts, and its 101 response, written and read back, must pass the client's checks with the
// request's key; a request it refuses must fail with a HandshakeError whose answer, written and
// read back, carries that error's status.
func FuzzCheckRequest(f *testing.F) {
	f.Add([]byte(goodRequest + "\r\n"))
	f.Add([]byte(goodRequest + "Origin: http://server.example.com\r\nSec-WebSocket-Protocol: chat, v2\r\n\r\n"))
	f.Add([]byte(replaceHeader("Connection", "Connection: keep-alive, Upgrade") + "\r\n"))
	f.Add([]byte(replaceHeader("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8") + "\r\n"))
	f.Add([]byte(goodRequest + "Origin: null\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("GET http://h/x HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"))
	opts := &AcceptOptions{Subprotocols: []string{"v2", "chat"}, OriginPatterns: []string{"*.example.com", "https://[x"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		err = checkRequest(r, opts)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !IsUpgrade(r) {
			t.Fatal("checkRequest accepts a request IsUpgrade refuses")
		}
		proto := negotiateSubprotocol(r, opts.Subprotocols)
		var wire bytes.Buffer
		if err := buildResponse(r, proto, nil).Write(&wire); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(&wire), r)
		if err != nil {
			t.Fatalf("reading our own 101: %v", err)
		}
		offered := hsTokens(r.Header, "Sec-WebSocket-Protocol")
		got, err := checkResponse(resp, r.Header.Get("Sec-WebSocket-Key"), offered)
		if err != nil {
			t.Fatalf("client refuses our 101: %v", err)
		}
		if got != proto {
			t.Fatalf("client sees subprotocol %q, server chose %q", got, proto)
		}
	})
}

// checkRefusal checks that err is a HandshakeError with a status, and that the answer written
// for it reads back with that status.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	he, ok := errors.AsType[*HandshakeError](err)
	if !ok || he.StatusCode() == 0 {
		t.Fatalf("refusal %v is not a HandshakeError with a status", err)
	}
	var wire bytes.Buffer
	if err := writeErrorResponse(&wire, err); err != nil {
		t.Fatal(err)
	}
	resp, rerr := http.ReadResponse(bufio.NewReader(&wire), nil)
	if rerr != nil {
		t.Fatalf("reading our own error response: %v", rerr)
	}
	if resp.StatusCode != he.StatusCode() {
		t.Fatalf("answered %d, want %d", resp.StatusCode, he.StatusCode())
	}
}
