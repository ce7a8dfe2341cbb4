package websocket_test

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// acceptKey is RFC 6455's Sec-WebSocket-Accept for a key.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

var keyLine = regexp.MustCompile(`(?i)\r\nSec-WebSocket-Key: *([^\r]*)\r\n`)

// TestBBHandshakeTCP opens a client and a server over loopback TCP on one IOContext run by the
// test's goroutine: the subprotocol is the server's first choice among those the client offered,
// both Decorate functions edit what they send, a message goes each way, and the server's close
// succeeds while the client reads.
func TestBBHandshakeTCP(t *testing.T) {
	ioc := executor.NewIOContext()
	acc := net.NewTCPAcceptor(ioc)
	if err := acc.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	var server, client *websocket.Stream
	var serverSock *net.TCPSocket
	clientSock := net.NewTCPSocket(ioc)
	defer clientSock.Close()
	var gotHeader string
	aopts := &websocket.AcceptOptions{Subprotocols: []string{"v2", "v1"}, Decorate: func(h http.Header) { h.Set("Server", "blackbox") }}
	hopts := &websocket.HandshakeOptions{Subprotocols: []string{"v1", "v2", "v3"}, Decorate: func(r *http.Request) { r.Header.Set("X-Test", "yes") }}
	var accRec, hsRec, swRec, crRec, clRec, srRec *rec[error]
	var cbuf, sbuf net.FlatBuffer
	acc.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) {
		if r.Err != nil {
			t.Errorf("accept: %v", r.Err)
			return
		}
		serverSock = r.Socket
		server = websocket.NewStream(r.Socket, nil)
		accRec = startErr(ioc, func(h completion.Handler[error]) {
			server.AsyncAccept(aopts, completion.Callback(func(err error) {
				h.Complete(err)
				if err != nil {
					return
				}
				srRec = startErr(ioc, func(h completion.Handler[error]) {
					server.AsyncRead(&sbuf, completion.Callback(func(r net.IOResult) {
						h.Complete(r.Err)
						swRec = startErr(ioc, func(h completion.Handler[error]) {
							server.SetBinary()
							server.AsyncWrite([]byte("reply"), ioErr(nil, completion.Callback(func(err error) {
								h.Complete(err)
								clRec = startErr(ioc, func(h completion.Handler[error]) {
									server.AsyncClose(websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "done"}, h)
								})
							})))
						})
					}))
				})
			}))
		})
	}))
	clientSock.AsyncConnect(acc.Addr(), completion.Callback(func(err error) {
		if err != nil {
			t.Errorf("connect: %v", err)
			return
		}
		client = websocket.NewStream(clientSock, nil)
		hsRec = startErr(ioc, func(h completion.Handler[error]) {
			client.AsyncHandshake("localhost", "/tcp", hopts, completion.Callback(func(err error) {
				h.Complete(err)
				if err != nil {
					return
				}
				gotHeader = client.Response().Header.Get("Server")
				client.AsyncWrite([]byte("hello"), completion.Detached[net.IOResult]())
				crRec = startErr(ioc, func(h completion.Handler[error]) {
					client.AsyncRead(&cbuf, ioErr(nil, completion.Callback(func(err error) {
						h.Complete(err)
						client.AsyncRead(&cbuf, completion.Detached[net.IOResult]())
					})))
				})
			}))
		})
	}))
	ioc.Run()
	if serverSock != nil {
		defer serverSock.Close()
	}
	for name, r := range map[string]*rec[error]{"accept": accRec, "handshake": hsRec, "server's read": srRec, "server's write": swRec, "client's read": crRec, "close": clRec} {
		if r == nil {
			t.Fatalf("%s never started", name)
		}
		r.check(t, name)
		if r.err() != nil {
			t.Fatalf("%s: %v", name, r.err())
		}
	}
	if server.Subprotocol() != "v2" || client.Subprotocol() != "v2" {
		t.Fatalf("subprotocols: server %q, client %q, want v2", server.Subprotocol(), client.Subprotocol())
	}
	if gotHeader != "blackbox" || client.Response().StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("response: %v, Server %q", client.Response().Status, gotHeader)
	}
	if string(sbuf.Bytes()) != "hello" || string(cbuf.Bytes()) != "reply" || !client.GotBinary() {
		t.Fatalf("messages: server read %q, client read %q (binary %v)", sbuf.Bytes(), cbuf.Bytes(), client.GotBinary())
	}
	if client.Reason() != (websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "done"}) || client.IsOpen() || server.IsOpen() {
		t.Fatalf("after the close: client's Reason %+v, open %v %v", client.Reason(), client.IsOpen(), server.IsOpen())
	}
	if server.Response() != nil {
		t.Fatal("a server has a Response")
	}
}

