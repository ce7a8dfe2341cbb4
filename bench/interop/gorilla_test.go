package interop

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"

	gws "github.com/gorilla/websocket"
)

// TestGorilla runs the catalogue against gorilla/websocket, as the client of our server and as
// the server of our client, over TCP and over TLS.
func TestGorilla(t *testing.T) {
	runGoPeer(t, goPeer{
		module: "github.com/gorilla/websocket",
		dial: func(ctx context.Context, tr transport, url string, c Case) report {
			d := gws.Dialer{TLSClientConfig: tr.client, WriteBufferSize: gorillaWriteBuffer(c)}
			conn, _, err := d.DialContext(ctx, url, nil)
			if err != nil {
				return report{Name: c.Name, Error: "dial: " + err.Error()}
			}
			return gorillaSession(ctx, conn, c)
		},
		serve: func(ctx context.Context, w http.ResponseWriter, r *http.Request, c Case) report {
			up := gws.Upgrader{WriteBufferSize: gorillaWriteBuffer(c)}
			conn, err := up.Upgrade(w, r, nil)
			if err != nil {
				return report{Name: c.Name, Error: "upgrade: " + err.Error()}
			}
			return gorillaSession(ctx, conn, c)
		},
	})
}

// gorillaWriteBuffer is the write buffer for c's connection: gorilla fragments a message written
// through NextWriter into frames of its write buffer's size, so the fragments-in cases get a
// buffer of their frame size; 0 (the default) for the others.
func gorillaWriteBuffer(c Case) int {
	if c.Kind == kindFragmentsIn {
		return c.Fragment
	}
	return 0
}

// gorillaSession plays the peer's side of c on an open gorilla connection: its action for the
// case, then an echo of every message until the connection ends, with the type kept.
func gorillaSession(ctx context.Context, conn *gws.Conn, c Case) (rep report) {
	rep.Name = c.Name
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetReadDeadline(deadline)
	conn.SetWriteDeadline(deadline)
	var err error
	switch c.Kind {
	case kindPingIn:
		// The pong handler runs inside ReadMessage, on the goroutine that also echoes.
		conn.SetPongHandler(func(p string) error { return conn.WriteMessage(gws.TextMessage, []byte(pongPrefix+p)) })
		err = conn.WriteControl(gws.PingMessage, []byte(pingInPayload), deadline)
	case kindCloseIn:
		err = conn.WriteControl(gws.CloseMessage, gws.FormatCloseMessage(c.Code, c.Reason), deadline)
	case kindBadUTF8:
		err = conn.WriteMessage(gws.TextMessage, badUTF8)
	}
	if err != nil {
		rep.Error = c.Kind + ": " + err.Error()
		return rep
	}
	for {
		mt, msg, err := conn.ReadMessage()
		if ce, ok := errors.AsType[*gws.CloseError](err); ok {
			// gorilla's close handler has already echoed the code.
			rep.CloseCode, rep.CloseReason = ce.Code, ce.Text
			return rep
		} else if err != nil {
			rep.Error = "read: " + err.Error()
			return rep
		}
		if c.Kind == kindDrop {
			// Close the TCP connection itself, under TLS too: no close frame, no close_notify.
			nc := conn.NetConn()
			if tc, ok := nc.(*tls.Conn); ok {
				nc = tc.NetConn()
			}
			nc.Close()
			return rep
		}
		w, err := conn.NextWriter(mt)
		if err == nil {
			_, err = w.Write(msg)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			rep.Error = "echo: " + err.Error()
			return rep
		}
	}
}
