package websocket

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// errResult is where the error of a handshake lands.
type errResult struct {
	done bool
	err  error
}

// startErr starts a handshake and checks that its handler does not run inside the call.
func startErr(t *testing.T, f func(h completion.Handler[error])) *errResult {
	t.Helper()
	res := &errResult{}
	returned := false
	f(completion.Callback(func(err error) {
		if !returned {
			t.Error("handler called inside the initiating call")
		}
		res.done, res.err = true, err
	}))
	returned = true
	return res
}

// exchange sends a message each way between an open client and server and checks both arrive.
func exchange(t *testing.T, ioc *executor.IOContext, client, server *Stream) {
	t.Helper()
	var cbuf, sbuf net.FlatBuffer
	w1 := start(t, func(h completion.Handler[net.IOResult]) { client.AsyncWrite([]byte("from client"), h) })
	r1 := start(t, func(h completion.Handler[net.IOResult]) { server.AsyncRead(&sbuf, h) })
	w2 := start(t, func(h completion.Handler[net.IOResult]) { server.AsyncWrite([]byte("from server"), h) })
	r2 := start(t, func(h completion.Handler[net.IOResult]) { client.AsyncRead(&cbuf, h) })
	ioc.Run()
	ioc.Restart()
	if w1.r.Err != nil || r1.r.Err != nil || w2.r.Err != nil || r2.r.Err != nil {
		t.Fatalf("errors: %v %v %v %v", w1.r.Err, r1.r.Err, w2.r.Err, r2.r.Err)
	}
	if string(sbuf.Bytes()) != "from client" || string(cbuf.Bytes()) != "from server" {
		t.Fatalf("server got %q, client got %q", sbuf.Bytes(), cbuf.Bytes())
	}
}

func TestHandshakeNettest(t *testing.T) {
	for _, size := range []int{0, 1} {
		ioc := executor.NewIOContext()
		c, s := nettest.NewPair(ioc, nettest.Options{ReadSize: size}, nettest.Options{ReadSize: size})
		client, server := NewStream(c, nil), NewStream(s, nil)
		hc := startErr(t, func(h completion.Handler[error]) {
			client.AsyncHandshake("example.com", "/chat", &HandshakeOptions{Subprotocols: []string{"v1", "v2"}}, h)
		})
		hs := startErr(t, func(h completion.Handler[error]) {
			server.AsyncAccept(&AcceptOptions{Subprotocols: []string{"v2", "v1"}}, h)
		})
		ioc.Run()
		ioc.Restart()
		if !hc.done || !hs.done || hc.err != nil || hs.err != nil {
			t.Fatalf("read size %d: client %+v, server %+v", size, hc, hs)
		}
		if !client.IsOpen() || !server.IsOpen() {
			t.Fatal("streams not open after the handshake")
		}
		if client.Subprotocol() != "v2" || server.Subprotocol() != "v2" {
			t.Errorf("subprotocol client %q server %q, want v2", client.Subprotocol(), server.Subprotocol())
		}
		if resp := client.Response(); resp == nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Errorf("client's response %+v", resp)
		}
		exchange(t, ioc, client, server)
		again := startErr(t, func(h completion.Handler[error]) { client.AsyncHandshake("h", "/", nil, h) })
		ioc.Run()
		ioc.Restart()
		if !errors.Is(again.err, ErrHandshake) || !client.IsOpen() {
			t.Errorf("second handshake: %v, open %v", again.err, client.IsOpen())
		}
		c.Close()
		s.Close()
	}
}

func TestHandshakeTCP(t *testing.T) {
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, sc, err := dialPair(ln)
	if err != nil {
		t.Fatal(err)
	}
	ioc := executor.NewIOContext()
	cs, ss := net.FromConn(cc, ioc), net.FromConn(sc, ioc)
	defer cs.Close()
	defer ss.Close()
	client, server := NewStream(cs, nil), NewStream(ss, nil)
	hc := startErr(t, func(h completion.Handler[error]) { client.AsyncHandshake("localhost", "/", nil, h) })
	hs := startErr(t, func(h completion.Handler[error]) { server.AsyncAccept(nil, h) })
	ioc.Run()
	ioc.Restart()
	if hc.err != nil || hs.err != nil {
		t.Fatalf("client %v, server %v", hc.err, hs.err)
	}
	if client.Subprotocol() != "" || server.Subprotocol() != "" {
		t.Error("a subprotocol with none offered")
	}
	exchange(t, ioc, client, server)
}

