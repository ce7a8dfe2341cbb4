package websocket_test

// Black-box test, from docs/websocket.md and the package documentation only, of the opening
// handshake run on many streams at once over loopback TCP, with failures and cancellations among
// them, and then again on other streams: what each stream reports (Subprotocol, Response on a
// client, the bytes that came behind the handshake, Reason after the peer's close) is its own.
//
// Promises checked (docs/websocket.md, "Opening the connection", "Handshake errors", "Closing"):
//   - the server's order of subprotocols wins; Subprotocol and the 101's Sec-WebSocket-Protocol
//     agree on both sides;
//   - Response is the 101 after a success or the refusal the handshake failed on, with its headers;
//   - bytes sent right behind the request (server) or the response (client) are kept for the first
//     read;
//   - a handshake whose handler's context is already done does not start: the cancellation error
//     alone, not ErrHandshake, and the stream as it was (a second handshake on it succeeds);
//   - a client that vanishes, garbage, a refused version, or a context ending mid-handshake fail
//     with errors matching ErrHandshake (and the context's error), and the server answers a
//     refusal with its status;
//   - Reason holds the peer's close frame exactly, code and text, on many streams closing at once.

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// mhServerConn is what the test's server learned about one accepted connection.
type mhServerConn struct {
	ws      *websocket.Stream
	sock    *net.TCPSocket
	ex      executor.Executor
	started chan struct{} // closed once the handshake that counts has started
	cancel  context.CancelFunc
	acc     chan error // the handshake's result
	first   chan string
	end     chan mhEnd // the read that ends the connection
}

type mhEnd struct {
	err    error
	reason websocket.CloseReason
	sub    string
}

// mhServer accepts connections and opens each as a WebSocket server, first with a context already
// done (which must not start the handshake), then for real.
type mhServer struct {
	t     *testing.T
	acc   *net.TCPAcceptor
	newEx func() executor.Executor
	conns sync.Map // client's port -> *mhServerConn
	opts  *websocket.AcceptOptions
	wg    sync.WaitGroup
}

func (s *mhServer) acceptLoop() {
	s.wg.Add(1)
	s.acc.AsyncAccept(s.newEx(), completion.Callback(func(r net.AcceptResult) {
		defer s.wg.Done()
		if r.Err != nil {
			return // the acceptor closed at the end of the test
		}
		s.acceptLoop()
		sock := r.Socket
		peer, err := sock.RemoteAddr()
		if err != nil {
			s.t.Errorf("accepted socket's RemoteAddr: %v", err)
			sock.Close()
			return
		}
		c := &mhServerConn{ws: websocket.NewStream(sock, nil), sock: sock, ex: sock.Executor(), started: make(chan struct{}),
			acc: make(chan error, 1), first: make(chan string, 1), end: make(chan mhEnd, 1)}
		s.conns.Store(peer.Port(), c)
		sock.Executor().Post(func() { s.open(c, sock) })
	}))
}

