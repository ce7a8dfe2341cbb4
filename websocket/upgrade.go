package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// Upgrade opens a server Stream from a request a net/http server received: it checks r against
// opts (which may be nil), and on success takes the connection over from the server (hijacking
// it), writes the 101 response on it, and returns a Stream over net.FromConn(conn, ex) whose
// operations complete on ex. Bytes the client sent behind its request, already buffered by the
// server, are kept for the first read. The Stream's Options are opts.Stream's. Closing the
// Stream's next layer (a *net.ConnStream) closes the connection.
//
// A request the handshake refuses is answered through w (400, 426 with Sec-WebSocket-Version:
// 13, 403) and its error returned, matching ErrHandshake; the handler must not write to w
// after any error. Upgrade runs on the handler's goroutine and blocks while the 101 is written.
func Upgrade(w http.ResponseWriter, r *http.Request, ex executor.Executor, opts *AcceptOptions) (*Stream, error) {
	if err := checkRequest(r, opts); err != nil {
		hsWriteRefusal(w, err)
		return nil, err
	}
	var decorate func(http.Header)
	var supported []string
	var streamOpts *Options
	if opts != nil {
		decorate, supported, streamOpts = opts.Decorate, opts.Subprotocols, opts.Stream
	}
	proto := negotiateSubprotocol(r, supported)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		err = fmt.Errorf("%w: taking the connection over: %w", ErrHandshake, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return nil, err
	}
	// The server may have set deadlines for its own reads and writes; the WebSocket outlives them.
	if err := conn.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, hsWrap("clearing the connection's deadlines", err)
	}
	var rest []byte
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		rest = bytes.Clone(b)
	}
	if err := buildResponse(r, proto, decorate).Write(conn); err != nil {
		conn.Close()
		return nil, hsWrap("writing the response", err)
	}
	s := NewStream(net.FromConn(conn, ex), streamOpts)
	s.handshake().subprotocol = proto
	s.hs.readAhead = rest
	s.dropHandshake()
	s.setRole(roleServer)
	return s, nil
}

// hsWriteRefusal answers through w a request the handshake refused with err: its status (400 for
// an error that carries none), with Sec-WebSocket-Version: 13 on a 426 (RFC 6455 section 4.4).
func hsWriteRefusal(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if he, ok := errors.AsType[*HandshakeError](err); ok && he.status != 0 {
		status = he.status
	}
	if status == http.StatusUpgradeRequired {
		w.Header().Set("Sec-WebSocket-Version", "13")
	}
	w.Header().Set("Connection", "close")
	http.Error(w, err.Error(), status)
}
