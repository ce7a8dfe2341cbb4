package websocket

import (
	"bytes"
	"errors"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// TestPingPong: a ping is answered by the peer's read, and each side's control callback sees what
// its read received, with the payload.
func TestPingPong(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	type seen struct {
		kind    FrameType
		payload string
	}
	var client, server []seen
	var closeAfter *opResult
	p.client.SetControlCallback(func(k FrameType, b []byte) {
		client = append(client, seen{k, string(b)})
		if len(client) == 2 { // both pongs are in: close, from inside the read's step
			closeAfter = startOp(func(h completion.Handler[error]) {
				p.client.AsyncClose(CloseReason{Code: CloseNormal, Reason: "bye"}, h)
			})
		}
	})
	p.server.SetControlCallback(func(k FrameType, b []byte) { server = append(server, seen{k, string(b)}) })
	payload := []byte("are you there")
	ping := startOp(func(h completion.Handler[error]) { p.client.AsyncPing(payload, h) })
	copy(payload, "XXXXXXXXXXXXX") // the ping copied it
	pong := startOp(func(h completion.Handler[error]) { p.server.AsyncPong([]byte("heartbeat"), h) })
	sr := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	cr := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
	p.run()
	ping.check(t, "ping")
	pong.check(t, "pong")
	if closeAfter == nil {
		t.Fatalf("the client saw %v, not the two pongs", client)
	}
	closeAfter.check(t, "close")
	if ping.err != nil || pong.err != nil || closeAfter.err != nil || !errors.Is(sr.r.Err, ErrClosed) || !errors.Is(cr.r.Err, ErrClosed) {
		t.Fatalf("ping %v, pong %v, close %v, reads %v %v", ping.err, pong.err, closeAfter.err, sr.r.Err, cr.r.Err)
	}
	wantServer := []seen{{FramePing, "are you there"}, {FrameClose, "bye"}}
	if len(server) != 2 || server[0] != wantServer[0] || server[1] != wantServer[1] {
		t.Fatalf("server saw %v, want %v", server, wantServer)
	}
	// The client saw the unsolicited pong and the answer to its ping; our close went first, so
	// the callback is silent about the server's echo.
	if len(client) != 2 || client[0] != (seen{FramePong, "heartbeat"}) || client[1] != (seen{FramePong, "are you there"}) {
		t.Fatalf("client saw %v", client)
	}
}

func TestPingErrors(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	big := startOp(func(h completion.Handler[error]) { p.client.AsyncPing(make([]byte, 126), h) })
	first := startOp(func(h completion.Handler[error]) { p.client.AsyncPing([]byte("1"), h) })
	second := startOp(func(h completion.Handler[error]) { p.client.AsyncPong([]byte("2"), h) })
	p.run()
	big.check(t, "big ping")
	if !errors.Is(big.err, ErrControlTooBig) || first.err != nil || !errors.Is(second.err, ErrOperationInProgress) {
		t.Fatalf("big %v, first %v, second %v", big.err, first.err, second.err)
	}
	if got := p.sEnd.Unread(); !bytes.Equal(got[:2], []byte{0x89, 0x81}) || len(got) != 2+4+1 {
		t.Fatalf("the peer got % x, want the one ping", got)
	}
	ns := NewStream(p.cEnd, nil)
	notOpen := startOp(func(h completion.Handler[error]) { ns.AsyncPing(nil, h) })
	p.run()
	if !errors.Is(notOpen.err, ErrNotOpen) {
		t.Fatalf("ping before the handshake %v, want ErrNotOpen", notOpen.err)
	}
}

// TestPingBetweenFragments: a ping started while a message goes out in frames is sent between
// two of them.
func TestPingBetweenFragments(t *testing.T) {
	p := newPair(t, nettest.Options{WriteSize: 3}, nettest.Options{}, &Options{AutoFragment: true, WriteBufferBytes: 10})
	msg := bytes.Repeat([]byte("z"), 50)
	w := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
	ping := startOp(func(h completion.Handler[error]) { p.client.AsyncPing([]byte("p"), h) })
	p.run()
	if w.r != (net.IOResult{N: 50}) || ping.err != nil {
		t.Fatalf("write %+v, ping %v", w.r, ping.err)
	}
	wire := p.sEnd.Unread()
	var ops []Opcode
	for len(wire) > 0 {
		h, n, err := parseHeader(wire, roleServer, false)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, h.op)
		wire = wire[n+int(h.length):]
	}
	if len(ops) != 6 || ops[0] != OpText || ops[1] != OpPing || ops[2] != OpContinuation {
		t.Fatalf("frames %v, want text, ping, then four continuations", ops)
	}
}

func TestReadSizeHint(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, &Options{ReadMessageMax: 100})
	if got := p.client.ReadSizeHint(0); got != 100 {
		t.Fatalf("hint before a message %d, want the limit 100", got)
	}
	if got := p.client.ReadSizeHint(10); got != 10 {
		t.Fatalf("hint %d, want the initial 10", got)
	}
	p.cEnd.Append(rawFrame(roleServer, 0x82, make([]byte, 60)))
	r := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncReadSome(make([]byte, 15), h) })
	p.run()
	if r.r.N != 15 {
		t.Fatalf("read %+v", r.r)
	}
	if got := p.client.ReadSizeHint(4096); got != 45 {
		t.Fatalf("hint in a frame %d, want the 45 bytes left", got)
	}
}