func (s *mhServer) open(c *mhServerConn, sock *net.TCPSocket) {
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	c.ws.AsyncAccept(s.opts, completion.WithContext(done, completion.Callback(func(err error) {
		if !errors.Is(err, context.Canceled) || errors.Is(err, websocket.ErrHandshake) {
			s.t.Errorf("accept with a context already done: %v, want the cancellation alone", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		c.cancel = cancel
		c.ws.AsyncAccept(s.opts, completion.WithContext(ctx, completion.Callback(func(err error) {
			cancel()
			c.acc <- err
			if err != nil {
				sock.Close() // a failed handshake closed it already; Close is final either way
				return
			}
			mhReadFirstThenEnd(c.ws, c.first, c.end, nil)
			// The welcome leaves right behind the 101, so the client's handshake may read it
			// with the response: its first read must deliver it.
			c.ws.AsyncWrite([]byte(fmt.Sprintf("welcome %d", sockPort(sock))), completion.Detached[net.IOResult]())
		})))
		close(c.started)
	})))
}

// mhReadFirstThenEnd reads a stream's first message into first, calls then (when not nil), and
// keeps a read pending whose end (the peer's close) goes to end with the stream's Reason and
// Subprotocol at that moment.
func mhReadFirstThenEnd(ws *websocket.Stream, first chan<- string, end chan<- mhEnd, then func()) {
	var buf net.FlatBuffer
	ws.AsyncRead(&buf, completion.Callback(func(r net.IOResult) {
		if r.Err != nil {
			first <- "error: " + r.Err.Error()
			end <- mhEnd{err: r.Err}
			return
		}
		first <- string(buf.Bytes())
		if then != nil {
			then()
		}
		ws.AsyncRead(net.NewFlatBuffer(0), completion.Callback(func(r net.IOResult) {
			end <- mhEnd{err: r.Err, reason: ws.Reason(), sub: ws.Subprotocol()}
		}))
	}))
}

func sockPort(s *net.TCPSocket) uint16 {
	a, _ := s.RemoteAddr()
	return a.Port()
}

// conn waits for the server's record of the connection from client port p.
func (s *mhServer) conn(t *testing.T, p uint16) *mhServerConn {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, ok := s.conns.Load(p); ok {
			return c.(*mhServerConn)
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the server never accepted the connection from port %d", p)
	return nil
}

// mhRecv waits for a value (a liveness watchdog, not a timing assertion).
func mhRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: nothing after 20 s", what)
	}
	var zero T
	return zero
}

// mhKey returns a fresh Sec-WebSocket-Key.
func mhKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// mhRequest is a valid upgrade request with key, offering protos when not empty.
func mhRequest(key, target, protos, version string) string {
	r := "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: " + version + "\r\n"
	if protos != "" {
		r += "Sec-WebSocket-Protocol: " + protos + "\r\n"
	}
	return r + "\r\n"
}

// mhReadFrames reads from br until n whole frames have come.
func mhReadFrames(br *bufio.Reader, n int) ([]wireFrame, error) {
	var raw []byte
	for {
		fs, _ := parseFrames(raw)
		if len(fs) >= n {
			return fs, nil
		}
		b, err := br.ReadByte()
		if err != nil {
			return fs, err
		}
		raw = append(raw, b)
	}
}

// mhClient is a beastgo client's record.
type mhClient struct {
	i       int
	ws      *websocket.Stream
	sock    *net.TCPSocket
	ex      executor.Executor
	port    uint16
	wantSub string
	hs      chan error
	first   chan string
	end     chan mhEnd
	closeEr chan error
}

// startClient connects a beastgo client to addr on ex and opens it with a handshake to target,
// after a handshake with a context already done (which must not start). Once open it reads its
// first message, sends hello and keeps a read pending.
func startClient(t *testing.T, ex executor.Executor, addr netip.AddrPort, i int, target string, offer []string, wantSub string) *mhClient {
	c := &mhClient{i: i, ex: ex, sock: net.NewTCPSocket(ex), wantSub: wantSub, hs: make(chan error, 1), first: make(chan string, 1),
		end: make(chan mhEnd, 1), closeEr: make(chan error, 1)}
	connected := make(chan error, 1)
	c.sock.AsyncConnect(addr, completion.Callback(func(err error) { connected <- err }))
	if err := mhRecv(t, connected, "connect"); err != nil {
		t.Fatalf("client %d: connect: %v", i, err)
	}
	la, err := c.sock.LocalAddr()
	if err != nil {
		t.Fatal(err)
	}
	c.port = la.Port()
	c.ws = websocket.NewStream(c.sock, nil)
	ex.Post(func() {
		done, cancel := context.WithCancel(context.Background())
		cancel()
		c.ws.AsyncHandshake("127.0.0.1", target, &websocket.HandshakeOptions{Subprotocols: offer}, completion.WithContext(done, completion.Callback(func(err error) {
			if !errors.Is(err, context.Canceled) || errors.Is(err, websocket.ErrHandshake) || c.ws.Response() != nil {
				t.Errorf("client %d: handshake with a context already done: %v (response %v), want the cancellation alone", i, err, c.ws.Response())
			}
			c.ws.AsyncHandshake("127.0.0.1", target, &websocket.HandshakeOptions{Subprotocols: offer}, completion.Callback(func(err error) {
				c.hs <- err
				if err != nil {
					c.sock.Close()
					return
				}
				mhReadFirstThenEnd(c.ws, c.first, c.end, func() {
					c.ws.AsyncWrite([]byte(fmt.Sprintf("hello %d sub=%s", i, c.ws.Subprotocol())), completion.Detached[net.IOResult]())
				})
			}))
		})))
	})
	return c
}

// mhCheckOpen checks a beastgo client against the test's server once both have opened.
func mhCheckOpen(t *testing.T, srv *mhServer, c *mhClient) *mhServerConn {
	t.Helper()
	if err := mhRecv(t, c.hs, "client handshake"); err != nil {
		t.Fatalf("client %d: handshake: %v", c.i, err)
	}
	sc := srv.conn(t, c.port)
	if err := mhRecv(t, sc.acc, "server accept"); err != nil {
		t.Fatalf("client %d: the server's accept: %v", c.i, err)
	}
	if got := mhRecv(t, c.first, "client's first read"); got != fmt.Sprintf("welcome %d", c.port) {
		t.Errorf("client %d: first message %q, want its own welcome (port %d)", c.i, got, c.port)
	}
	if got, want := mhRecv(t, sc.first, "server's first read"), fmt.Sprintf("hello %d sub=%s", c.i, c.wantSub); got != want {
		t.Errorf("client %d: the server read %q, want %q", c.i, got, want)
	}
	// Subprotocol and Response, read on the stream's executor.
	type obs struct {
		csub, ssub, hdr string
		status          int
	}
	och := make(chan obs, 1)
	c.ex.Post(func() {
		o := obs{csub: c.ws.Subprotocol(), status: -1}
		if r := c.ws.Response(); r != nil {
			o.status, o.hdr = r.StatusCode, r.Header.Get("Sec-WebSocket-Protocol")
		}
		sc.ex.Post(func() { o.ssub = sc.ws.Subprotocol(); och <- o })
	})
	o := mhRecv(t, och, "observers")
	if o.csub != c.wantSub || o.ssub != c.wantSub || o.hdr != c.wantSub || o.status != http.StatusSwitchingProtocols {
		t.Errorf("client %d: Subprotocol client %q server %q, Response %d with protocol %q; want 101 and %q everywhere",
			c.i, o.csub, o.ssub, o.status, o.hdr, c.wantSub)
	}
	return sc
}

// mhRaw is a raw client that sends its request and a frame behind it in one write.
type mhRaw struct {
	i    int
	conn *stdnet.TCPConn
	br   *bufio.Reader
	key  string
	port uint16
}

func rawClient(t *testing.T, addr netip.AddrPort, i int) *mhRaw {
	c, err := stdnet.DialTCP("tcp", nil, stdnet.TCPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &mhRaw{i: i, conn: c, br: bufio.NewReader(c), key: mhKey(), port: uint16(c.LocalAddr().(*stdnet.TCPAddr).Port)}
}

func TestBBManyHandshakesAtOnce(t *testing.T) {
	for _, setup := range []struct {
		name    string
		runners int
		strands bool
	}{{"one goroutine", 1, false}, {"strand per connection, two goroutines", 2, true}} {
		t.Run(setup.name, func(t *testing.T) { mhRun(t, setup.runners, setup.strands) })
	}
}

func mhRun(t *testing.T, runners int, strands bool) {
	ioc := executor.NewIOContextConcurrency(runners)
	guard := executor.MakeWorkGuard(ioc)
	var rwg sync.WaitGroup
	for range runners {
		rwg.Go(func() { ioc.Run() })
	}
	newEx := func() executor.Executor {
		if strands {
			return executor.NewStrand(ioc)
		}
		return ioc
	}
	const n = 128 // subprotocols p0 to p127, for the indexes of both waves
	protos := make([]string, 0, n+1)
	for i := range n {
		protos = append(protos, fmt.Sprintf("p%d", i))
	}
	srv := &mhServer{t: t, acc: net.NewTCPAcceptor(ioc), newEx: newEx, opts: &websocket.AcceptOptions{Subprotocols: append(protos, "common")}}
	if err := srv.acc.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 128); err != nil {
		t.Fatal(err)
	}
	srv.acceptLoop()
	addr := srv.acc.Addr()
	rawSrv := mhRawServer(t)
	var clients []*mhClient
	var wgRaw sync.WaitGroup
	defer func() {
		wgRaw.Wait()
		for _, c := range clients {
			c.sock.Close()
		}
		srv.acc.Close()
		srv.wg.Wait()
		// After a failure connections may still be open with reads pending: close every socket.
		srv.conns.Range(func(_, v any) bool { v.(*mhServerConn).sock.Close(); return true })
		guard.Reset()
		done := make(chan struct{})
		go func() { rwg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Errorf("Run did not return: an operation is still pending")
			ioc.Stop()
			<-done
		}
	}()

	offer := func(i int) ([]string, string) {
		switch i % 3 {
		case 0:
			return []string{"zz", fmt.Sprintf("p%d", i), "common"}, fmt.Sprintf("p%d", i) // the server lists p<i> first
		case 1:
			return []string{"zz", "common"}, "common"
		}
		return nil, ""
	}
	var rawOpen []*mhRaw
	var mu sync.Mutex
	wave := func(base int, failures bool) {
		for k := range 6 {
			i := base + k
			// A beastgo client.
			o, want := offer(i)
			clients = append(clients, startClient(t, newEx(), addr, i, fmt.Sprintf("/c%d", i), o, want))
			// A raw client whose first frame comes in the same write as its request.
			wgRaw.Go(func() {
				r := rawClient(t, addr, i)
				proto := fmt.Sprintf("p%d", i)
				hello := fmt.Sprintf("hello %d sub=%s", i, proto)
				if _, err := r.conn.Write(append([]byte(mhRequest(r.key, "/raw", "zz, "+proto, "13")), rawFrame(true, websocket.OpText, true, []byte(hello))...)); err != nil {
					t.Errorf("raw %d: write: %v", i, err)
					return
				}
				resp, err := http.ReadResponse(r.br, nil)
				if err != nil {
					t.Errorf("raw %d: response: %v", i, err)
					return
				}
				if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(r.key) || resp.Header.Get("Sec-WebSocket-Protocol") != proto {
					t.Errorf("raw %d: response %d accept %q protocol %q", i, resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"), resp.Header.Get("Sec-WebSocket-Protocol"))
					return
				}
				fs, err := mhReadFrames(r.br, 1)
				if err != nil || string(fs[0].payload) != fmt.Sprintf("welcome %d", r.port) {
					t.Errorf("raw %d: first frame %v %v, want its own welcome", i, fs, err)
					return
				}
				sc := srv.conn(t, r.port)
				if err := mhRecv(t, sc.acc, "raw's accept"); err != nil {
					t.Errorf("raw %d: the server's accept: %v", i, err)
					return
				}
				if got := mhRecv(t, sc.first, "raw's first message"); got != hello {
					t.Errorf("raw %d: the server's first read %q, want the frame sent behind the request, %q", i, got, hello)
				}
				mu.Lock()
				rawOpen = append(rawOpen, r)
				mu.Unlock()
			})
			if !failures {
				continue
			}
			// A client that vanishes in the middle of its request (a reset or a FIN).
			wgRaw.Go(func() {
				r := rawClient(t, addr, i)
				r.conn.Write([]byte(mhRequest(r.key, "/gone", "", "13")[:40]))
				sc := srv.conn(t, r.port)
				mhRecv(t, sc.started, "vanishing client's handshake start")
				if i%2 == 0 {
					r.conn.SetLinger(0)
				}
				r.conn.Close()
				if err := mhRecv(t, sc.acc, "vanished client's accept"); !errors.Is(err, websocket.ErrHandshake) {
					t.Errorf("vanishing client %d: accept %v, want ErrHandshake", i, err)
				}
			})
			// Garbage, and a refused version: answered with the status, failing with ErrHandshake.
			wgRaw.Go(func() {
				r := rawClient(t, addr, i)
				req, status, want := "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 garbage\r\n\r\n", 400, error(websocket.ErrHandshake)
				if i%2 == 1 {
					req, status, want = mhRequest(r.key, "/v8", "", "8"), 426, websocket.ErrBadSecVersion
				}
				r.conn.Write([]byte(req))
				line, err := r.br.ReadString('\n')
				if err != nil || !strings.HasPrefix(line, fmt.Sprintf("HTTP/1.1 %d", status)) {
					t.Errorf("refused client %d: status line %q, %v; want %d", i, line, err, status)
				}
				sc := srv.conn(t, r.port)
				if err := mhRecv(t, sc.acc, "refused client's accept"); !errors.Is(err, websocket.ErrHandshake) || !errors.Is(err, want) {
					t.Errorf("refused client %d: accept %v, want %v", i, err, want)
				}
				if _, err := io.Copy(io.Discard, r.br); err != nil && !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("refused client %d: after the refusal: %v, want the end of the connection", i, err)
				}
			})
			// The server's handshake cancelled by its context while it waits for the request's end.
			wgRaw.Go(func() {
				r := rawClient(t, addr, i)
				r.conn.Write([]byte(mhRequest(r.key, "/cancel", "", "13")[:30]))
				sc := srv.conn(t, r.port)
				mhRecv(t, sc.started, "cancelled handshake's start")
				sc.cancel()
				if err := mhRecv(t, sc.acc, "cancelled accept"); !errors.Is(err, context.Canceled) || !errors.Is(err, websocket.ErrHandshake) {
					t.Errorf("cancelled accept %d: %v, want context.Canceled and ErrHandshake", i, err)
				}
				io.Copy(io.Discard, r.br) // the next layer is closed: the read ends
			})
			// Clients against a raw server: 101 with a frame and a close behind it, a refusal, a
			// server that never answers (the client's context ends), a response cut short.
			for _, mode := range []string{"ok", "refuse", "silent", "cut"} {
				mhRawServerClient(t, rawSrv, newEx(), i, mode, &wgRaw)
			}
		}
	}
	wave(0, true)
	wgRaw.Wait()
	var scs []*mhServerConn
	for _, c := range clients {
		scs = append(scs, mhCheckOpen(t, srv, c))
	}
	// Later handshakes on other streams, after the failures.
	first := len(clients)
	wave(100, false)
	wgRaw.Wait()
	for _, c := range clients[first:] {
		scs = append(scs, mhCheckOpen(t, srv, c))
	}
	if t.Failed() {
		return
	}

	// Every connection closes at once: half the beastgo clients close, the servers of the other
	// half close, the raw clients close. Each peer's Reason is the reason sent, exactly.
	for k, c := range clients {
		sc := scs[k]
		reason := websocket.CloseReason{Code: websocket.CloseCode(3000 + c.i), Reason: fmt.Sprintf("client %d leaves", c.i)}
		closer, ex := c.ws, c.ex
		if k%2 == 1 {
			reason = websocket.CloseReason{Code: websocket.CloseCode(4000 + c.i), Reason: fmt.Sprintf("server of %d leaves", c.i)}
			closer, ex = sc.ws, sc.ex
		}
		ex.Post(func() { closer.AsyncClose(reason, completion.Callback(func(err error) { c.closeEr <- err })) })
	}
	for _, r := range rawOpen {
		wgRaw.Go(func() {
			reason := closePayload(uint16(3500+r.i), fmt.Sprintf("raw %d leaves", r.i))
			r.conn.Write(rawFrame(true, websocket.OpClose, true, reason))
			fs, err := mhReadFrames(r.br, 1)
			if err != nil || fs[0].op != websocket.OpClose || fs[0].closeCode() != websocket.CloseCode(3500+r.i) {
				t.Errorf("raw %d: the close's answer %v %v", r.i, fs, err)
			}
			// End the TCP connection as a client does, so that the server's teardown ends.
			r.conn.CloseWrite()
			io.Copy(io.Discard, r.br)
			r.conn.Close()
			sc := srv.conn(t, r.port)
			e := mhRecv(t, sc.end, "raw close")
			want := websocket.CloseReason{Code: websocket.CloseCode(3500 + r.i), Reason: fmt.Sprintf("raw %d leaves", r.i)}
			if !errors.Is(e.err, websocket.ErrClosed) || e.reason != want || e.sub != fmt.Sprintf("p%d", r.i) {
				t.Errorf("raw %d: the server's read %v, Reason %+v, Subprotocol %q; want ErrClosed, %+v, p%d", r.i, e.err, e.reason, e.sub, want, r.i)
			}
		})
	}
	for k, c := range clients {
		sc := scs[k]
		if err := mhRecv(t, c.closeEr, "close"); err != nil {
			t.Errorf("connection %d: close: %v", c.i, err)
		}
		ce, se := mhRecv(t, c.end, "client's last read"), mhRecv(t, sc.end, "server's last read")
		peerEnd, closerEnd := se, ce
		sent := websocket.CloseReason{Code: websocket.CloseCode(3000 + c.i), Reason: fmt.Sprintf("client %d leaves", c.i)}
		if k%2 == 1 {
			peerEnd, closerEnd = ce, se
			sent = websocket.CloseReason{Code: websocket.CloseCode(4000 + c.i), Reason: fmt.Sprintf("server of %d leaves", c.i)}
		}
		if !errors.Is(peerEnd.err, websocket.ErrClosed) || peerEnd.reason != sent {
			t.Errorf("connection %d: the peer's read %v, Reason %+v; want ErrClosed and %+v exactly", c.i, peerEnd.err, peerEnd.reason, sent)
		}
		if !errors.Is(closerEnd.err, websocket.ErrClosed) || closerEnd.reason.Code != sent.Code {
			t.Errorf("connection %d: the closer's read %v, Reason %+v; want ErrClosed and the echo of %d", c.i, closerEnd.err, closerEnd.reason, sent.Code)
		}
		if ce.sub != c.wantSub || se.sub != c.wantSub {
			t.Errorf("connection %d: Subprotocol after the close: client %q, server %q, want %q", c.i, ce.sub, se.sub, c.wantSub)
		}
	}
	wgRaw.Wait()
}

// mhRawSrv is a raw server written with Go's net package, answering clients as their target says.
type mhRawSrv struct {
	ln     *stdnet.TCPListener
	addr   netip.AddrPort
	gotReq sync.Map // target -> chan struct{}, closed once the request has been read
	wg     sync.WaitGroup
	t      *testing.T
}

func mhRawServer(t *testing.T) *mhRawSrv {
	ln, err := stdnet.ListenTCP("tcp", stdnet.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	s := &mhRawSrv{ln: ln, addr: netip.MustParseAddrPort(ln.Addr().String()), t: t}
	s.wg.Go(func() {
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			s.wg.Go(func() { defer c.Close(); s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *mhRawSrv) reqSeen(target string) chan struct{} {
	ch, _ := s.gotReq.LoadOrStore(target, make(chan struct{}))
	return ch.(chan struct{})
}

func (s *mhRawSrv) serve(c *stdnet.TCPConn) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		s.t.Errorf("raw server: request: %v", err)
		return
	}
	var i int
	var mode string
	fmt.Sscanf(strings.ReplaceAll(req.URL.Path, "/", " "), " rs %d %s", &i, &mode)
	close(s.reqSeen(req.URL.Path))
	switch mode {
	case "ok":
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			acceptKey(req.Header.Get("Sec-WebSocket-Key")) + fmt.Sprintf("\r\nX-Id: %d\r\n\r\n", i)
		b := append([]byte(resp), rawFrame(true, websocket.OpText, false, []byte(fmt.Sprintf("early %d", i)))...)
		b = append(b, rawFrame(true, websocket.OpClose, false, closePayload(uint16(4200+i), fmt.Sprintf("srv bye %d", i)))...)
		c.Write(b)
		fs, err := mhReadFrames(br, 1)
		if err != nil || fs[0].op != websocket.OpClose || !fs[0].masked || fs[0].closeCode() != websocket.CloseCode(4200+i) {
			s.t.Errorf("raw server %d: the client's answer to its close: %v %v, want a masked echo of %d", i, fs, err, 4200+i)
		}
	case "refuse":
		c.Write([]byte(fmt.Sprintf("HTTP/1.1 403 Forbidden\r\nX-Id: %d\r\nContent-Length: 4\r\n\r\nnope", i)))
	case "silent":
		io.Copy(io.Discard, br) // until the client gives up
	case "cut":
		c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"))
	}
}

// mhRawServerClient runs a beastgo client against the raw server in the given mode and checks
// what it reports.
func mhRawServerClient(t *testing.T, rs *mhRawSrv, ex executor.Executor, i int, mode string, wg *sync.WaitGroup) {
	target := fmt.Sprintf("/rs/%d/%s", i, mode)
	seen := rs.reqSeen(target)
	wg.Go(func() {
		sock := net.NewTCPSocket(ex)
		defer sock.Close()
		connected := make(chan error, 1)
		sock.AsyncConnect(rs.addr, completion.Callback(func(err error) { connected <- err }))
		if err := mhRecv(t, connected, "connect"); err != nil {
			t.Errorf("%s: connect: %v", target, err)
			return
		}
		ws := websocket.NewStream(sock, nil)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		type result struct {
			hs       error
			status   int
			xid      string
			sub      string
			first    string
			last     error
			reason   websocket.CloseReason
			response bool
		}
		out := make(chan result, 1)
		ex.Post(func() {
			ws.AsyncHandshake("127.0.0.1", target, nil, completion.WithContext(ctx, completion.Callback(func(err error) {
				r := result{hs: err, sub: ws.Subprotocol()}
				if resp := ws.Response(); resp != nil {
					r.response, r.status, r.xid = true, resp.StatusCode, resp.Header.Get("X-Id")
				}
				if err != nil {
					out <- r
					return
				}
				var buf net.FlatBuffer
				ws.AsyncRead(&buf, completion.Callback(func(rd net.IOResult) {
					r.first = string(buf.Bytes())
					if rd.Err != nil {
						r.first = "error: " + rd.Err.Error()
					}
					ws.AsyncRead(net.NewFlatBuffer(0), completion.Callback(func(rd net.IOResult) {
						r.last, r.reason = rd.Err, ws.Reason()
						out <- r
					}))
				}))
			})))
		})
		if mode == "silent" {
			mhRecv(t, seen, "the silent server's request")
			cancel()
		}
		r := mhRecv(t, out, target)
		id := fmt.Sprint(i)
		switch mode {
		case "ok":
			want := websocket.CloseReason{Code: websocket.CloseCode(4200 + i), Reason: fmt.Sprintf("srv bye %d", i)}
			if r.hs != nil || r.status != 101 || r.xid != id || r.sub != "" || r.first != fmt.Sprintf("early %d", i) ||
				!errors.Is(r.last, websocket.ErrClosed) || r.reason != want {
				t.Errorf("%s: handshake %v, Response %d X-Id %q, Subprotocol %q, first read %q, last read %v Reason %+v; "+
					"want nil, 101 X-Id %s, \"\", the frame sent behind the 101, then ErrClosed with %+v",
					target, r.hs, r.status, r.xid, r.sub, r.first, r.last, r.reason, id, want)
			}
		case "refuse":
			if !errors.Is(r.hs, websocket.ErrUpgradeDeclined) || !errors.Is(r.hs, websocket.ErrHandshake) || r.status != 403 || r.xid != id {
				t.Errorf("%s: handshake %v, Response %d X-Id %q; want ErrUpgradeDeclined and the 403 with X-Id %s", target, r.hs, r.status, r.xid, id)
			}
		case "silent":
			if !errors.Is(r.hs, context.Canceled) || !errors.Is(r.hs, websocket.ErrHandshake) || r.response {
				t.Errorf("%s: handshake %v (a response: %v), want context.Canceled and ErrHandshake, no response", target, r.hs, r.response)
			}
		case "cut":
			if !errors.Is(r.hs, websocket.ErrHandshake) {
				t.Errorf("%s: handshake %v, want ErrHandshake", target, r.hs)
			}
		}
	})
}
