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
//
// It leaves the server only once no operation of its stream is in flight: a read that met the
// client's close frame, or the end of our own close, may still be tearing the connection down,
// and the server's shutdown must not stop the IOContext under it.
type session struct {
	srv  *server
	ws   *websocket.Stream
	peer string
	msg  net.FlatBuffer // the message being echoed

	inFlight int  // operations started whose handlers have not run yet
	open     bool // the opening handshake has succeeded
	closing  bool // GoAway has started closing the connection
	done     bool // the session starts nothing more
	ended    bool // the session has left the server
}

func newSession(srv *server, next net.AsyncStream, peer string) *session {
	return &session{srv: srv, ws: websocket.NewStream(next, &streamOptions), peer: peer} // NewStream copies the options
}

// Start runs the session; it may be called from any goroutine.
func (s *session) Start() {
	// From here on everything the session does runs on its strand.
	s.ws.Executor().Post(func() {
		s.inFlight++
		s.ws.AsyncAccept(acceptOptions, completion.Callback(s.onAccept))
	})
}

// GoAway closes the connection with 1001 (going away); it may be called from any goroutine.
func (s *session) GoAway() { s.ws.Executor().Post(s.goAway) }

func (s *session) onAccept(err error) {
	s.inFlight--
	if err != nil || s.closing {
		// A failed handshake has been answered, and the stream has closed the connection; a
		// GoAway during the handshake has closed it.
		s.finish("handshake", err)
		return
	}
	s.open = true
	s.doRead()
}

func (s *session) doRead() {
	s.inFlight++
	s.ws.AsyncRead(&s.msg, completion.Callback(s.onRead))
}

func (s *session) onRead(r net.IOResult) {
	s.inFlight--
	if s.closing {
		// Our close frame is out: whatever the read met, AsyncClose reports it.
		s.finish("read", nil)
		return
	}
	if r.Err != nil {
		// ErrClosed when the client closed: the read has answered with its code and torn the
		// connection down. Any other error (a violation, answered with its close code; a
		// timeout; a reset) has closed it too.
		s.finish("read", r.Err)
		return
	}
	// Echo the message with its own type.
	if s.ws.GotText() {
		s.ws.SetText()
	} else {
		s.ws.SetBinary()
	}
	s.inFlight++
	s.ws.AsyncWrite(s.msg.Bytes(), completion.Callback(s.onWrite))
}

func (s *session) onWrite(r net.IOResult) {
	s.inFlight--
	s.msg.Consume(s.msg.Size())
	if s.msg.Cap() > keepBuffer {
		s.msg = net.FlatBuffer{}
	}
	if r.Err != nil || s.closing {
		// A failed write has closed the connection; a close has its own handler.
		s.finish("write", r.Err)
		return
	}
	s.doRead()
}

func (s *session) goAway() {
	if s.done || s.closing {
		return
	}
	s.closing = true
	if !s.open {
		// The handshake is in flight: closing the connection makes it fail.
		closeNext(s.ws.NextLayer())
		return
	}
	// A read in flight sees the client's close frame and completes; AsyncClose completes once both
	// close frames have crossed and the connection is torn down.
	reason := websocket.CloseReason{Code: websocket.CloseGoingAway, Reason: "server shutting down"}
	s.inFlight++
	s.ws.AsyncClose(reason, completion.Callback(func(err error) {
		s.inFlight--
		s.finish("close", err)
	}))
}

// finish notes that the session starts nothing more, logging err unless it is the clean end of a
// connection, and takes the session out of the server once no operation is in flight.
func (s *session) finish(op string, err error) {
	s.done = true
	if err != nil && !errors.Is(err, websocket.ErrClosed) {
		s.srv.log.Printf("%s: %s: %v", s.peer, op, err)
	}
	if s.inFlight == 0 && !s.ended {
		s.ended = true
		s.srv.remove(s)
	}
}
