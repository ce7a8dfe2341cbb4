package websocket

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// upgradeRequest parses a valid upgrade request offering protocols (if not empty).
func upgradeRequest(t *testing.T, protocols string) *http.Request {
	t.Helper()
	head := "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	if protocols != "" {
		head += "Sec-WebSocket-Protocol: " + protocols + "\r\n"
	}
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head + "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// parsedResponse is what a client sees of a response: its status and its headers.
func parsedResponse(t *testing.T, wire []byte, req *http.Request) (int, http.Header) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(wire)), req)
	if err != nil {
		t.Fatalf("the response %q does not parse: %v", wire, err)
	}
	return resp.StatusCode, resp.Header
}

// TestAppendResponseMatchesBuildResponse checks that the response written by hand says what
// http.Response.Write says of buildResponse's, with and without a subprotocol and a decorator.
func TestAppendResponseMatchesBuildResponse(t *testing.T) {
	decorate := func(h http.Header) { h.Set("Server", "beastgo") }
	for _, tt := range []struct {
		name, offered, proto string
		decorate             func(http.Header)
	}{
		{"plain", "", "", nil},
		{"subprotocol", "chat, superchat", "superchat", nil},
		{"decorated", "chat", "chat", decorate},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := upgradeRequest(t, tt.offered)
			var want bytes.Buffer
			if err := buildResponse(req, tt.proto, tt.decorate).Write(&want); err != nil {
				t.Fatal(err)
			}
			prefix := []byte("kept")
			got, err := appendResponse(prefix, req, tt.proto, tt.decorate)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(got, prefix) {
				t.Fatalf("appendResponse lost what dst held: %q", got)
			}
			gotStatus, gotHeader := parsedResponse(t, got[len(prefix):], req)
			wantStatus, wantHeader := parsedResponse(t, want.Bytes(), req)
			if gotStatus != wantStatus || gotStatus != http.StatusSwitchingProtocols {
				t.Errorf("status %d, want %d", gotStatus, wantStatus)
			}
			if diff := cmp.Diff(wantHeader, gotHeader); diff != "" {
				t.Errorf("headers differ from http.Response.Write's (-want +got):\n%s", diff)
			}
			if !bytes.HasSuffix(got, []byte("\r\n\r\n")) {
				t.Errorf("the response does not end its head: %q", got)
			}
		})
	}
}

// TestAppendAcceptKeyAllocatesNothing checks that the accept key of a valid Sec-WebSocket-Key is
// appended without allocating, and that a key of another length still gets its answer.
func TestAppendAcceptKeyAllocatesNothing(t *testing.T) {
	dst := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		dst = hsAppendAcceptKey(dst[:0], "dGhlIHNhbXBsZSBub25jZQ==")
	})
	if allocs != 0 {
		t.Errorf("hsAppendAcceptKey allocated %.0f times, want 0", allocs)
	}
	if got := string(dst); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept key %q", got)
	}
	// base64(SHA-1("x" + GUID)), computed apart from the package's code path for 24 bytes.
	if got, want := hsAcceptKey("x"), "JVxkmtKFjDcI/Pm/AGPEKSN6wT8="; got != want {
		t.Errorf("hsAcceptKey(%q) = %q, want %q", "x", got, want)
	}
}

// TestParseRequestCutsBody checks that a request parsed with pooled buffers keeps no reader of
// them: a declared body is replaced by http.NoBody, and the headers survive the buffers' reuse.
func TestParseRequestCutsBody(t *testing.T) {
	b := getServerBuffers()
	head := []byte("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Kept: yes\r\n\r\nhello")
	req, err := b.parseRequest(head)
	if err != nil {
		t.Fatal(err)
	}
	if req.Body != http.NoBody {
		t.Errorf("Body = %v, want http.NoBody", req.Body)
	}
	for i := range head {
		head[i] = 'z'
	}
	if _, err := b.parseRequest([]byte("GET / HTTP/1.1\r\nHost: other\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	b.release()
	if got := req.Header.Get("X-Kept"); got != "yes" || req.Host != "h" {
		t.Errorf("after the buffers' reuse: X-Kept %q, Host %q", got, req.Host)
	}
}

// TestAnswerAllocatesNothing checks that answering an ordinary upgrade request, once read, makes
// no garbage: the checks look headers up by their canonical names, and the response is appended
// to a buffer that has room.
func TestAnswerAllocatesNothing(t *testing.T) {
	b := getServerBuffers()
	defer b.release()
	req, err := b.parseRequest([]byte(headGorilla))
	if err != nil {
		t.Fatal(err)
	}
	opts := &AcceptOptions{Subprotocols: []string{"superchat"}}
	dst := make([]byte, 0, 512)
	var proto string
	allocs := testing.AllocsPerRun(100, func() {
		if err = checkRequest(req, opts); err != nil {
			return
		}
		proto = negotiateSubprotocol(req, opts.Subprotocols)
		dst, err = appendResponse(dst[:0], req, proto, nil)
	})
	if err != nil || proto != "superchat" {
		t.Fatalf("checkRequest or appendResponse: %v, subprotocol %q", err, proto)
	}
	if allocs != 0 {
		t.Errorf("answering a request allocated %.0f times, want 0", allocs)
	}
}
