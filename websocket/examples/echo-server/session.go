package main

import (
	"errors"
	"net/http"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

const (
	// maxMessage is the largest message echoed. It bounds the memory a client can make a session
	// hold; 16 MiB (the library's default, written out here) lets the usual test suites through.
	maxMessage = 16 << 20

	// closeTimeout bounds the opening handshake and the closing one. It is what makes a shutdown
	// end within seconds even when a client never answers the server's close frame.
	closeTimeout = 5 * time.Second

	// keepBuffer is the most buffer storage a session keeps between messages, so that a
	// connection that once echoed a large message does not hold its memory while it is idle.
	keepBuffer = 64 << 10
)

// streamOptions are the options of every session's stream.
var streamOptions = websocket.Options{
	ReadMessageMax: maxMessage,
	// Beast's suggested server settings (an idle timeout with keep-alive pings, so that vanished
	// clients do not keep their sockets), with the handshakes bounded by closeTimeout.
	Timeout: websocket.Timeout{
		Handshake:      closeTimeout,
		Idle:           websocket.SuggestedTimeout(websocket.RoleServer).Idle,
		KeepAlivePings: true,
	},
}

// acceptOptions are the server's answers to the upgrade requests. The Origin check stays on: a
// request from a browser page is accepted only from the server's own origin.
var acceptOptions = &websocket.AcceptOptions{
	Decorate: func(h http.Header) { h.Set("Server", "beastgo echo-server") },
}

// session echoes the messages of one WebSocket connection: Beast's websocket_session. Every one
// of its handlers runs on the connection's strand (the next layer's executor), one at a time, so
// its fields need no lock.
type session struct {
	srv  *server
	ws   *websocket.Stream
	peer string
	msg  net.FlatBuffer // the message being echoed

	open    bool // the opening handshake has succeeded
	closing bool // GoAway has started the closing handshake
	ended   bool // the session has left the server
}

func newSession(srv *server, next net.AsyncStream, peer string) *session {
	return &session{srv: srv, ws: websocket.NewStream(next, &streamOptions), peer: peer} // NewStream copies the options
}

// Start runs the session; it may be called from any goroutine.
func (s *session) Start() {
	// From here on everything the session does runs on its strand.
	s.ws.Executor().Post(func() {
		s.ws.AsyncAccept(acceptOptions, completion.Callback(s.onAccept))
	})
}

// GoAway closes the connection with 1001 (going away); it may be called from any goroutine.
func (s *session) GoAway() { s.ws.Executor().Post(s.goAway) }

func (s *session) onAccept(err error) {
	if err != nil {
		s.end("handshake", err) // the stream has answered the request and closed the connection
		return
	}
	s.open = true
	if s.closing {
		// GoAway closed the next layer while this handler was already on its way: the close
		// below fails at once and ends the session.
		s.goAway()
		return
	}
	s.doRead()
}

func (s *session) doRead() {
	s.ws.AsyncRead(&s.msg, completion.Callback(s.onRead))
}

func (s *session) onRead(r net.IOResult) {
	if s.closing {
		// Our close frame is out: AsyncClose reads the client's, and onClose ends the session.
		return
	}
	if r.Err != nil {
		// ErrClosed when the client closed: the read has answered with its code and closed the
		// connection. Any other error (a violation, answered with its close code; a timeout; a
		// reset) has closed it too.
		s.end("read", r.Err)
		return
	}
	// Echo the message with its own type.
	if s.ws.GotText() {
		s.ws.SetText()
	} else {
		s.ws.SetBinary()
	}
	s.ws.AsyncWrite(s.msg.Bytes(), completion.Callback(s.onWrite))
}

func (s *session) onWrite(r net.IOResult) {
	s.msg.Consume(s.msg.Size())
	if s.msg.Cap() > keepBuffer {
		s.msg = net.FlatBuffer{}
	}
	if s.closing {
		return
	}
	if r.Err != nil {
		// The stream has closed the next layer; there is no read in flight to see it.
		s.end("write", r.Err)
		return
	}
	s.doRead()
}

func (s *session) goAway() {
	switch {
	case s.ended:
		return
	case !s.open:
		// The handshake is in flight: closing the next layer makes it fail, and onAccept ends
		// the session.
		s.closing = true
		closeNext(s.ws.NextLayer())
		return
	}
	s.closing = true
	// A read may be in flight: it sees the client's close frame and fails with ErrClosed, and
	// AsyncClose completes once both close frames have crossed and the connection is torn down.
	reason := websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "server shutting down"}
	s.ws.AsyncClose(reason, completion.Callback(func(err error) { s.end("close", err) }))
}

// end takes the session out of the server once the connection is closed, logging err unless it
// is the clean end of a connection.
func (s *session) end(op string, err error) {
	if s.ended {
		return
	}
	s.ended = true
	if err != nil && !errors.Is(err, websocket.ErrClosed) {
		s.srv.log.Printf("%s: %s: %v", s.peer, op, err)
	}
	s.srv.remove(s)
}
