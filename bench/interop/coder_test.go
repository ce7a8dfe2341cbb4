package interop

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	cws "github.com/coder/websocket"
)

// TestCoder runs the catalogue against coder/websocket, as the client of our server and as the
// server of our client, over TCP and over TLS.
func TestCoder(t *testing.T) {
	runGoPeer(t, goPeer{
		module: "github.com/coder/websocket",
		dial: func(ctx context.Context, tr transport, url string, c Case) report {
			pongs := make(chan string, 1)
			transport := &http.Transport{TLSClientConfig: tr.client}
			defer transport.CloseIdleConnections()
			conn, _, err := cws.Dial(ctx, url, &cws.DialOptions{
				HTTPClient:     &http.Client{Transport: transport},
				OnPongReceived: func(_ context.Context, p []byte) { keepFirst(pongs, string(p)) },
			})
			if err != nil {
				return report{Name: c.Name, Error: "dial: " + err.Error()}
			}
			return coderSession(ctx, conn, c, pongs)
		},
		serve: func(ctx context.Context, w http.ResponseWriter, r *http.Request, c Case) report {
			pongs := make(chan string, 1)
			conn, err := cws.Accept(w, r, &cws.AcceptOptions{
				OnPongReceived: func(_ context.Context, p []byte) { keepFirst(pongs, string(p)) },
			})
			if err != nil {
				return report{Name: c.Name, Error: "accept: " + err.Error()}
			}
			return coderSession(ctx, conn, c, pongs)
		},
	})
}

// keepFirst sends s on ch unless ch already holds a value.
func keepFirst(ch chan string, s string) {
	select {
	case ch <- s:
	default:
	}
}

// coderSession plays the peer's side of c on an open coder connection: its action for the case,
// then an echo of every message until the connection ends, with the type kept. pongs receives
// the payload of the first pong the connection reads.
func coderSession(ctx context.Context, conn *cws.Conn, c Case, pongs <-chan string) (rep report) {
	rep.Name = c.Name
	defer conn.CloseNow()
	conn.SetReadLimit(4 << 20)
	var pinging sync.WaitGroup
	var pingErr error
	switch c.Kind {
	case kindPingIn:
		// coder chooses the ping's payload, and Ping waits for the pong, read by the echo
		// loop below, so it runs beside it.
		pinging.Go(func() {
			if pingErr = conn.Ping(ctx); pingErr == nil {
				pingErr = conn.Write(ctx, cws.MessageText, []byte(pongPrefix+<-pongs))
			}
		})
	case kindCloseIn:
		// Close returns nil only once the peer's close frame has echoed the code.
		if err := conn.Close(cws.StatusCode(c.Code), c.Reason); err != nil {
			rep.Error = "close: " + err.Error()
		} else {
			rep.CloseCode = c.Code
		}
		return rep
	case kindBadUTF8:
		if err := conn.Write(ctx, cws.MessageText, badUTF8); err != nil {
			rep.Error = "write: " + err.Error()
			return rep
		}
	}
	defer func() {
		pinging.Wait()
		if pingErr != nil && rep.Error == "" {
			rep.Error = "ping: " + pingErr.Error()
		}
	}()
	for {
		typ, msg, err := conn.Read(ctx)
		if ce, ok := errors.AsType[cws.CloseError](err); ok {
			// coder's reader has already echoed the close frame.
			rep.CloseCode, rep.CloseReason = int(ce.Code), ce.Reason
			return rep
		} else if err != nil {
			rep.Error = "read: " + err.Error()
			return rep
		}
		if c.Kind == kindDrop {
			conn.CloseNow() // no close frame
			return rep
		}
		if err := coderWrite(ctx, conn, c, typ, msg); err != nil {
			rep.Error = "echo: " + err.Error()
			return rep
		}
	}
}

// coderWrite echoes msg: whole, or for fragments-in in frames of c.Fragment bytes (each Write on
// a coder Writer is one frame, and Close sends an empty final frame).
func coderWrite(ctx context.Context, conn *cws.Conn, c Case, typ cws.MessageType, msg []byte) error {
	if c.Kind != kindFragmentsIn {
		return conn.Write(ctx, typ, msg)
	}
	w, err := conn.Writer(ctx, typ)
	if err != nil {
		return err
	}
	for len(msg) > 0 {
		n := min(c.Fragment, len(msg))
		if _, err := w.Write(msg[:n]); err != nil {
			w.Close()
			return err
		}
		msg = msg[n:]
	}
	return w.Close()
}
