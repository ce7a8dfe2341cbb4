package websocket

import (
	"errors"
	"io"
	stdnet "net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// TestUpgradeHTTPServer opens a Stream from a net/http handler with Upgrade, connects our client
// to it, and exchanges a message each way.
func TestUpgradeHTTPServer(t *testing.T) {
	ioc := executor.NewIOContext()
	type upgraded struct {
		s   *Stream
		err error
	}
	ch := make(chan upgraded, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := Upgrade(w, r, ioc, &AcceptOptions{Subprotocols: []string{"chat"}})
		ch <- upgraded{s, err}
	}))
	defer srv.Close()

	conn, err := stdnet.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cs := net.FromConn(conn, ioc)
	defer cs.Close()
	client := NewStream(cs, nil)
	hc := startErr(t, func(h completion.Handler[error]) {
		client.AsyncHandshake(srv.Listener.Addr().String(), "/ws", &HandshakeOptions{Subprotocols: []string{"chat"}}, h)
	})
	ioc.Run()
	ioc.Restart()
	up := <-ch
	if up.err != nil || hc.err != nil {
		t.Fatalf("upgrade %v, client %v", up.err, hc.err)
	}
	defer up.s.NextLayer().(*net.ConnStream).Close()
	if client.Subprotocol() != "chat" || up.s.Subprotocol() != "chat" {
		t.Errorf("subprotocol client %q server %q", client.Subprotocol(), up.s.Subprotocol())
	}
	exchange(t, ioc, client, up.s)
}

// TestUpgradeRefuses: a request that is no upgrade, or of another version, is answered through
// the ResponseWriter.
func TestUpgradeRefuses(t *testing.T) {
	errs := make(chan error, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := Upgrade(w, r, executor.NewIOContext(), nil)
		errs <- err
	}))
	defer srv.Close()
	tests := []struct {
		header  http.Header
		status  int
		version string
		err     error
	}{
		{nil, 400, "", ErrNoConnection},
		{http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Sec-Websocket-Version": {"8"}}, 426, "13", ErrBadSecVersion},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range tt.header {
			req.Header[k] = v
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Sec-WebSocket-Version") != tt.version {
			t.Errorf("status %d version %q, want %d %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Version"), tt.status, tt.version)
		}
		if !strings.Contains(string(body), tt.err.Error()) {
			t.Errorf("body %q lacks %q", body, tt.err.Error())
		}
		if err := <-errs; err != tt.err || !errors.Is(err, ErrHandshake) {
			t.Errorf("Upgrade = %v, want %v", err, tt.err)
		}
	}
	srv.Client().CloseIdleConnections()
}

// TestUpgradeKeepsBufferedBytes: a frame sent in the same write as the request, which the HTTP
// server has already buffered when Upgrade hijacks the connection, is the Stream's first read.
func TestUpgradeKeepsBufferedBytes(t *testing.T) {
	ioc := executor.NewIOContext()
	ch := make(chan *Stream, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := Upgrade(w, r, ioc, nil)
		if err != nil {
			t.Error(err)
		}
		ch <- s
	}))
	defer srv.Close()
	conn, err := stdnet.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame := []byte{0x81, 0x85, 'a', 'b', 'c', 'd'}
	for i, b := range []byte("hello") {
		frame = append(frame, b^"abcd"[i%4])
	}
	if _, err := conn.Write(append([]byte(rawRequest), frame...)); err != nil {
		t.Fatal(err)
	}
	s := <-ch
	if s == nil {
		t.FailNow()
	}
	defer s.NextLayer().(*net.ConnStream).Close()
	var buf net.FlatBuffer
	r := start(t, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&buf, h) })
	ioc.Run()
	if r.r.Err != nil || string(buf.Bytes()) != "hello" {
		t.Fatalf("first read: %v, %q", r.r.Err, buf.Bytes())
	}
}