// TestBBHandshakeOnStrandPool runs a connection whose two nettest ends share a strand over a pool
// of two goroutines: every handler runs on the strand, and a message goes each way before a close.
func TestBBHandshakeOnStrandPool(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	a, b := nettest.NewPair(strand, nettest.Options{Mode: nettest.Later}, nettest.Options{})
	defer a.Close()
	defer b.Close()
	client, server := websocket.NewStream(a, nil), websocket.NewStream(b, nil)
	type res struct {
		name string
		err  error
		on   bool
	}
	results := make(chan res, 10)
	report := func(name string) completion.Handler[error] {
		return completion.Callback(func(err error) { results <- res{name, err, strand.RunningInThisThread()} })
	}
	var sbuf, cbuf net.FlatBuffer
	strand.Post(func() {
		server.AsyncAccept(nil, completion.Callback(func(err error) {
			report("accept").Complete(err)
			server.AsyncRead(&sbuf, ioErr(nil, completion.Callback(func(err error) {
				report("server's read").Complete(err)
				server.AsyncWrite([]byte("pong"), ioErr(nil, completion.Callback(func(err error) {
					report("server's write").Complete(err)
					server.AsyncRead(&sbuf, ioErr(nil, report("server's last read")))
				})))
			})))
		}))
		client.AsyncHandshake("example.com", "/", nil, completion.Callback(func(err error) {
			report("handshake").Complete(err)
			client.AsyncWrite([]byte("ping"), ioErr(nil, report("client's write")))
			client.AsyncRead(&cbuf, ioErr(nil, completion.Callback(func(err error) {
				report("client's read").Complete(err)
				client.AsyncClose(websocket.CloseReason{Code: 1000}, report("close"))
			})))
		}))
	})
	want := map[string]error{"accept": nil, "server's read": nil, "server's write": nil, "server's last read": websocket.ErrClosed,
		"handshake": nil, "client's write": nil, "client's read": nil, "close": nil}
	for range want {
		r := <-results
		if (!r.on && gid.Known) || !errors.Is(r.err, want[r.name]) {
			t.Fatalf("%s: %v on the strand %v", r.name, r.err, r.on)
		}
	}
	if string(sbuf.Bytes()) != "ping" || string(cbuf.Bytes()) != "pong" {
		t.Fatalf("server read %q, client read %q", sbuf.Bytes(), cbuf.Bytes())
	}
}

