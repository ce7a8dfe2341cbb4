package websocket

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// rawFrame builds a frame as a peer of role from sends it: masked when from is the client.
func rawFrame(from role, b0 byte, payload []byte) []byte {
	h := frameHeader{fin: b0&0x80 != 0, rsv: (b0 >> 4) & 7, op: Opcode(b0 & 0xF), length: uint64(len(payload))}
	if from == roleClient {
		h.masked, h.key = true, [4]byte{1, 2, 3, 4}
	}
	var hdr [maxHeaderSize]byte
	out := append([]byte(nil), hdr[:h.encode(hdr[:])]...)
	p := bytes.Clone(payload)
	if h.masked {
		maskBytes(h.key, 0, p)
	}
	return append(out, p...)
}

// TestReadViolations gives the server, then the client, bytes that break a rule, and checks that
// the read fails with that rule's error and the stream stays failed.
func TestReadViolations(t *testing.T) {
	tests := []struct {
		name string
		wire []byte // from the client to the server
		max  int
		want error
	}{
		{"reserved bit", rawFrame(roleClient, 0xC1, nil), 0, ErrBadReservedBits},
		{"reserved opcode", rawFrame(roleClient, 0x83, nil), 0, ErrBadOpcode},
		{"fragmented ping", rawFrame(roleClient, 0x09, nil), 0, ErrBadControlFragment},
		{"big ping", rawFrame(roleClient, 0x89, make([]byte, 126)), 0, ErrBadControlSize},
		{"unmasked", rawFrame(roleServer, 0x81, []byte("a")), 0, ErrBadUnmaskedFrame},
		{"continuation first", rawFrame(roleClient, 0x80, []byte("a")), 0, ErrBadContinuation},
		{"text inside text", append(rawFrame(roleClient, 0x01, []byte("a")), rawFrame(roleClient, 0x81, []byte("b"))...), 0, ErrBadDataFrame},
		{"not minimal length", []byte{0x82, 0x80 | 126, 0, 5, 1, 2, 3, 4}, 0, ErrBadSize},
		{"invalid utf-8", rawFrame(roleClient, 0x81, []byte{'a', 0xFF}), 0, ErrBadFramePayload},
		{"message ends inside a character", rawFrame(roleClient, 0x81, []byte{0xE2, 0x82}), 0, ErrBadFramePayload},
		{"surrogate across frames", append(rawFrame(roleClient, 0x01, []byte{0xED}), rawFrame(roleClient, 0x80, []byte{0xA0, 0x80})...), 0, ErrBadFramePayload},
		{"too big", rawFrame(roleClient, 0x82, make([]byte, 11)), 10, ErrMessageTooBig},
		{"too big across frames", append(rawFrame(roleClient, 0x02, make([]byte, 6)), rawFrame(roleClient, 0x80, make([]byte, 6))...), 10, ErrMessageTooBig},
		{"one-byte close", rawFrame(roleClient, 0x88, []byte{3}), 0, ErrBadCloseSize},
		{"bad close code", rawFrame(roleClient, 0x88, []byte{0x03, 0xEC}), 0, ErrBadCloseCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPair(t, nettest.Options{}, nettest.Options{ReadSize: 1}, &Options{ReadMessageMax: tt.max})
			p.sEnd.Append(tt.wire)
			p.cEnd.Shutdown(net.ShutdownWrite) // the peer's end of stream, for the teardown
			r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
			p.run()
			if !errors.Is(r.r.Err, tt.want) || !errors.Is(r.r.Err, ErrProtocol) {
				t.Fatalf("read: %v, want %v", r.r.Err, tt.want)
			}
			var pe *ProtocolError
			errors.As(tt.want, &pe)
			code := []byte{byte(pe.Code() >> 8), byte(pe.Code())}
			if got, want := p.cEnd.Unread(), rawFrame(roleServer, 0x88, code); !bytes.Equal(got, want) {
				t.Fatalf("the peer got % x, want the close frame % x", got, want)
			}
			if p.server.IsOpen() {
				t.Fatal("the stream is still open after a violation")
			}
			again := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncWrite([]byte("x"), h) })
			p.run()
			if !errors.Is(again.r.Err, tt.want) {
				t.Fatalf("a write after the violation got %v, want %v", again.r.Err, tt.want)
			}
		})
	}
	t.Run("masked to client", func(t *testing.T) {
		p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
		p.cEnd.Append(rawFrame(roleClient, 0x81, []byte("a")))
		p.sEnd.Shutdown(net.ShutdownWrite)
		r := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
		p.run()
		if !errors.Is(r.r.Err, ErrBadMaskedFrame) {
			t.Fatalf("read: %v, want ErrBadMaskedFrame", r.r.Err)
		}
	})
}

