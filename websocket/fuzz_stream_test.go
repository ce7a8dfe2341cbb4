package websocket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// FuzzStreamRead feeds arbitrary bytes, then the end of the stream, to an open server Stream and
// an open client Stream over nettest, and reads messages until a read fails. knobs choose how:
// bits 0-2 the nettest ReadSize (0: no limit), bit 3 the Later completion mode, bit 4 a
// ReadMessageMax of 64 bytes, bit 5 AsyncReadSome into a 3-byte buffer instead of AsyncRead.
//
// The Stream must not panic, must end (its read completes and its executor runs out of work
// within a bound of handlers proportional to the input, else it hangs or spins), must leave no
// goroutine behind, and must agree with fuzzRef, a reader written from RFC 6455 alone: the same
// messages, the same end (the peer's close frame, a violation with its error, or the end of the
// stream), and the same frames sent back: a pong per ping, then a close frame carrying the
// violation's code or echoing the peer's, masked by a client.
func FuzzStreamRead(f *testing.F) {
	m := func(fin bool, op Opcode, p string) []byte { return fuzzFrame(true, fin, 0, op, []byte(p)) }
	u := func(fin bool, op Opcode, p string) []byte { return fuzzFrame(false, fin, 0, op, []byte(p)) }
	closeP := func(code uint16, reason string) string {
		return string(binary.BigEndian.AppendUint16(nil, code)) + reason
	}
	seeds := [][]byte{
		nil,
		m(true, OpText, "hello"),
		u(true, OpText, "hello"),
		bytes.Join([][]byte{m(false, OpText, "he"), m(true, OpPing, "p"), m(true, OpContinuation, "llo"), m(true, OpClose, closeP(1000, "bye"))}, nil),
		bytes.Join([][]byte{u(false, OpBinary, "\xff"), u(true, OpPong, ""), u(true, OpContinuation, "\x00"), u(true, OpClose, "")}, nil),
		bytes.Join([][]byte{m(false, OpText, "κ\xce"), m(true, OpContinuation, "\xbaό")}, nil),
		m(true, OpText, "\xed\xa0\x80"),
		u(false, OpText, "ok\xf4\x90"),
		m(true, OpClose, closeP(1005, "")),
		u(true, OpClose, closeP(3000, "\xff")),
		m(true, OpClose, "\x03"),
		m(true, OpBinary, string(make([]byte, 200))),
		u(true, OpBinary, string(make([]byte, 70000))),
		{0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'},
		{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4},
		fuzzFrame(true, true, 4, OpText, []byte("x")),
		u(true, 0xB, ""),
		m(false, OpPing, ""),
		u(true, OpContinuation, "x"),
	}
	for i, s := range seeds {
		f.Add(s, uint8(i*5))
	}
	f.Fuzz(func(t *testing.T, in []byte, knobs uint8) {
		for _, r := range []role{roleServer, roleClient} {
			fuzzStreamOnce(t, in, r, knobs)
		}
	})
}

// fuzzFrame encodes one frame in its shortest form, masked with a fixed key when masked.
func fuzzFrame(masked, fin bool, rsv uint8, op Opcode, payload []byte) []byte {
	h := frameHeader{fin: fin, rsv: rsv, op: op, masked: masked, key: [4]byte{0xa1, 0x5b, 0x07, 0xe2}, length: uint64(len(payload))}
	var b [maxHeaderSize]byte
	out := append([]byte(nil), b[:h.encode(b[:])]...)
	p := bytes.Clone(payload)
	if masked {
		maskBytes(h.key, 0, p)
	}
	return append(out, p...)
}

// fuzzMsg is a message read: its kind and its bytes.
type fuzzMsg struct {
	text bool
	data string
}

// fuzzEnd is how reading ends: the error of the last read, and the frames the Stream sent.
type fuzzEnd struct {
	msgs  []fuzzMsg
	err   error // ErrClosed, a *ProtocolError, or nil for the end of the stream
	pongs []string
	close CloseCode   // the code of the close frame sent; 0 when none is
	peer  CloseReason // the peer's close frame, when err is ErrClosed
}

// String shows e with its bytes quoted, for comparing and for messages.
func (e fuzzEnd) String() string {
	var b bytes.Buffer
	for _, m := range e.msgs {
		fmt.Fprintf(&b, "msg(text %v %+q) ", m.text, m.data)
	}
	fmt.Fprintf(&b, "end %v, pongs %+q, close frame %d, peer's close %d %+q", e.err, e.pongs, e.close, e.peer.Code, e.peer.Reason)
	return b.String()
}

// fuzzStreamOnce runs one input against a stream of role r and compares it with fuzzRef.
func fuzzStreamOnce(t *testing.T, in []byte, r role, knobs uint8) {
	goroutines := runtime.NumGoroutine()
	ioc := executor.NewIOContext()
	o := nettest.Options{ReadSize: int(knobs & 7)}
	if knobs&8 != 0 {
		o.Mode = nettest.Later
	}
	var opts Options
	if knobs&16 != 0 {
		opts.ReadMessageMax = 64
	}
	some := knobs&32 != 0
	own, peer := nettest.NewPair(ioc, o, nettest.Options{})
	defer own.Close()
	defer peer.Close()
	s := NewStream(own, &opts)
	s.setRole(r)
	own.Append(in)
	peer.Shutdown(net.ShutdownWrite)

	var got fuzzEnd
	var readErr error
	ended := false
	var cur []byte
	var buf net.FlatBuffer
	small := make([]byte, 3)
	var loop func()
	loop = func() {
		h := completion.Callback(func(res net.IOResult) {
			if res.Err != nil {
				readErr, ended = res.Err, true
				return
			}
			if some {
				cur = append(cur, small[:res.N]...)
			} else {
				cur = append(cur, buf.Bytes()...)
				buf.Consume(buf.Size())
			}
			if s.IsMessageDone() {
				got.msgs = append(got.msgs, fuzzMsg{s.GotText(), string(cur)})
				cur = cur[:0]
			}
			loop()
		})
		if some {
			s.AsyncReadSome(small, h)
		} else {
			s.AsyncRead(&buf, h)
		}
	}
	loop()

	// A hang is a failure: the loop must end within a bound of handlers, and no handler may
	// wait long (the stream's only timer, the close timeout, must not be what ends it).
	stuck := false
	watchdog := time.AfterFunc(20*time.Second, func() { stuck = true; ioc.Stop() })
	limit := 2000 + 64*len(in)
	steps := 0
	for ioc.RunOne() > 0 && steps < limit {
		steps++
	}
	watchdog.Stop()
	switch {
	case stuck:
		t.Fatalf("role %d knobs %#x: a handler waited 20 s; read ended %v", r, knobs, ended)
	case steps >= limit:
		t.Fatalf("role %d knobs %#x: still running after %d handlers; read ended %v", r, knobs, steps, ended)
	case !ended:
		t.Fatalf("role %d knobs %#x: the context ran out of work with the read pending", r, knobs)
	}

	want := fuzzRef(in, r, opts.readLimit())
	if errors.Is(readErr, ErrClosed) {
		got.peer = s.Reason()
	}
	fs, rest := fuzzFrames(t, peer.Unread(), r == roleClient)
	if len(rest) != 0 {
		t.Fatalf("role %d knobs %#x: %d bytes sent after the last whole frame", r, knobs, len(rest))
	}
	for i, f := range fs {
		switch {
		case f.op == OpPong:
			got.pongs = append(got.pongs, string(f.payload))
		case f.op == OpClose && i == len(fs)-1 && len(f.payload) == 2:
			got.close = CloseCode(binary.BigEndian.Uint16(f.payload))
		default:
			t.Fatalf("role %d knobs %#x: frame %d of %d sent is op %d payload %q", r, knobs, i, len(fs), f.op, f.payload)
		}
	}
	sameEnd := errors.Is(readErr, want.err)
	if want.err == nil {
		sameEnd = readErr != nil && !errors.Is(readErr, ErrClosed) && !errors.Is(readErr, ErrProtocol)
	}
	got.err = want.err // compared above, where wrapping does not matter
	if g, w := got.String(), want.String(); g != w || !sameEnd {
		t.Fatalf("role %d knobs %#x:\nstream    %s, read error %v\nreference %s", r, knobs, g, readErr, w)
	}
	if s.IsOpen() {
		t.Fatalf("role %d knobs %#x: open after its read failed", r, knobs)
	}
	if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
		t.Fatalf("role %d knobs %#x: the next layer was left open", r, knobs)
	}
	// A goroutine that is ending (a timer's callback that has run, the previous input's test
	// goroutine) may still be counted for a moment, so a count above the first is asked again
	// for a while before it is called a leak, as goleak does.
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(time.Second); n > goroutines && time.Now().Before(deadline); n = runtime.NumGoroutine() {
		time.Sleep(time.Millisecond)
	}
	if n > goroutines {
		stacks := make([]byte, 1<<16)
		t.Fatalf("role %d knobs %#x: %d goroutines, %d before:\n%s", r, knobs, n, goroutines, stacks[:runtime.Stack(stacks, true)])
	}
}

