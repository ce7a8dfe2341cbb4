package websocket

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// FuzzHandshakeResponse runs a client Stream's AsyncHandshake over nettest against arbitrary
// response bytes, in which "{accept}" stands for the Sec-WebSocket-Accept value that answers the
// key the client sent (so that the fuzzer can reach a valid answer to a random key). The client
// offers the subprotocols "chat" and "v2".
//
// The handshake must not panic and must complete, with nothing left running. The request the
// client sent must be one RFC 6455 section 4.1 allows. The client must succeed exactly when the
// response head is one section 4.1 says it accepts: HTTP/1.1, status 101, an Upgrade header
// holding "websocket" and a Connection header holding "Upgrade" (case-insensitive tokens), one
// Sec-WebSocket-Accept equal to base64(SHA-1(key + GUID)), and at most one subprotocol, an
// offered one, and no extension (the client offers none, and item 5 of the section refuses an
// extension the client did not offer). On success the bytes behind the head must be the stream's first: a message the
// fuzz input carries there is read back. On failure the error must match ErrHandshake and the
// stream must not be open.
func FuzzHandshakeResponse(f *testing.F) {
	ok := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
	for _, s := range []string{
		ok + "\r\n",
		ok + "Sec-WebSocket-Protocol: v2\r\n\r\n",
		ok + "Sec-WebSocket-Protocol: other\r\n\r\n",
		ok + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
		ok + "Sec-WebSocket-Extensions: , \r\n\r\n",
		ok + "\r\n\x81\x02hi",
		"HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept:  {accept} \r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno",
		"HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 101\r\n\r\n",
		"garbage\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ioc := executor.NewIOContext()
		own, peer := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
		defer own.Close()
		defer peer.Close()
		s := NewStream(own, nil)
		var hsErr error
		done := false
		opts := &HandshakeOptions{Subprotocols: []string{"chat", "v2"}}
		s.AsyncHandshake("example.com", "/chat", opts, completion.Callback(func(err error) { hsErr, done = err, true }))
		runBounded(t, ioc, 1000, func() bool { return done || bytes.Contains(peer.Unread(), []byte("\r\n\r\n")) })
		if done {
			t.Fatalf("the handshake completed before a response came: %v", hsErr)
		}
		key := checkClientRequest(t, peer.Unread())
		resp := bytes.ReplaceAll(raw, []byte("{accept}"), []byte(rfcAccept(key)))
		own.Append(resp)
		peer.Shutdown(net.ShutdownWrite)
		runBounded(t, ioc, 1000+4*len(resp), func() bool { return done })
		if !done {
			t.Fatal("the handshake never completed")
		}

		want, head := acceptableResponse(resp, key, opts.Subprotocols)
		switch {
		case want && hsErr != nil:
			t.Fatalf("client refused a valid response %q: %v", resp, hsErr)
		case !want && hsErr == nil:
			t.Fatalf("client accepted the response %q", resp)
		case hsErr != nil:
			if !errors.Is(hsErr, ErrHandshake) || s.IsOpen() {
				t.Fatalf("failed handshake: %v (matches ErrHandshake %v), open %v", hsErr, errors.Is(hsErr, ErrHandshake), s.IsOpen())
			}
			return
		}
		if !s.IsOpen() {
			t.Fatal("open handshake, closed stream")
		}
		// What follows the head is the stream's: a short unmasked text frame there is read.
		rest := resp[head:]
		if len(rest) < 2 || rest[0] != 0x81 || rest[1] > 125 || len(rest) < 2+int(rest[1]) {
			return
		}
		var buf net.FlatBuffer
		var rd net.IOResult
		read := false
		s.AsyncRead(&buf, completion.Callback(func(r net.IOResult) { rd, read = r, true }))
		runBounded(t, ioc, 1000+4*len(rest), func() bool { return read })
		if !read || (rd.Err == nil && string(buf.Bytes()) != string(rest[2:2+rest[1]])) {
			t.Fatalf("first read after the head %q: %v, %q", rest, rd.Err, buf.Bytes())
		}
	})
}

// runBounded runs ioc's handlers one at a time until cond holds or the context runs out of work;
// running more than limit handlers is a failure (the operations spin).
func runBounded(t *testing.T, ioc *executor.IOContext, limit int, cond func() bool) {
	t.Helper()
	for n := 0; !cond(); n++ {
		if n == limit {
			t.Fatalf("still running after %d handlers", limit)
		}
		if ioc.RunOne() == 0 {
			break
		}
	}
	ioc.Restart()
}

// rfcAccept is the Sec-WebSocket-Accept that answers key, computed as RFC 6455 section 4.2.2
// step 5.4 says: the base64 of the SHA-1 of the key (as sent) and the GUID.
func rfcAccept(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// checkClientRequest checks the request a client sent against RFC 6455 section 4.1 and returns
// its key: GET, HTTP/1.1, a Host, Upgrade: websocket, Connection: Upgrade, a key of 16 random
// bytes in base64, version 13.
func checkClientRequest(t *testing.T, wire []byte) string {
	t.Helper()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		t.Fatalf("the client's request %q does not parse: %v", wire, err)
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	raw, kerr := base64.StdEncoding.DecodeString(key)
	if req.Method != http.MethodGet || req.ProtoMajor != 1 || req.ProtoMinor != 1 || req.Host == "" ||
		!tokenIn(req.Header, "Upgrade", "websocket") || !tokenIn(req.Header, "Connection", "upgrade") ||
		kerr != nil || len(raw) != 16 || req.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("the client's request breaks RFC 6455 section 4.1: %q", wire)
	}
	return key
}

// tokenIn reports whether one of the comma-separated elements of header name is token, compared
// case-insensitively.
func tokenIn(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, e := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(e), token) {
				return true
			}
		}
	}
	return false
}

// acceptableResponse reports whether resp begins with a response head that a client which sent
// key and offered the subprotocols offered must accept (RFC 6455 section 4.1, the client's
// checks of the server's response), and where the head ends.
func acceptableResponse(resp []byte, key string, offered []string) (ok bool, headEnd int) {
	headEnd = bytes.Index(resp, []byte("\r\n\r\n"))
	if headEnd < 0 {
		return false, 0
	}
	headEnd += 4
	if headEnd > hsMaxResponseBytes {
		return false, headEnd // a head this long is refused before it is parsed
	}
	r, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(resp[:headEnd])), nil)
	if err != nil {
		return false, headEnd
	}
	accept := r.Header.Values("Sec-WebSocket-Accept")
	protos := headerTokens(r.Header, "Sec-WebSocket-Protocol")
	ok = r.ProtoMajor == 1 && r.ProtoMinor == 1 && r.StatusCode == http.StatusSwitchingProtocols &&
		tokenIn(r.Header, "Upgrade", "websocket") && tokenIn(r.Header, "Connection", "upgrade") &&
		len(accept) == 1 && strings.Trim(accept[0], " \t") == rfcAccept(key) &&
		(len(protos) == 0 || len(protos) == 1 && (protos[0] == offered[0] || protos[0] == offered[1])) &&
		len(headerTokens(r.Header, "Sec-WebSocket-Extensions")) == 0
	return ok, headEnd
}

// headerTokens returns the non-empty comma-separated elements of every value of h's field name.
func headerTokens(h http.Header, name string) []string {
	var tokens []string
	for _, v := range h.Values(name) {
		for _, e := range strings.Split(v, ",") {
			if e = strings.Trim(e, " \t"); e != "" {
				tokens = append(tokens, e)
			}
		}
	}
	return tokens
}