// TestReadControlFrames has the server meet, inside a fragmented message, an empty non-final
// frame, a pong and a ping, then a close: the ping is answered, the close ends the read with
// ErrClosed and its reason.
func TestReadControlFrames(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	var wire []byte
	wire = append(wire, rawFrame(roleClient, 0x01, []byte("he"))...)
	wire = append(wire, rawFrame(roleClient, 0x00, nil)...)
	wire = append(wire, rawFrame(roleClient, 0x8A, []byte("pong"))...)
	wire = append(wire, rawFrame(roleClient, 0x89, []byte("ping!"))...)
	wire = append(wire, rawFrame(roleClient, 0x80, []byte("llo"))...)
	wire = append(wire, rawFrame(roleClient, 0x88, []byte{0x03, 0xE8, 'b', 'y', 'e'})...)
	p.cEnd.Shutdown(net.ShutdownWrite) // the peer's end of stream, for the teardown
	p.sEnd.Append(wire)
	var buf net.FlatBuffer
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
	p.run()
	if r.r != (net.IOResult{N: 5}) || string(buf.Bytes()) != "hello" {
		t.Fatalf("read %+v %q, want the 5 bytes of hello", r.r, buf.Bytes())
	}
	if got, want := p.cEnd.Unread(), rawFrame(roleServer, 0x8A, []byte("ping!")); !bytes.Equal(got, want) {
		t.Fatalf("the peer got % x, want the pong % x", got, want)
	}
	r = start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
	p.run()
	if !errors.Is(r.r.Err, ErrClosed) || p.server.Reason() != (CloseReason{Code: CloseNormal, Reason: "bye"}) {
		t.Fatalf("read %v, reason %+v; want ErrClosed and 1000 bye", r.r.Err, p.server.Reason())
	}
}

// TestPingDuringFragmentedWrite has a ping arrive while the server writes a frame a byte at a
// time: the pong goes out after the frame, never inside it, and the close frame that follows is
// answered after the pong. The peer here never ends its side, so the teardown ends by the close
// timeout, kept short.
func TestPingDuringFragmentedWrite(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{WriteSize: 1}, &Options{CloseTimeout: 20 * time.Millisecond})
	p.sEnd.Append(append(rawFrame(roleClient, 0x89, []byte("hi")), rawFrame(roleClient, 0x88, nil)...))
	data := bytes.Repeat([]byte("d"), 300)
	w := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncWriteSome(false, data, h) })
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncReadSome(make([]byte, 10), h) })
	p.run()
	if w.r != (net.IOResult{N: len(data)}) || !errors.Is(r.r.Err, ErrClosed) {
		t.Fatalf("write %+v, read %+v", w.r, r.r)
	}
	want := append(rawFrame(roleServer, 0x01, data), rawFrame(roleServer, 0x8A, []byte("hi"))...)
	want = append(want, rawFrame(roleServer, 0x88, []byte{0x03, 0xe8})...) // 1000, for a close with no code
	if got := p.cEnd.Unread(); !bytes.Equal(got, want) {
		t.Fatalf("the peer got % x,\nwant % x", got, want)
	}
	if p.server.Reason() != (CloseReason{Code: CloseNoStatus}) {
		t.Fatalf("reason %+v, want CloseNoStatus", p.server.Reason())
	}
}

// TestReadFault fails the Nth read of the server's end, for every N a message takes.
func TestReadFault(t *testing.T) {
	wire := append(rawFrame(roleClient, 0x01, []byte("abc")), rawFrame(roleClient, 0x89, nil)...)
	wire = append(wire, rawFrame(roleClient, 0x80, []byte("def"))...)
	for n := 1; ; n++ {
		fc := nettest.NewFailCount(n, nil)
		p := newPair(t, nettest.Options{}, nettest.Options{Fail: fc}, nil)
		p.sEnd.Append(wire)
		var buf net.FlatBuffer
		r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&buf, h) })
		p.run()
		if !r.done {
			t.Fatalf("n=%d: the read never completed", n)
		}
		if r.r.Err == nil {
			if string(buf.Bytes()) != "abcdef" || n < 2 {
				t.Fatalf("n=%d: read %q", n, buf.Bytes())
			}
			return
		}
		if !errors.Is(r.r.Err, nettest.ErrInjected) || p.server.IsOpen() {
			t.Fatalf("n=%d: %v, open %v", n, r.r.Err, p.server.IsOpen())
		}
	}
}

// TestReadSomeEmptyBuffer completes at once with nothing and leaves the frame for the next read.
func TestReadSomeEmptyBuffer(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	p.sEnd.Append(rawFrame(roleClient, 0x81, []byte("ok")))
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncReadSome(nil, h) })
	p.run()
	if r.r != (net.IOResult{}) {
		t.Fatalf("empty read %+v", r.r)
	}
	b := make([]byte, 8)
	r = start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncReadSome(b, h) })
	p.run()
	if r.r.N != 2 || string(b[:2]) != "ok" || !p.server.IsMessageDone() {
		t.Fatalf("read %+v %q", r.r, b[:r.r.N])
	}
}