// fuzzFrames splits what the stream sent into frames, each of which must be final, free of
// reserved bits, masked as its role says, and a control frame of at most 125 bytes.
func fuzzFrames(t *testing.T, b []byte, masked bool) (fs []frameHeaderPayload, rest []byte) {
	t.Helper()
	receiver := roleClient // a server's frames are read by a client
	if masked {
		receiver = roleServer
	}
	for len(b) > 0 {
		h, n, err := parseHeader(b, receiver, false)
		if err != nil {
			t.Fatalf("the stream sent a frame its peer refuses: % x: %v", b[:min(len(b), maxHeaderSize)], err)
		}
		if n == 0 || uint64(len(b)-n) < h.length {
			return fs, b
		}
		p := bytes.Clone(b[n : n+int(h.length)])
		if h.masked {
			maskBytes(h.key, 0, p)
		}
		if !h.fin || !h.op.IsControl() {
			t.Fatalf("the stream sent a data frame or a fragment: %+v", h)
		}
		fs = append(fs, frameHeaderPayload{h.op, p})
		b = b[n+int(h.length):]
	}
	return fs, nil
}

type frameHeaderPayload struct {
	op      Opcode
	payload []byte
}

// fuzzRef reads in as RFC 6455 says a receiver of role r must, with a message size limit of max,
// and returns what it read and how it ended. It is written from the RFC, independently of the
// package's reader, except for the order in which it checks a frame header's rules when more than
// one is broken (the order parseHeader documents) and for failing a text message at the first
// byte that can no longer begin valid UTF-8 (section 8.1 allows failing at the end; Beast fails
// early, and so does the Stream).
func fuzzRef(in []byte, r role, max uint64) (end fuzzEnd) {
	fail := func(err *ProtocolError) fuzzEnd {
		end.err, end.close = err, err.Code()
		return end
	}
	inMsg, text := false, false
	var msg []byte
	var size uint64
	for {
		if len(in) < 2 {
			return end // the end of the stream
		}
		fin, rsv, op := in[0]&0x80 != 0, in[0]>>4&7, Opcode(in[0]&0xF)
		masked, len7 := in[1]&0x80 != 0, uint64(in[1]&0x7F)
		hlen := 2
		switch len7 {
		case 126:
			hlen += 2
		case 127:
			hlen += 8
		}
		if masked {
			hlen += 4
		}
		if len(in) < hlen {
			return end
		}
		control := op >= 8
		switch {
		case rsv != 0: // 5.2: no extension is negotiated
			return fail(ErrBadReservedBits)
		case op > 2 && op < 8 || op > 10: // 5.2: reserved opcodes
			return fail(ErrBadOpcode)
		case control && !fin: // 5.5
			return fail(ErrBadControlFragment)
		case control && len7 > 125: // 5.5
			return fail(ErrBadControlSize)
		case r == roleServer && !masked: // 5.1
			return fail(ErrBadUnmaskedFrame)
		case r == roleClient && masked: // 5.1
			return fail(ErrBadMaskedFrame)
		}
		length := len7
		switch len7 {
		case 126:
			length = uint64(in[2])<<8 | uint64(in[3])
			if length < 126 { // 5.2: the minimal number of bytes
				return fail(ErrBadSize)
			}
		case 127:
			length = 0
			for _, c := range in[2:10] {
				length = length<<8 | uint64(c)
			}
			if length < 1<<16 || length >= 1<<63 { // 5.2: minimal, and the top bit 0
				return fail(ErrBadSize)
			}
		}
		var key []byte
		if masked {
			key = in[hlen-4 : hlen]
		}
		in = in[hlen:]
		switch {
		case op == OpContinuation && !inMsg: // 5.4
			return fail(ErrBadContinuation)
		case (op == OpText || op == OpBinary) && inMsg: // 5.4
			return fail(ErrBadDataFrame)
		}
		if !control {
			if op != OpContinuation {
				text, msg, size = op == OpText, msg[:0], 0
			}
			if length > max-size { // 10.4
				return fail(ErrMessageTooBig)
			}
			size += length
		}
		n := uint64(len(in))
		if n > length {
			n = length
		}
		p := bytes.Clone(in[:n])
		in = in[n:]
		for i := range p {
			if key != nil {
				p[i] ^= key[i%4]
			}
		}
		if control && n < length {
			return end // a control frame is acted on once whole
		}
		if !control {
			msg = append(msg, p...)
			if text && !utf8Prefix(msg) { // 8.1
				return fail(ErrBadFramePayload)
			}
			if n < length {
				return end
			}
			inMsg = !fin
			if fin {
				if text && !utf8.Valid(msg) {
					return fail(ErrBadFramePayload)
				}
				end.msgs = append(end.msgs, fuzzMsg{text, string(msg)})
			}
			continue
		}
		switch op {
		case OpPing: // 5.5.2: a pong with the same payload
			end.pongs = append(end.pongs, string(p))
		case OpClose: // 5.5.1, 7.4
			switch {
			case len(p) == 0:
				end.err, end.peer, end.close = ErrClosed, CloseReason{Code: CloseNoStatus}, CloseNormal
				return end
			case len(p) == 1:
				return fail(ErrBadCloseSize)
			}
			code := uint16(p[0])<<8 | uint16(p[1])
			if !(code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999) {
				return fail(ErrBadCloseCode)
			}
			if !utf8.Valid(p[2:]) {
				return fail(ErrBadClosePayload)
			}
			end.err, end.peer, end.close = ErrClosed, CloseReason{Code: CloseCode(code), Reason: string(p[2:])}, CloseCode(code)
			return end
		}
	}
}

// utf8Prefix reports whether b can begin valid UTF-8: it is valid, or a valid text followed by
// the first bytes of a sequence that some continuation bytes complete. The oracle is
// unicode/utf8: the cut sequence is completed with each possible next byte, then 0x80s.
func utf8Prefix(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for k := 1; k <= 3 && k <= len(b); k++ {
		if !utf8.Valid(b[:len(b)-k]) {
			continue
		}
		for next := 0x80; next <= 0xBF; next++ {
			for pad := 0; pad < 3; pad++ {
				c := append(bytes.Clone(b[len(b)-k:]), byte(next))
				c = append(c, bytes.Repeat([]byte{0x80}, pad)...)
				if utf8.Valid(c) {
					return true
				}
			}
		}
	}
	return false
}
