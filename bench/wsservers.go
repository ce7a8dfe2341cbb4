package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"time"

	coderws "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	gorillaws "github.com/gorilla/websocket"
	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbiows "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/beastgo/beast/executor"
	beastnet "github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// A server starts a WebSocket echo server on addr and returns the address it listens on. It
// runs until the process exits. Every server echoes each message whole, with the kind it came
// with, through its library's own message API, written as the library's README or examples
// write an echo server.
type server func(addr string) (string, error)

// servers are the echo servers a child can run, by the name the parent passes with -serve.
var servers = map[string]server{
	"beastgo":         func(addr string) (string, error) { return serveBeast(addr, 1, 1) },
	"beastgo-2run":    func(addr string) (string, error) { return serveBeast(addr, 1, 2) },
	"beastgo-percore": func(addr string) (string, error) { return serveBeast(addr, runtime.GOMAXPROCS(0), 1) },
	"gorilla":         serveGorilla,
	"coder":           serveCoder,
	"gobwas":          serveGobwas,
	"nbio":            serveNbio,
	"beast":           serveBoostBeast,
}

// serverInfo says how a server of the comparison is set up, for the table and the docs.
type serverInfo struct {
	name  string // the -serve name
	label string // what the table shows
	beast bool   // one of beastgo's set-ups, not a peer
	// cpp marks a C++ program (bench/asio: Asio's TCP echo, Beast's WebSocket echo): not one of
	// the Go peers the "vs best peer" ratios are over, and without Go's runtime statistics (heap,
	// goroutines, allocations); its CPU time and RSS are read as every server's are.
	cpp bool
}

// echoServers are the servers of the echo table, in the order it prints them.
var echoServers = []serverInfo{
	{"beastgo", "beastgo, one Run goroutine", true, false},
	{"beastgo-2run", "beastgo, two Run goroutines", true, false},
	{"beastgo-percore", "beastgo, an IOContext per core", true, false},
	{"gorilla", "gorilla/websocket", false, false},
	{"coder", "coder/websocket", false, false},
	{"gobwas", "gobwas/ws", false, false},
	{"nbio", "lesismal/nbio", false, false},
	{"beast", "Beast (C++), one thread", false, true},
}

// memoryServers are the servers of the idle-memory table: one beastgo set-up (how many Run
// goroutines serve a context does not change what a connection holds), the four peers and Beast.
var memoryServers = []serverInfo{echoServers[0], echoServers[3], echoServers[4], echoServers[5], echoServers[6], echoServers[7]}