// rawServer runs AsyncAccept against raw bytes written by the test, and returns what the server
// answered and its handshake's error.
func rawServer(t *testing.T, request string, opts *AcceptOptions) (*http.Response, error) {
	t.Helper()
	ioc := executor.NewIOContext()
	c, s := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer c.Close()
	defer s.Close()
	server := NewStream(s, nil)
	hs := startErr(t, func(h completion.Handler[error]) { server.AsyncAccept(opts, h) })
	w := start(t, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(c, []byte(request), h) })
	ioc.Run()
	ioc.Restart()
	if w.r.Err != nil || !hs.done {
		t.Fatalf("write %v, accept done %v", w.r.Err, hs.done)
	}
	var buf net.FlatBuffer
	r := start(t, func(h completion.Handler[net.IOResult]) { net.AsyncReadUntil(c, &buf, hsHeadEnd, h) })
	ioc.Run()
	if r.r.Err != nil {
		t.Fatalf("reading the answer: %v", r.r.Err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(buf.Bytes())), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, hs.err
}

const rawRequest = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

func TestAcceptRefuses(t *testing.T) {
	tests := []struct {
		name    string
		req     string
		opts    *AcceptOptions
		status  int
		err     error
		version string
	}{
		{"no upgrade", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", nil, 400, ErrNoConnection, ""},
		{"version 8", strings.Replace(rawRequest, "Version: 13", "Version: 8", 1), nil, 426, ErrBadSecVersion, "13"},
		{"foreign origin", strings.Replace(rawRequest, "Host: h\r\n", "Host: h\r\nOrigin: http://evil\r\n", 1), nil, 403, ErrOriginRefused, ""},
		{"too large", rawRequest, &AcceptOptions{MaxRequestBytes: 40}, 431, ErrBufferOverflow, ""},
		{"garbage", "NOT HTTP AT ALL\r\n\r\n", nil, 400, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := rawServer(t, tt.req, tt.opts)
			if !errors.Is(err, ErrHandshake) || (tt.err != nil && err != tt.err) {
				t.Errorf("err = %v, want %v", err, tt.err)
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Sec-WebSocket-Version") != tt.version {
				t.Errorf("status %d version %q, want %d %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Version"), tt.status, tt.version)
			}
		})
	}
	resp, err := rawServer(t, rawRequest, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("good request: %v, status %d", err, resp.StatusCode)
	}
}

// TestHandshakeClientRefused: a client seeing anything but 101 fails, and the server's refusal
// reaches it.
func TestHandshakeClientRefused(t *testing.T) {
	ioc := executor.NewIOContext()
	c, s := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer c.Close()
	defer s.Close()
	client, server := NewStream(c, nil), NewStream(s, nil)
	hc := startErr(t, func(h completion.Handler[error]) {
		client.AsyncHandshake("h", "/", &HandshakeOptions{Decorate: func(r *http.Request) { r.Header.Set("Sec-WebSocket-Version", "7") }}, h)
	})
	hs := startErr(t, func(h completion.Handler[error]) { server.AsyncAccept(nil, h) })
	ioc.Run()
	if hc.err != ErrUpgradeDeclined || hs.err != ErrBadSecVersion {
		t.Fatalf("client %v, server %v", hc.err, hs.err)
	}
	if resp := client.Response(); resp == nil || resp.StatusCode != 426 || resp.Header.Get("Sec-WebSocket-Version") != "13" {
		t.Fatalf("client's response %+v", resp)
	}
	if client.IsOpen() || server.IsOpen() {
		t.Error("a stream opened after a refused handshake")
	}

	// A plain HTTP server's 200 fails the client too.
	ioc2 := executor.NewIOContext()
	c2, s2 := nettest.NewPair(ioc2, nettest.Options{}, nettest.Options{})
	defer c2.Close()
	defer s2.Close()
	client2 := NewStream(c2, nil)
	hc2 := startErr(t, func(h completion.Handler[error]) { client2.AsyncHandshake("h", "/", nil, h) })
	w := start(t, func(h completion.Handler[net.IOResult]) {
		net.AsyncWrite(s2, []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), h)
	})
	ioc2.Run()
	if w.r.Err != nil || !errors.Is(hc2.err, ErrHandshake) || hc2.err != ErrUpgradeDeclined {
		t.Fatalf("write %v, client %v", w.r.Err, hc2.err)
	}
	if body, _ := io.ReadAll(client2.Response().Body); string(body) != "hi" {
		t.Errorf("refusal body %q", body)
	}
}

