package websocket

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

func TestNewClientKey(t *testing.T) {
	key, err := newClientKey(bytes.NewReader(bytes.Repeat([]byte{0xAB}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xAB}, 16)); key != want {
		t.Errorf("key = %q, want %q", key, want)
	}

	a, errA := newClientKey(nil)
	b, errB := newClientKey(nil)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if a == b {
		t.Errorf("two keys from crypto/rand are equal: %q", a)
	}
	if raw, err := base64.StdEncoding.DecodeString(a); err != nil || len(raw) != 16 {
		t.Errorf("key %q decodes to %d bytes, %v", a, len(raw), err)
	}

	boom := errors.New("boom")
	if _, err := newClientKey(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("failing reader: err = %v, want %v wrapped", err, boom)
	}
	if _, err := newClientKey(bytes.NewReader(make([]byte, 15))); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short reader: err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestBuildRequest(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	req := buildRequest("server.example.com", "/chat", key, []string{"chat", "superchat"},
		func(r *http.Request) { r.Header.Set("Origin", "http://example.com") })
	var wire bytes.Buffer
	if err := req.Write(&wire); err != nil {
		t.Fatal(err)
	}
	text := wire.String()
	for _, line := range []string{
		"GET /chat HTTP/1.1\r\n",
		"Host: server.example.com\r\n",
		"Upgrade: websocket\r\n",
		"Connection: Upgrade\r\n",
		"Sec-Websocket-Key: " + key + "\r\n",
		"Sec-Websocket-Version: 13\r\n",
		"Sec-Websocket-Protocol: chat, superchat\r\n",
		"Origin: http://example.com\r\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("request lacks %q:\n%s", line, text)
		}
	}
	if !strings.HasPrefix(text, "GET /chat HTTP/1.1\r\n") {
		t.Errorf("request line:\n%s", text)
	}

	plain := buildRequest("h", "/", key, nil, nil)
	if _, ok := plain.Header["Sec-Websocket-Protocol"]; ok {
		t.Error("Sec-WebSocket-Protocol sent with no subprotocol offered")
	}
}

// TestCheckResponse covers each failure the client finds in a response, and the accepted forms.
func TestCheckResponse(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	const accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
	const good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n"
	tests := []struct {
		name    string
		resp    string
		offered []string
		proto   string
		err     error
	}{
		{name: "good", resp: good},
		{name: "tokens in lists, any case", resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket, h2c\r\nConnection: keep-alive, UPGRADE\r\nSec-WebSocket-Accept: " + accept + "\r\n"},
		{name: "subprotocol offered", resp: good + "Sec-WebSocket-Protocol: chat\r\n", offered: []string{"x", "chat"}, proto: "chat"},
		{name: "HTTP/1.0", resp: strings.Replace(good, "HTTP/1.1", "HTTP/1.0", 1), err: ErrBadHTTPVersion},
		{name: "HTTP/2.0", resp: strings.Replace(good, "HTTP/1.1", "HTTP/2.0", 1), err: ErrBadHTTPVersion},
		{name: "declined", resp: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", err: ErrUpgradeDeclined},
		{name: "426", resp: "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n", err: ErrUpgradeDeclined},
		{name: "no Connection", resp: strings.Replace(good, "Connection: Upgrade\r\n", "", 1), err: ErrNoConnection},
		{name: "Connection without upgrade", resp: strings.Replace(good, "Connection: Upgrade", "Connection: keep-alive", 1), err: ErrNoConnectionUpgrade},
		{name: "no Upgrade", resp: strings.Replace(good, "Upgrade: websocket\r\n", "", 1), err: ErrNoUpgrade},
		{name: "Upgrade without websocket", resp: strings.Replace(good, "Upgrade: websocket", "Upgrade: h2c", 1), err: ErrNoUpgradeWebSocket},
		{name: "no accept", resp: strings.Replace(good, "Sec-WebSocket-Accept: "+accept+"\r\n", "", 1), err: ErrNoSecAccept},
		{name: "wrong accept", resp: strings.Replace(good, accept, hsAcceptKey("AAAAAAAAAAAAAAAAAAAAAA=="), 1), err: ErrBadSecAccept},
		{name: "accept of another case", resp: strings.Replace(good, accept, strings.ToLower(accept), 1), err: ErrBadSecAccept},
		{name: "two accepts", resp: good + "Sec-WebSocket-Accept: " + accept + "\r\n", err: ErrBadSecAccept},
		{name: "subprotocol not offered", resp: good + "Sec-WebSocket-Protocol: chat\r\n", err: ErrBadSubprotocol},
		{name: "subprotocol of another case", resp: good + "Sec-WebSocket-Protocol: Chat\r\n", offered: []string{"chat"}, err: ErrBadSubprotocol},
		{name: "two subprotocols", resp: good + "Sec-WebSocket-Protocol: chat, x\r\n", offered: []string{"chat", "x"}, err: ErrBadSubprotocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tt.resp+"\r\n")), nil)
			if err != nil {
				t.Fatal(err)
			}
			proto, err := checkResponse(resp, key, tt.offered)
			if err != tt.err {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if proto != tt.proto {
				t.Errorf("subprotocol = %q, want %q", proto, tt.proto)
			}
		})
	}
}