// serverNames lists the -serve names, sorted.
func serverNames() []string {
	var names []string
	for n := range servers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// listenTCP listens on addr with Go's net package, for the peers that serve a net.Listener.
func listenTCP(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// serveHTTP serves h on addr with a plain net/http server: how gorilla, coder and gobwas's
// higher-level API are meant to be used.
func serveHTTP(addr string, h http.HandlerFunc) (string, error) {
	ln, err := listenTCP(addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// serveBeast serves on contexts IOContexts, each run by runners goroutines, handing accepted
// connections to the contexts in turn (Asio's io_context per core when contexts > 1). With more
// than one Run goroutine per context each connection is on a strand of its own, as
// docs/websocket.md says a pool needs.
func serveBeast(addr string, contexts, runners int) (string, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "", err
	}
	ctxs := make([]*executor.IOContext, contexts)
	for i := range ctxs {
		ctxs[i] = executor.NewIOContext()
	}
	var acceptEx executor.Executor = ctxs[0]
	if runners > 1 {
		acceptEx = executor.NewStrand(ctxs[0])
	}
	acc := beastnet.NewTCPAcceptor(acceptEx)
	if err := acc.Listen(ap, 0); err != nil {
		return "", err
	}
	l := &beastListener{acc: acc, acceptEx: acceptEx, ctxs: ctxs, strands: runners > 1}
	l.accept()
	for _, ctx := range ctxs {
		executor.MakeWorkGuard(ctx) // never reset: the contexts run until the process exits
		for range runners {
			go ctx.Run()
		}
	}
	return acc.Addr().String(), nil
}

// beastListener accepts the beastgo server's connections, one at a time, and is its own accept
// handler: made once, so that an accept leaves no garbage (a closure per accept would count in
// the idle-memory figures, which measure the heap's growth).
type beastListener struct {
	acc      *beastnet.TCPAcceptor
	acceptEx executor.Executor
	ctxs     []*executor.IOContext
	strands  bool              // each connection on a strand of its own
	next     int               // the context the next connection goes to
	ex       executor.Executor // the accept in flight's socket's executor
}

func (l *beastListener) accept() {
	var ex executor.Executor = l.ctxs[l.next%len(l.ctxs)]
	l.next++
	if l.strands {
		ex = executor.NewStrand(ex)
	}
	l.ex = ex
	l.acc.AsyncAccept(ex, l)
}

// Complete starts the accepted connection's session and accepts the next.
func (l *beastListener) Complete(r beastnet.AcceptResult) {
	if r.Err != nil {
		// Out of descriptors, say: try again shortly rather than spin.
		fmt.Fprintf(os.Stderr, "bench server beastgo: accept: %v\n", r.Err)
		time.AfterFunc(10*time.Millisecond, func() { l.acceptEx.Post(l.accept) })
		return
	}
	s := newBeastSession(r.Socket)
	if l.ex == l.acceptEx {
		s.start() // already where the socket's handlers run
	} else {
		l.ex.Post(s.start) // the session's first step runs where its socket's handlers run
	}
	l.accept()
}

// beastSession is one connection of the beastgo server: the echo loop of docs/websocket.md, with
// its buffer reused, so a message costs only what the Stream does, and its handlers the session
// itself, seen through three pointer types of its own (sessionAccepted, sessionRead,
// sessionWritten): a completion.Handler that is a pointer costs nothing to pass, where three
// closures would add 48 B to every connection.
type beastSession struct {
	sock *beastnet.TCPSocket
	ws   *websocket.Stream
	buf  beastnet.FlatBuffer
}

// The session's handlers: the AsyncAccept's, each AsyncRead's and each AsyncWrite's.
type (
	sessionAccepted beastSession
	sessionRead     beastSession
	sessionWritten  beastSession
)

func newBeastSession(sock *beastnet.TCPSocket) *beastSession {
	return &beastSession{sock: sock, ws: websocket.NewStream(sock, nil)}
}

func (s *beastSession) start() { s.ws.AsyncAccept(nil, (*sessionAccepted)(s)) }
func (s *beastSession) read()  { s.ws.AsyncRead(&s.buf, (*sessionRead)(s)) }

func (a *sessionAccepted) Complete(err error) {
	s := (*beastSession)(a)
	if err != nil {
		s.sock.Close()
		return
	}
	s.read()
}

func (r *sessionRead) Complete(res beastnet.IOResult) {
	s := (*beastSession)(r)
	if res.Err != nil {
		s.sock.Close() // the client has gone; after a closing handshake this is a no-op
		return
	}
	if s.ws.GotText() {
		s.ws.SetText()
	} else {
		s.ws.SetBinary()
	}
	s.ws.AsyncWrite(s.buf.Bytes(), (*sessionWritten)(s))
}

func (w *sessionWritten) Complete(res beastnet.IOResult) {
	s := (*beastSession)(w)
	s.buf.Consume(s.buf.Size())
	if res.Err != nil {
		s.sock.Close()
		return
	}
	s.read()
}

// serveGorilla is gorilla/websocket's examples/echo: a default Upgrader, and ReadMessage and
// WriteMessage in the handler's goroutine.
func serveGorilla(addr string) (string, error) {
	var up gorillaws.Upgrader
	return serveHTTP(addr, func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			kind, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(kind, msg); err != nil {
				return
			}
		}
	})
}

// coderReadLimit lifts coder/websocket's default 32 KiB read limit above the largest message
// the comparison sends.
const coderReadLimit = 16 << 20

// serveCoder is coder/websocket's Accept in a net/http handler, with Read and Write of whole
// messages.
func serveCoder(addr string) (string, error) {
	return serveHTTP(addr, func(w http.ResponseWriter, r *http.Request) {
		c, err := coderws.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(coderReadLimit)
		ctx := context.Background()
		for {
			kind, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, kind, msg); err != nil {
				return
			}
		}
	})
}

// serveGobwas is the first example of gobwas/ws's README: UpgradeHTTP in a net/http handler, then
// a goroutine reading with wsutil.ReadClientData and writing with wsutil.WriteServerMessage.
func serveGobwas(addr string) (string, error) {
	wsutil.SetMaxMessageSize(16 << 20)
	return serveHTTP(addr, func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			for {
				msg, op, err := wsutil.ReadClientData(conn)
				if err != nil {
					return
				}
				if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
					return
				}
			}
		}()
	})
}

// serveNbio is nbio's websocket echo example: an Upgrader whose OnMessage writes the message
// back, served by an nbhttp.Engine (its epoll loops, non-blocking mode, the default) with
// ReleaseWebsocketPayload on.
func serveNbio(addr string) (string, error) {
	logging.Output = os.Stderr // nbio logs on stdout by default, where the child speaks to its parent
	logging.SetLevel(logging.LevelError)
	up := nbiows.NewUpgrader()
	up.OnMessage(func(c *nbiows.Conn, kind nbiows.MessageType, data []byte) {
		_ = c.WriteMessage(kind, data)
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, err := up.Upgrade(w, r, nil); err != nil {
			return
		}
	})
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network:                 "tcp",
		Addrs:                   []string{addr},
		Handler:                 mux,
		ReleaseWebsocketPayload: true,
	})
	if err := engine.Start(); err != nil {
		return "", err
	}
	return engine.Addrs[0], nil
}
