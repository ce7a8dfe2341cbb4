package websocket

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// FuzzAcceptStream runs a server Stream's AsyncAccept over nettest on arbitrary request bytes,
// with a 512-byte request limit, the Origin check off and the subprotocol "chat". Where
// FuzzCheckRequest checks the request's rules alone, this drives the stream: reading the head,
// answering it, and keeping what follows for the first read.
//
// The accept must not panic and must complete, with nothing left running. It must succeed exactly
// when the head is one RFC 6455 section 4.2.1 says a server accepts (a GET of HTTP/1.1 or later,
// a Host, "websocket" among the Upgrade tokens and "Upgrade" among the Connection ones, one
// Sec-WebSocket-Key that is the base64 of 16 bytes, one Sec-WebSocket-Version of 13), and then
// have sent a 101 that section 4.2.2 allows, with the right Sec-WebSocket-Accept; a masked text
// frame behind the head is read back. A refused request must fail with ErrHandshake and be
// answered with the error's status (426 naming version 13 for a bad version, section 4.4),
// except when the stream ended before a head did, which is answered with nothing.
func FuzzAcceptStream(f *testing.F) {
	ok := "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	for _, s := range []string{
		ok + "\r\n",
		ok + "Sec-WebSocket-Protocol: v1, chat\r\n\r\n\x81\x83\x01\x02\x03\x04`ce",
		ok + "Sec-WebSocket-Version: 13\r\n\r\n",
		strings.Replace(ok, "13", "8", 1) + "\r\n",
		strings.Replace(ok, "GET", "POST", 1) + "\r\n",
		strings.Replace(ok, "HTTP/1.1", "HTTP/1.0", 1) + "\r\n",
		strings.Replace(ok, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ", 1) + "\r\n",
		ok + "X-Long: " + strings.Repeat("x", 500) + "\r\n\r\n",
		ok,
		"\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	opts := &AcceptOptions{InsecureSkipOriginCheck: true, Subprotocols: []string{"chat"}, MaxRequestBytes: 512}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ioc := executor.NewIOContext()
		own, peer := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
		defer own.Close()
		defer peer.Close()
		s := NewStream(own, nil)
		own.Append(raw)
		peer.Shutdown(net.ShutdownWrite)
		var accErr error
		done := false
		s.AsyncAccept(opts, completion.Callback(func(err error) { accErr, done = err, true }))
		runBounded(t, ioc, 1000+4*len(raw), func() bool { return done })
		if !done {
			t.Fatal("the accept never completed")
		}
		sent := peer.Unread()
		headEnd := bytes.Index(raw, []byte("\r\n\r\n")) + 4
		if headEnd < 4 && len(raw) >= opts.MaxRequestBytes {
			headEnd = len(raw) // a full buffer and no head: refused as too large
		}
		if headEnd < 4 {
			if accErr == nil || !errors.Is(accErr, ErrHandshake) || len(sent) != 0 {
				t.Fatalf("no head: accept %v, sent %q", accErr, sent)
			}
			return
		}
		var req *http.Request
		if headEnd <= opts.MaxRequestBytes {
			req, _ = http.ReadRequest(bufio.NewReader(bytes.NewReader(raw[:headEnd])))
		}
		key, want := acceptableRequest(req)
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(sent)), nil)
		if err != nil {
			t.Fatalf("the answer %q does not parse: %v", sent, err)
		}
		switch {
		case want && accErr != nil:
			t.Fatalf("refused a valid request %q: %v", raw[:headEnd], accErr)
		case !want && accErr == nil:
			t.Fatalf("accepted the request %q", raw[:headEnd])
		case accErr != nil:
			status := http.StatusBadRequest // a head that does not parse is refused with no HandshakeError
			if he, ok := errors.AsType[*HandshakeError](accErr); ok {
				status = he.StatusCode()
			}
			if !errors.Is(accErr, ErrHandshake) || s.IsOpen() || resp.StatusCode != status ||
				resp.StatusCode == http.StatusUpgradeRequired && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("refusal %v answered %q", accErr, sent)
			}
			return
		}
		proto := "" // subprotocol names match exactly (AcceptOptions.Subprotocols), unlike the header tokens
		if slices.Contains(headerTokens(req.Header, "Sec-WebSocket-Protocol"), "chat") {
			proto = "chat"
		}
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 ||
			!tokenIn(resp.Header, "Upgrade", "websocket") || !tokenIn(resp.Header, "Connection", "upgrade") ||
			resp.Header.Get("Sec-WebSocket-Accept") != rfcAccept(key) || resp.Header.Get("Sec-WebSocket-Protocol") != proto ||
			!s.IsOpen() {
			t.Fatalf("accepted %q with %q", raw[:headEnd], sent)
		}
		rest := raw[headEnd:]
		if len(rest) < 6 || rest[0] != 0x81 || rest[1]&0x80 == 0 || rest[1]&0x7F > 125 || len(rest) < 6+int(rest[1]&0x7F) {
			return
		}
		want1 := bytes.Clone(rest[6 : 6+rest[1]&0x7F])
		maskBytes([4]byte(rest[2:6]), 0, want1)
		var buf net.FlatBuffer
		var rd net.IOResult
		read := false
		s.AsyncRead(&buf, completion.Callback(func(r net.IOResult) { rd, read = r, true }))
		runBounded(t, ioc, 1000+4*len(rest), func() bool { return read })
		if !read || (rd.Err == nil && !bytes.Equal(buf.Bytes(), want1)) {
			t.Fatalf("first read after the head %q: %v, %q", rest, rd.Err, buf.Bytes())
		}
	})
}

// acceptableRequest reports whether req (nil: none could be read) is an opening handshake a
// server must accept (RFC 6455 section 4.2.1), and its key.
func acceptableRequest(req *http.Request) (key string, ok bool) {
	if req == nil {
		return "", false
	}
	keys, versions := req.Header.Values("Sec-WebSocket-Key"), req.Header.Values("Sec-WebSocket-Version")
	if len(keys) != 1 || len(versions) != 1 {
		return "", false
	}
	key = strings.Trim(keys[0], " \t")
	raw, err := base64.StdEncoding.DecodeString(key)
	return key, err == nil && len(raw) == 16 && !strings.ContainsAny(key, "\r\n") &&
		req.Method == http.MethodGet && req.ProtoAtLeast(1, 1) && req.Host != "" &&
		tokenIn(req.Header, "Upgrade", "websocket") && tokenIn(req.Header, "Connection", "upgrade") &&
		strings.Trim(versions[0], " \t") == "13"
}
