package interop

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	stdnet "net"
	"net/netip"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// caseTimeout bounds each case, both sides together: a peer that hangs fails its case.
const caseTimeout = 30 * time.Second

// ourSide is beastgo's end of every case of a test: one IOContext, run by one goroutine, serves
// every socket and Stream, and the cases call the Streams' blocking methods from their own
// goroutines.
type ourSide struct {
	ioc   *executor.IOContext
	guard *executor.WorkGuard
	done  chan struct{}
}

// newOurSide starts the IOContext. At the end of the test the context must run out of work once
// its guard is released: an operation or socket left behind is a leak, reported as an error.
func newOurSide(t *testing.T) *ourSide {
	o := &ourSide{ioc: executor.NewIOContext(), done: make(chan struct{})}
	o.guard = executor.MakeWorkGuard(o.ioc)
	go func() {
		defer close(o.done)
		o.ioc.Run()
	}()
	t.Cleanup(func() {
		o.guard.Reset()
		select {
		case <-o.done:
		case <-time.After(caseTimeout):
			t.Error("the IOContext still had work after every case ended: an operation or a socket was left behind")
			o.ioc.Stop()
			<-o.done
		}
	})
	return o
}

// transport is plain TCP (the Stream over a net.TCPSocket) or TLS (over net.FromConn of a
// crypto/tls conn).
type transport struct {
	name   string
	server *tls.Config // nil for TCP
	client *tls.Config
}

var plainTCP = transport{name: "tcp"}

// scheme returns the URL scheme of the transport.
func (tr transport) scheme() string {
	if tr.server != nil {
		return "wss"
	}
	return "ws"
}

// serve listens on a new loopback port for one connection, on which our Stream accepts the
// WebSocket and plays c. It returns the URL for the peer to dial and the channel that receives
// our side's verdict (nil when our side saw what c expects).
func (o *ourSide) serve(ctx context.Context, t *testing.T, tr transport, c Case, opts *websocket.AcceptOptions) (string, <-chan error) {
	t.Helper()
	verdict := make(chan error, 1)
	accept := func(ws *websocket.Stream) error { return ws.Accept(ctx, opts) }
	if tr.server == nil {
		acceptor := net.NewTCPAcceptor(o.ioc)
		if err := acceptor.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
			t.Fatal(err)
		}
		go func() {
			r := completion.Await(func(h completion.Handler[net.AcceptResult]) {
				acceptor.AsyncAccept(nil, completion.WithContext(ctx, h))
			})
			acceptor.Close()
			if r.Err != nil {
				verdict <- fmt.Errorf("accept: %w", r.Err)
				return
			}
			verdict <- o.play(ctx, r.Socket, c, accept)
		}()
		return fmt.Sprintf("ws://%s/%s", acceptor.Addr(), c.Name), verdict
	}
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		stop := context.AfterFunc(ctx, func() { ln.Close() })
		conn, err := ln.Accept()
		stop()
		ln.Close()
		if err != nil {
			verdict <- fmt.Errorf("accept: %w", err)
			return
		}
		tc := tls.Server(conn, tr.server)
		if err := tc.HandshakeContext(ctx); err != nil {
			tc.Close()
			verdict <- fmt.Errorf("TLS handshake: %w", err)
			return
		}
		verdict <- o.play(ctx, net.FromConn(tc, o.ioc), c, accept)
	}()
	return fmt.Sprintf("wss://%s/%s", ln.Addr(), c.Name), verdict
}

// dial connects our Stream to rawURL (ws://host:port/path or wss://...), runs the opening
// handshake, and plays c; it returns our side's verdict.
func (o *ourSide) dial(ctx context.Context, tr transport, rawURL string, c Case) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	hostport, target := u.Host, u.RequestURI()
	handshake := func(ws *websocket.Stream) error { return ws.Handshake(ctx, hostport, target, nil) }
	if tr.client == nil {
		addr, err := netip.ParseAddrPort(hostport)
		if err != nil {
			return err
		}
		sock := net.NewTCPSocket(o.ioc)
		if err := completion.Await(func(h completion.Handler[error]) {
			sock.AsyncConnect(addr, completion.WithContext(ctx, h))
		}); err != nil {
			sock.Close()
			return fmt.Errorf("connect: %w", err)
		}
		return o.play(ctx, sock, c, handshake)
	}
	d := tls.Dialer{Config: tr.client}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return fmt.Errorf("TLS dial: %w", err)
	}
	return o.play(ctx, net.FromConn(conn, o.ioc), c, handshake)
}

