package websocket

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"
)

// TestAcceptKeyRFCExample checks the accept key against the worked example of RFC 6455 section
// 1.3.
func TestAcceptKeyRFCExample(t *testing.T) {
	if got, want := hsAcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Errorf("hsAcceptKey(RFC example) = %q, want %q", got, want)
	}
}

func TestHasToken(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		token  string
		want   bool
	}{
		{"exact", []string{"upgrade"}, "upgrade", true},
		{"case-insensitive", []string{"UpGrAdE"}, "upgrade", true},
		{"in a list", []string{"keep-alive, Upgrade"}, "upgrade", true},
		{"list without spaces", []string{"keep-alive,Upgrade,close"}, "upgrade", true},
		{"tabs around", []string{"keep-alive,\tUpgrade\t"}, "upgrade", true},
		{"repeated header", []string{"keep-alive", "Upgrade"}, "upgrade", true},
		{"absent", []string{"keep-alive"}, "upgrade", false},
		{"prefix only", []string{"upgraded"}, "upgrade", false},
		{"inside a token", []string{"no-upgrade"}, "upgrade", false},
		{"no header", nil, "upgrade", false},
		{"empty elements", []string{", ,websocket,"}, "websocket", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Connection": tt.values}
			if got := hsHasToken(h, "Connection", tt.token); got != tt.want {
				t.Errorf("hsHasToken(%q, %q) = %v, want %v", tt.values, tt.token, got, tt.want)
			}
		})
	}
}

// TestHandshakeRoundTrip runs the whole handshake over the bytes each side writes: the client's
// request is written, read back and checked by the server, whose response is written, read back
// and checked by the client.
func TestHandshakeRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		offered    []string
		supported  []string
		wantProto  string
		origin     string
		originPats []string
	}{
		{name: "plain"},
		{name: "subprotocol chosen", offered: []string{"chat", "superchat"}, supported: []string{"superchat", "chat"}, wantProto: "superchat"},
		{name: "server's preference wins", offered: []string{"v1", "v2"}, supported: []string{"v2", "v1"}, wantProto: "v2"},
		{name: "no common subprotocol", offered: []string{"chat"}, supported: []string{"mqtt"}},
		{name: "offered, server has none", offered: []string{"chat"}},
		{name: "same origin", origin: "https://example.com:8080"},
		{name: "allowed origin", origin: "https://app.other.org", originPats: []string{"*.other.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := newClientKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			req := buildRequest("example.com:8080", "/chat?room=1", key, tt.offered, func(r *http.Request) {
				if tt.origin != "" {
					r.Header.Set("Origin", tt.origin)
				}
			})
			var wire bytes.Buffer
			if err := req.Write(&wire); err != nil {
				t.Fatal(err)
			}
			got, rest, err := readHandshakeRequest(&wire, 0)
			if err != nil {
				t.Fatalf("server reading the request: %v", err)
			}
			if len(rest) != 0 {
				t.Errorf("bytes left after the request: %q", rest)
			}
			if got.RequestURI != "/chat?room=1" || got.Host != "example.com:8080" {
				t.Errorf("request target %q host %q", got.RequestURI, got.Host)
			}
			if !IsUpgrade(got) {
				t.Error("IsUpgrade(client request) = false")
			}
			opts := &AcceptOptions{Subprotocols: tt.supported, OriginPatterns: tt.originPats}
			if err := checkRequest(got, opts); err != nil {
				t.Fatalf("checkRequest: %v", err)
			}
			proto := negotiateSubprotocol(got, opts.Subprotocols)
			resp := buildResponse(got, proto, func(h http.Header) { h.Set("Server", "beastgo") })
			wire.Reset()
			if err := resp.Write(&wire); err != nil {
				t.Fatal(err)
			}
			back, err := http.ReadResponse(bufio.NewReader(&wire), req)
			if err != nil {
				t.Fatalf("client reading the response: %v", err)
			}
			if back.Header.Get("Server") != "beastgo" {
				t.Error("response decorator not applied")
			}
			chosen, err := checkResponse(back, key, tt.offered)
			if err != nil {
				t.Fatalf("checkResponse: %v", err)
			}
			if chosen != tt.wantProto {
				t.Errorf("subprotocol %q, want %q", chosen, tt.wantProto)
			}
		})
	}
}