// TestHandshakeFrameBehindRequest: a frame the client sends in the same write as its request is
// read by the server's first read, not lost in the handshake's buffer; likewise a frame right
// behind the 101.
func TestHandshakeFrameBehindRequest(t *testing.T) {
	ioc := executor.NewIOContext()
	c, s := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer c.Close()
	defer s.Close()
	server := NewStream(s, nil)
	frame := []byte{0x81, 0x85, 'a', 'b', 'c', 'd'}
	for i, b := range []byte("hello") {
		frame = append(frame, b^"abcd"[i%4])
	}
	hs := startErr(t, func(h completion.Handler[error]) { server.AsyncAccept(nil, h) })
	w := start(t, func(h completion.Handler[net.IOResult]) { net.AsyncWrite(c, append([]byte(rawRequest), frame...), h) })
	ioc.Run()
	ioc.Restart()
	if hs.err != nil || w.r.Err != nil {
		t.Fatalf("accept %v, write %v", hs.err, w.r.Err)
	}
	var buf net.FlatBuffer
	r := start(t, func(h completion.Handler[net.IOResult]) { server.AsyncRead(&buf, h) })
	ioc.Run()
	ioc.Restart()
	if r.r.Err != nil || string(buf.Bytes()) != "hello" {
		t.Fatalf("server's first read: %v, %q", r.r.Err, buf.Bytes())
	}

	// The client side: a server answering with its 101 and a frame in one write.
	c2, s2 := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	defer c2.Close()
	defer s2.Close()
	client := NewStream(c2, nil)
	hc := startErr(t, func(h completion.Handler[error]) { client.AsyncHandshake("h", "/", nil, h) })
	// The peer answers from the handler of its read, since the client's handshake keeps the
	// context running until the answer comes.
	var req net.FlatBuffer
	var peerErr error
	var w2 net.IOResult
	net.AsyncReadUntil(s2, &req, hsHeadEnd, completion.Callback(func(r net.IOResult) {
		parsed, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(req.Bytes())))
		if r.Err != nil || err != nil {
			peerErr = errors.Join(r.Err, err)
			s2.Close()
			return
		}
		var wire bytes.Buffer
		if err := buildResponse(parsed, "", nil).Write(&wire); err != nil {
			peerErr = err
			s2.Close()
			return
		}
		wire.Write([]byte{0x82, 0x02, 'o', 'k'})
		net.AsyncWrite(s2, wire.Bytes(), completion.Callback(func(r net.IOResult) { w2 = r }))
	}))
	ioc.Run()
	ioc.Restart()
	if hc.err != nil || peerErr != nil || w2.Err != nil {
		t.Fatalf("handshake %v, peer %v, write %v", hc.err, peerErr, w2.Err)
	}
	var cbuf net.FlatBuffer
	r2 := start(t, func(h completion.Handler[net.IOResult]) { client.AsyncRead(&cbuf, h) })
	ioc.Run()
	if r2.r.Err != nil || string(cbuf.Bytes()) != "ok" || !client.GotBinary() {
		t.Fatalf("client's first read: %v, %q", r2.r.Err, cbuf.Bytes())
	}
}

// TestHandshakeFailCount walks a next-layer failure through every operation of the handshake:
// each fails cleanly, with an error matching ErrHandshake and the injected cause, and no
// operation is left pending.
func TestHandshakeFailCount(t *testing.T) {
	count := func(fc *nettest.FailCount) (cerr, serr error) {
		ioc := executor.NewIOContext()
		c, s := nettest.NewPair(ioc, nettest.Options{Fail: fc}, nettest.Options{Fail: fc})
		defer c.Close()
		defer s.Close()
		client, server := NewStream(c, nil), NewStream(s, nil)
		// A side that fails closes its end, so the other is not left waiting on it.
		var hc, hs errResult
		client.AsyncHandshake("h", "/", nil, completion.Callback(func(err error) {
			hc.done, hc.err = true, err
			if err != nil {
				c.Close()
			}
		}))
		server.AsyncAccept(nil, completion.Callback(func(err error) {
			hs.done, hs.err = true, err
			if err != nil {
				s.Close()
			}
		}))
		ioc.Run()
		if !hc.done || !hs.done {
			t.Fatalf("handshake not completed: client %v, server %v", hc.done, hs.done)
		}
		return hc.err, hs.err
	}
	probe := nettest.NewFailCount(0, nil)
	if cerr, serr := count(probe); cerr != nil || serr != nil {
		t.Fatalf("no failure: client %v, server %v", cerr, serr)
	}
	n := probe.Count()
	if n < 2 {
		t.Fatalf("only %d operations counted", n)
	}
	for i := 1; i <= n; i++ {
		cerr, serr := count(nettest.NewFailCount(i, nettest.ErrInjected))
		if cerr == nil && serr == nil {
			t.Errorf("failure at %d of %d: both sides succeeded", i, n)
		}
		for _, err := range []error{cerr, serr} {
			if err != nil && !errors.Is(err, ErrHandshake) {
				t.Errorf("failure at %d: %v does not match ErrHandshake", i, err)
			}
		}
		if !errors.Is(cerr, nettest.ErrInjected) && !errors.Is(serr, nettest.ErrInjected) {
			t.Errorf("failure at %d: client %v, server %v; neither carries the injected error", i, cerr, serr)
		}
	}
}