// play opens a Stream over next with open (the client's or the server's handshake) and plays
// our side of c. Whatever the case's end, clean or not, the Stream must have closed next by the
// time its last operation returned: a second Close reports net.ErrClosed.
func (o *ourSide) play(ctx context.Context, next interface {
	net.AsyncStream
	io.Closer
}, c Case, open func(*websocket.Stream) error) error {
	ws := websocket.NewStream(next, nil)
	if err := open(ws); err != nil {
		next.Close()
		return fmt.Errorf("opening handshake: %w", err)
	}
	if err := playCase(ctx, ws, c); err != nil {
		next.Close()
		return err
	}
	if err := next.Close(); !errors.Is(err, stdnet.ErrClosed) {
		return fmt.Errorf("the stream left its next layer open at the end of the case (Close: %v)", err)
	}
	return nil
}

// playCase is our side of c on an open Stream; it returns an error describing the first thing
// that differed from what the case expects.
func playCase(ctx context.Context, ws *websocket.Stream, c Case) error {
	normal := websocket.CloseReason{Code: websocket.CloseNormal}
	switch c.Kind {
	case kindEcho, kindFragmentsOut:
		if err := write(ctx, ws, c); err != nil {
			return err
		}
		var echo net.FlatBuffer
		if _, err := ws.Read(ctx, &echo); err != nil {
			return fmt.Errorf("reading the echo: %w", err)
		}
		if err := sameMessage(payload(c), c.Text, echo.Bytes(), ws.GotText()); err != nil {
			return err
		}
		return closeWith(ctx, ws, normal)

	case kindFragmentsIn:
		if err := write(ctx, ws, c); err != nil {
			return err
		}
		got, pieces, err := readPieces(ctx, ws)
		if err != nil {
			return err
		}
		if err := sameMessage(payload(c), c.Text, got, ws.GotText()); err != nil {
			return err
		}
		// Frames of c.Fragment bytes: no read can return more than one frame's payload.
		for _, p := range pieces {
			if p > c.Fragment {
				return fmt.Errorf("read a piece of %d bytes from frames of %d (pieces %v): the message was not fragmented", p, c.Fragment, pieces)
			}
		}
		return closeWith(ctx, ws, normal)

	case kindPingOut:
		pongs := make(chan string, 1)
		ws.SetControlCallback(func(kind websocket.FrameType, p []byte) {
			if kind == websocket.FramePong {
				select {
				case pongs <- string(p):
				default:
				}
			}
		})
		reading := make(chan error, 1)
		go func() {
			_, err := ws.Read(ctx, new(net.FlatBuffer))
			reading <- err
		}()
		if err := ws.Ping(ctx, []byte(pingOutPayload)); err != nil {
			return fmt.Errorf("ping: %w", err)
		}
		select {
		case p := <-pongs:
			if p != pingOutPayload {
				return fmt.Errorf("pong payload %q, want %q", p, pingOutPayload)
			}
		case err := <-reading:
			return fmt.Errorf("the read ended before the pong came: %v", err)
		case <-ctx.Done():
			<-reading
			return fmt.Errorf("no pong: %w", ctx.Err())
		}
		if err := closeWith(ctx, ws, normal); err != nil {
			<-reading
			return err
		}
		if err := <-reading; !errors.Is(err, websocket.ErrClosed) {
			return fmt.Errorf("the read pending during the close ended with %v, want ErrClosed", err)
		}
		return nil

	case kindPingIn:
		pings := make(chan string, 1)
		ws.SetControlCallback(func(kind websocket.FrameType, p []byte) {
			if kind == websocket.FramePing {
				select {
				case pings <- string(p):
				default:
				}
			}
		})
		var msg net.FlatBuffer
		if _, err := ws.Read(ctx, &msg); err != nil {
			return fmt.Errorf("reading the peer's word of our pong: %w", err)
		}
		var ping string
		select {
		case ping = <-pings:
		default:
			return fmt.Errorf("the control callback saw no ping before the message %q", msg.Bytes())
		}
		if ping == "" || string(msg.Bytes()) != pongPrefix+ping || !ws.GotText() {
			return fmt.Errorf("the peer pinged with %q and then sent %q (text %v), want text %q", ping, msg.Bytes(), ws.GotText(), pongPrefix+ping)
		}
		return closeWith(ctx, ws, normal)

	case kindCloseOut:
		reason := websocket.CloseReason{Code: websocket.CloseCode(c.Code), Reason: c.Reason}
		if err := closeWith(ctx, ws, reason); err != nil {
			return err
		}
		if got := ws.Reason(); int(got.Code) != c.Code {
			return fmt.Errorf("the peer answered our close %d with %d %q, want its echo", c.Code, got.Code, got.Reason)
		}
		return nil

	case kindCloseIn:
		_, err := ws.Read(ctx, new(net.FlatBuffer))
		if !errors.Is(err, websocket.ErrClosed) {
			return fmt.Errorf("the read ended with %v, want ErrClosed", err)
		}
		if got := ws.Reason(); int(got.Code) != c.Code || got.Reason != c.Reason {
			return fmt.Errorf("Reason() is %d %q, want %d %q", got.Code, got.Reason, c.Code, c.Reason)
		}
		return nil

	case kindDrop:
		if err := write(ctx, ws, c); err != nil {
			return err
		}
		_, err := ws.Read(ctx, new(net.FlatBuffer))
		switch {
		case err == nil:
			return errors.New("read a message from a peer that dropped the connection")
		case ctx.Err() != nil:
			return fmt.Errorf("the read did not end when the peer dropped the connection: %w", err)
		case errors.Is(err, websocket.ErrClosed):
			return fmt.Errorf("the read reports a clean close (%v) for a dropped connection", err)
		case !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET):
			return fmt.Errorf("the read ended with %v, want the connection's end (EOF or a reset)", err)
		}
		if werr := ws.Write(ctx, []byte("after the drop")); werr == nil {
			return errors.New("a write after the drop succeeded")
		}
		return nil

	case kindBadUTF8:
		_, err := ws.Read(ctx, new(net.FlatBuffer))
		if !errors.Is(err, websocket.ErrBadFramePayload) {
			return fmt.Errorf("the read ended with %v, want ErrBadFramePayload", err)
		}
		return nil
	}
	return fmt.Errorf("unknown kind %q", c.Kind)
}