// TestBBBoundToStrandOnPool runs a connection whose nettest ends are on a pool of two goroutines
// (not serial) with every handler bound to one strand (completion.Bind): the operations' steps
// and handlers run on the strand, and a message goes each way before a close.
func TestBBBoundToStrandOnPool(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	a, b := nettest.NewPair(pool.Executor(), nettest.Options{Mode: nettest.Later}, nettest.Options{ReadSize: 3})
	defer a.Close()
	defer b.Close()
	client, server := websocket.NewStream(a, nil), websocket.NewStream(b, nil)
	type res struct {
		name string
		err  error
		on   bool
	}
	results := make(chan res, 10)
	report := func(name string, next func()) completion.Handler[error] {
		return completion.Bind[error](strand, completion.Callback(func(err error) {
			results <- res{name, err, strand.RunningInThisThread()}
			if err == nil && next != nil {
				next()
			}
		}))
	}
	ioReport := func(name string, next func()) completion.Handler[net.IOResult] {
		return completion.Bind[net.IOResult](strand, completion.Callback(func(r net.IOResult) {
			results <- res{name, r.Err, strand.RunningInThisThread()}
			if r.Err == nil && next != nil {
				next()
			}
		}))
	}
	var sbuf, cbuf net.FlatBuffer
	strand.Post(func() {
		server.AsyncAccept(nil, report("accept", func() {
			server.AsyncRead(&sbuf, ioReport("server's read", func() {
				server.AsyncWrite([]byte("pong"), ioReport("server's write", func() {
					server.AsyncRead(&sbuf, ioReport("server's last read", nil))
				}))
			}))
		}))
		client.AsyncHandshake("example.com", "/", nil, report("handshake", func() {
			client.AsyncWrite([]byte("ping"), ioReport("client's write", nil))
			client.AsyncRead(&cbuf, ioReport("client's read", func() {
				client.AsyncClose(websocket.CloseReason{Code: 1000}, report("close", nil))
			}))
		}))
	})
	want := map[string]error{"accept": nil, "server's read": nil, "server's write": nil, "server's last read": websocket.ErrClosed,
		"handshake": nil, "client's write": nil, "client's read": nil, "close": nil}
	for range want {
		r := <-results
		if (!r.on && gid.Known) || !errors.Is(r.err, want[r.name]) {
			t.Fatalf("%s: %v on the strand %v", r.name, r.err, r.on)
		}
	}
	if string(sbuf.Bytes()) != "ping" || string(cbuf.Bytes()) != "pong" {
		t.Fatalf("server read %q, client read %q", sbuf.Bytes(), cbuf.Bytes())
	}
}

// TestBBAcceptRefusals feeds AsyncAccept requests it must refuse: each fails with its error, which
// matches ErrHandshake and carries the status the server answered with; the answer is on the
// wire, with Sec-WebSocket-Version: 13 for a 426; and the next layer is closed afterwards.
func TestBBAcceptRefusals(t *testing.T) {
	edit := func(old, new string) string { return strings.Replace(upgradeRequest, old, new, 1) }
	cases := []struct {
		name    string
		request string
		opts    *websocket.AcceptOptions
		want    error
		status  int
	}{
		{"POST", edit("GET", "POST"), nil, websocket.ErrBadMethod, 400},
		{"HTTP/1.0", edit("HTTP/1.1", "HTTP/1.0"), nil, websocket.ErrBadHTTPVersion, 400},
		{"no Host", edit("Host: example.com\r\n", ""), nil, websocket.ErrNoHost, 400},
		{"no Connection", edit("Connection: Upgrade\r\n", ""), nil, websocket.ErrNoConnection, 400},
		{"Connection without upgrade", edit("Connection: Upgrade", "Connection: keep-alive"), nil, websocket.ErrNoConnectionUpgrade, 400},
		{"no Upgrade", edit("Upgrade: websocket\r\n", ""), nil, websocket.ErrNoUpgrade, 400},
		{"Upgrade without websocket", edit("Upgrade: websocket", "Upgrade: h2c"), nil, websocket.ErrNoUpgradeWebSocket, 400},
		{"no key", edit("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""), nil, websocket.ErrNoSecKey, 400},
		{"short key", edit("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ="), nil, websocket.ErrBadSecKey, 400},
		{"no version", edit("Sec-WebSocket-Version: 13\r\n", ""), nil, websocket.ErrNoSecVersion, 400},
		{"version 8", edit("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8"), nil, websocket.ErrBadSecVersion, 426},
		{"malformed header line", edit("Host: example.com\r\n", "Host: example.com\r\nno colon here\r\n"), nil, websocket.ErrMalformedRequest, 400},
		{"cross origin", edit("Host: example.com\r\n", "Host: example.com\r\nOrigin: https://evil.example\r\n"), nil, websocket.ErrOriginRefused, 403},
		{"too big", edit("Host: example.com\r\n", "Host: example.com\r\nCookie: "+strings.Repeat("c", 600)+"\r\n"),
			&websocket.AcceptOptions{MaxRequestBytes: 512}, websocket.ErrBufferOverflow, 431},
	}
	for _, c := range cases {
		for _, rs := range []int{0, 1} {
			name := fmt.Sprintf("%s/read%d", c.name, rs)
			p := newBBPair(t, nettest.Options{}, nettest.Options{ReadSize: rs}, nil, nil)
			p.sEnd.Append([]byte(c.request))
			acc := startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncAccept(c.opts, h) })
			p.run()
			acc.check(t, name)
			var he *websocket.HandshakeError
			if !errors.Is(acc.err(), c.want) || !errors.Is(acc.err(), websocket.ErrHandshake) || !errors.As(acc.err(), &he) || he.StatusCode() != c.status {
				t.Fatalf("%s: accept %v, want %v matching ErrHandshake with status %d", name, acc.err(), c.want, c.status)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p.cEnd.Unread())), nil)
			if err != nil || resp.StatusCode != c.status {
				t.Fatalf("%s: answer %q (%v), want status %d", name, p.cEnd.Unread(), err, c.status)
			}
			if c.status == 426 && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Fatalf("%s: 426 without Sec-WebSocket-Version: 13: %v", name, resp.Header)
			}
			if p.server.IsOpen() {
				t.Fatalf("%s: open after a refusal", name)
			}
			if err := p.sEnd.Close(); !errors.Is(err, nettest.ErrClosed) {
				t.Fatalf("%s: next layer open after a refused handshake (Close: %v)", name, err)
			}
		}
	}
	// The same-origin request, and an origin matched by a pattern, are accepted.
	for _, c := range []struct {
		origin string
		opts   *websocket.AcceptOptions
	}{{"https://example.com", nil}, {"https://app.example.org", &websocket.AcceptOptions{OriginPatterns: []string{"*.example.org"}}},
		{"https://evil.example", &websocket.AcceptOptions{InsecureSkipOriginCheck: true}}} {
		p := newBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		p.sEnd.Append([]byte(strings.Replace(upgradeRequest, "Host: example.com\r\n", "Host: example.com\r\nOrigin: "+c.origin+"\r\n", 1)))
		acc := startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncAccept(c.opts, h) })
		p.run()
		if acc.err() != nil || !p.server.IsOpen() {
			t.Fatalf("origin %s: accept %v", c.origin, acc.err())
		}
	}
}

// TestBBHandshakeBadResponses answers a client's upgrade request with responses it must reject:
// each fails with its error, matching ErrHandshake with status 0; Response reports the answer; the
// next layer is closed. A good response with a frame behind it opens the stream, and the first
// read delivers the frame.
func TestBBHandshakeBadResponses(t *testing.T) {
	respond := func(accept, extra string) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + accept + extra + "\r\n"
	}
	cases := []struct {
		name     string
		response func(key string) string
		want     error
		status   int
	}{
		{"200", func(string) string { return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno" }, websocket.ErrUpgradeDeclined, 200},
		{"no accept", func(string) string { return respond("", "") }, websocket.ErrNoSecAccept, 101},
		{"bad accept", func(string) string { return respond("Sec-WebSocket-Accept: "+acceptKey("other")+"\r\n", "") }, websocket.ErrBadSecAccept, 101},
		{"subprotocol not offered", func(k string) string {
			return respond("Sec-WebSocket-Accept: "+acceptKey(k)+"\r\n", "Sec-WebSocket-Protocol: chat\r\n")
		}, websocket.ErrBadSubprotocol, 101},
	}
	for _, c := range cases {
		p := newBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		hs := startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncHandshake("example.com", "/", nil, h) })
		p.runUntil(func() bool { return bytes.Contains(p.sEnd.Unread(), []byte("\r\n\r\n")) })
		m := keyLine.FindSubmatch(p.sEnd.Unread())
		if m == nil {
			t.Fatalf("%s: no key in the request %q", c.name, p.sEnd.Unread())
		}
		p.cEnd.Append([]byte(c.response(string(m[1]))))
		p.run()
		hs.check(t, c.name)
		var he *websocket.HandshakeError
		if !errors.Is(hs.err(), c.want) || !errors.Is(hs.err(), websocket.ErrHandshake) || !errors.As(hs.err(), &he) || he.StatusCode() != 0 {
			t.Fatalf("%s: handshake %v, want %v matching ErrHandshake with status 0", c.name, hs.err(), c.want)
		}
		if p.client.Response() == nil || p.client.Response().StatusCode != c.status {
			t.Fatalf("%s: Response %v", c.name, p.client.Response())
		}
		if p.client.IsOpen() {
			t.Fatalf("%s: open after a failed handshake", c.name)
		}
		if err := p.cEnd.Close(); !errors.Is(err, nettest.ErrClosed) {
			t.Fatalf("%s: next layer open after a failed handshake (Close: %v)", c.name, err)
		}
	}
	for _, rs := range []int{0, 1} {
		p := newBBPair(t, nettest.Options{ReadSize: rs}, nettest.Options{}, nil, nil)
		hs := startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncHandshake("example.com", "/", nil, h) })
		p.runUntil(func() bool { return bytes.Contains(p.sEnd.Unread(), []byte("\r\n\r\n")) })
		m := keyLine.FindSubmatch(p.sEnd.Unread())
		p.cEnd.Append([]byte(respond("Sec-WebSocket-Accept: "+acceptKey(string(m[1]))+"\r\n", "") + string(rawFrame(true, websocket.OpText, false, []byte("early")))))
		p.run()
		if hs.err() != nil || !p.client.IsOpen() {
			t.Fatalf("read%d: handshake %v", rs, hs.err())
		}
		var buf net.FlatBuffer
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(&buf, h) })
		p.run()
		if rd.err() != nil || string(buf.Bytes()) != "early" {
			t.Fatalf("read%d: first read %v %q, want the frame behind the response", rs, rd.err(), buf.Bytes())
		}
	}
}