// write sends c's message: whole, or in fragmentPieces for kindFragmentsOut.
func write(ctx context.Context, ws *websocket.Stream, c Case) error {
	if c.Text || c.Kind == kindDrop {
		ws.SetText()
	} else {
		ws.SetBinary()
	}
	p := payload(c)
	if c.Kind != kindFragmentsOut {
		if err := ws.Write(ctx, p); err != nil {
			return fmt.Errorf("write of %d bytes: %w", len(p), err)
		}
		return nil
	}
	pieces := fragments(p)
	for i, piece := range pieces {
		if _, err := ws.WriteSome(ctx, i == len(pieces)-1, piece); err != nil {
			return fmt.Errorf("write of fragment %d: %w", i, err)
		}
	}
	return nil
}

// readPieces reads one message with ReadSome and returns it and the size of each piece read.
func readPieces(ctx context.Context, ws *websocket.Stream) ([]byte, []int, error) {
	var msg []byte
	var pieces []int
	b := make([]byte, 64)
	for {
		n, err := ws.ReadSome(ctx, b)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the echo's frames: %w", err)
		}
		msg = append(msg, b[:n]...)
		pieces = append(pieces, n)
		if ws.IsMessageDone() {
			return msg, pieces, nil
		}
	}
}

// closeWith runs the closing handshake from our side; it must end cleanly.
func closeWith(ctx context.Context, ws *websocket.Stream, reason websocket.CloseReason) error {
	if err := ws.Close(ctx, reason); err != nil {
		return fmt.Errorf("close %d: %w", reason.Code, err)
	}
	return nil
}

// sameMessage compares a message received with the one sent, type included, naming the first
// byte that differs rather than printing a megabyte.
func sameMessage(want []byte, wantText bool, got []byte, gotText bool) error {
	if gotText != wantText {
		return fmt.Errorf("received a %s message, want %s", typeName(gotText), typeName(wantText))
	}
	if bytes.Equal(got, want) {
		return nil
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Errorf("received %d bytes, sent %d; first difference at byte %d", len(got), len(want), i)
}