// TestBBAcceptKeepsBytesBehindRequest: a frame the client sent behind its upgrade request is the
// first read's, with AsyncAccept reading the request and with AsyncAcceptRequest answering one
// already parsed; the 101 carries the accept key of RFC 6455's example.
func TestBBAcceptKeepsBytesBehindRequest(t *testing.T) {
	for _, parsed := range []bool{false, true} {
		p := newBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
		frame := rawFrame(true, websocket.OpText, true, []byte("eager"))
		var acc *rec[error]
		if parsed {
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(upgradeRequest)))
			if err != nil {
				t.Fatal(err)
			}
			if !websocket.IsUpgrade(req) {
				t.Fatal("IsUpgrade false for a valid upgrade request")
			}
			p.sEnd.Append(frame)
			acc = startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncAcceptRequest(req, nil, h) })
		} else {
			p.sEnd.Append(append([]byte(upgradeRequest), frame...))
			acc = startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncAccept(nil, h) })
		}
		p.run()
		acc.check(t, "accept")
		if acc.err() != nil {
			t.Fatalf("parsed %v: accept %v", parsed, acc.err())
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p.cEnd.Unread())), nil)
		if err != nil || resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("parsed %v: response %v %v", parsed, resp, err)
		}
		var buf net.FlatBuffer
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
		p.run()
		if rd.err() != nil || string(buf.Bytes()) != "eager" {
			t.Fatalf("parsed %v: first read %v %q", parsed, rd.err(), buf.Bytes())
		}
	}
}

// TestBBIsUpgrade checks IsUpgrade's conditions one by one.
func TestBBIsUpgrade(t *testing.T) {
	base := func() *http.Request {
		r, _ := http.NewRequest("GET", "http://example.com/", nil)
		r.Header.Set("Connection", "keep-alive, Upgrade")
		r.Header.Set("Upgrade", "WebSocket")
		return r
	}
	if !websocket.IsUpgrade(base()) {
		t.Fatal("IsUpgrade false for a GET with the tokens")
	}
	for name, edit := range map[string]func(r *http.Request){
		"POST":          func(r *http.Request) { r.Method = "POST" },
		"HTTP/1.0":      func(r *http.Request) { r.ProtoMajor, r.ProtoMinor = 1, 0 },
		"no Connection": func(r *http.Request) { r.Header.Del("Connection") },
		"no Upgrade":    func(r *http.Request) { r.Header.Del("Upgrade") },
		"Upgrade h2c":   func(r *http.Request) { r.Header.Set("Upgrade", "h2c") },
	} {
		r := base()
		edit(r)
		if websocket.IsUpgrade(r) {
			t.Fatalf("%s: IsUpgrade true", name)
		}
	}
}
