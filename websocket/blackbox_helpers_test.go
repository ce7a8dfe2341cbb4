package websocket_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// The black-box tests check the package's documented promises from outside, through its exported
// API only. Each stream runs on an IOContext that the test goroutine runs (an implicit strand), and
// the raw side of a connection is driven through the nettest ends: Append gives an end bytes as if
// its peer had written them, and Unread shows what a stream sent that its peer has not read.

// bbPair is a client and a server Stream over a nettest pair on one IOContext.
type bbPair struct {
	ioc            *executor.IOContext
	cEnd, sEnd     *nettest.Stream // the client's next layer and the server's
	client, server *websocket.Stream
}

// newBBPair makes the streams without opening them.
func newBBPair(t *testing.T, copt, sopt nettest.Options, cws, sws *websocket.Options) *bbPair {
	t.Helper()
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, copt, sopt)
	t.Cleanup(func() { a.Close(); b.Close() })
	return &bbPair{ioc: ioc, cEnd: a, sEnd: b, client: websocket.NewStream(a, cws), server: websocket.NewStream(b, sws)}
}

// openBBPair makes the streams and runs the opening handshake on both.
func openBBPair(t *testing.T, copt, sopt nettest.Options, cws, sws *websocket.Options) *bbPair {
	t.Helper()
	p := newBBPair(t, copt, sopt, cws, sws)
	acc := startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncAccept(nil, h) })
	hs := startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncHandshake("example.com", "/", nil, h) })
	// An idle timer counts work while the stream is open, so run until both handshakes are done.
	p.runUntil(func() bool { return acc.done() && hs.done() })
	acc.check(t, "accept")
	hs.check(t, "handshake")
	if acc.err() != nil || hs.err() != nil {
		t.Fatalf("opening handshake: accept %v, handshake %v", acc.err(), hs.err())
	}
	if !p.client.IsOpen() || !p.server.IsOpen() {
		t.Fatal("a stream is not open after its handshake")
	}
	return p
}

// run runs the context until it runs out of work, and makes it ready to run again.
func (p *bbPair) run() { p.ioc.Run(); p.ioc.Restart() }

// runUntil runs the context's handlers one at a time until cond holds or the context runs out of
// work, for a test that leaves an operation pending (a read that nothing will feed) on purpose.
func (p *bbPair) runUntil(cond func() bool) {
	for !cond() {
		if p.ioc.RunOne() == 0 {
			break
		}
	}
	p.ioc.Restart()
}

// ends returns the stream of a role, its next layer, and the other stream's next layer (where the
// frames it sends wait, unread, when the other stream is not reading).
func (p *bbPair) ends(r websocket.Role) (s *websocket.Stream, own, peer *nettest.Stream) {
	if r == websocket.RoleClient {
		return p.client, p.cEnd, p.sEnd
	}
	return p.server, p.sEnd, p.cEnd
}

// other returns the stream opposite the role's.
func (p *bbPair) other(r websocket.Role) *websocket.Stream {
	if r == websocket.RoleClient {
		return p.server
	}
	return p.client
}

var roles = []websocket.Role{websocket.RoleClient, websocket.RoleServer}

func roleName(r websocket.Role) string {
	if r == websocket.RoleClient {
		return "client"
	}
	return "server"
}

// rec records the calls of one operation's handler: how many, whether one ran inside the
// initiating call, whether each ran on the executor it must run on, and the last result.
type rec[R any] struct {
	calls    atomic.Int32
	inside   atomic.Bool
	offExec  atomic.Bool
	returned atomic.Bool
	res      atomic.Pointer[R]
}

// startRec starts an operation whose handler must run where on() reports true (nil: anywhere),
// and records its handler's calls.
func startRec[R any](on func() bool, start func(h completion.Handler[R])) *rec[R] {
	r := &rec[R]{}
	start(completion.Callback(func(v R) {
		if !r.returned.Load() {
			r.inside.Store(true)
		}
		if on != nil && !on() {
			r.offExec.Store(true)
		}
		r.res.Store(&v)
		r.calls.Add(1)
	}))
	r.returned.Store(true)
	return r
}

// startErr starts an operation completing with an error, whose handler must run on ioc.
func startErr(ioc *executor.IOContext, start func(h completion.Handler[error])) *rec[error] {
	return startRec(ioc.RunningInThisThread, start)
}

// startIO starts an operation completing with an IOResult, whose handler must run on ioc.
func startIO(ioc *executor.IOContext, start func(h completion.Handler[net.IOResult])) *rec[net.IOResult] {
	return startRec(ioc.RunningInThisThread, start)
}

// done reports whether the handler has run.
func (r *rec[R]) done() bool { return r.calls.Load() > 0 }

// result returns the last result (the zero R before the handler ran).
func (r *rec[R]) result() R {
	if p := r.res.Load(); p != nil {
		return *p
	}
	var zero R
	return zero
}

// check fails the test unless the handler ran exactly once, after the initiating call returned,
// on the executor it must run on.
func (r *rec[R]) check(t *testing.T, what string) {
	t.Helper()
	if n := r.calls.Load(); n != 1 {
		t.Fatalf("%s: handler ran %d times, want exactly once", what, n)
	}
	if r.inside.Load() {
		t.Fatalf("%s: handler ran inside the initiating call", what)
	}
	if r.offExec.Load() && gid.Known { // without goroutine identity no executor can tell
		t.Fatalf("%s: handler ran off its associated executor", what)
	}
}

// err returns the error of an operation completing with an error or an IOResult.
func (r *rec[R]) err() error {
	switch v := any(r.result()).(type) {
	case error:
		return v
	case net.IOResult:
		return v.Err
	}
	return nil
}

// n returns the byte count of an operation completing with an IOResult.
func (r *rec[R]) n() int {
	if v, ok := any(r.result()).(net.IOResult); ok {
		return v.N
	}
	return 0
}

// maskKey is the key of the frames the tests write as a client.
var maskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// rawFrame encodes a frame as RFC 6455 section 5.2 lays it out, masked with maskKey when masked.
func rawFrame(fin bool, op websocket.Opcode, masked bool, payload []byte) []byte {
	return rawFrameBits(fin, 0, op, masked, payload)
}

// rawFrameBits is rawFrame with the reserved bits (rsv: 0 to 7) set.
func rawFrameBits(fin bool, rsv byte, op websocket.Opcode, masked bool, payload []byte) []byte {
	b0 := byte(op) | rsv<<4
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	var m byte
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, m|byte(n))
	case n < 1<<16:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	default:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if masked {
		out = append(out, maskKey[:]...)
		for i, c := range payload {
			out = append(out, c^maskKey[i%4])
		}
		return out
	}
	return append(out, payload...)
}

// closePayload encodes a close frame's payload: a code and a reason.
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// wireFrame is one frame read back from the bytes a stream sent.
type wireFrame struct {
	fin     bool
	rsv     byte
	op      websocket.Opcode
	masked  bool
	payload []byte // unmasked
}

func (f wireFrame) String() string {
	return fmt.Sprintf("{fin %v op %d masked %v len %d}", f.fin, f.op, f.masked, len(f.payload))
}

// closeCode returns the code a close frame carries (CloseNoStatus for an empty payload).
func (f wireFrame) closeCode() websocket.CloseCode {
	if len(f.payload) < 2 {
		return websocket.CloseNoStatus
	}
	return websocket.CloseCode(binary.BigEndian.Uint16(f.payload))
}

// parseFrames splits b into whole frames; bytes after the last whole frame are returned as rest.
func parseFrames(b []byte) (frames []wireFrame, rest []byte) {
	for {
		if len(b) < 2 {
			return frames, b
		}
		f := wireFrame{fin: b[0]&0x80 != 0, rsv: b[0] >> 4 & 7, op: websocket.Opcode(b[0] & 0xf), masked: b[1]&0x80 != 0}
		n, h := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return frames, b
			}
			n, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return frames, b
			}
			n, h = binary.BigEndian.Uint64(b[2:]), 10
		}
		var key []byte
		if f.masked {
			if len(b) < h+4 {
				return frames, b
			}
			key, h = b[h:h+4], h+4
		}
		if uint64(len(b)-h) < n {
			return frames, b
		}
		f.payload = append([]byte(nil), b[h:h+int(n)]...)
		for i := range f.payload {
			if key != nil {
				f.payload[i] ^= key[i%4]
			}
		}
		frames = append(frames, f)
		b = b[h+int(n):]
	}
}

// sentFrames returns the frames waiting, unread, on end: what the stream at its other end sent.
// It fails the test if they do not parse into whole frames.
func sentFrames(t *testing.T, end *nettest.Stream) []wireFrame {
	t.Helper()
	fs, rest := parseFrames(end.Unread())
	if len(rest) != 0 {
		t.Fatalf("%d bytes after the last whole frame (frames so far %v)", len(rest), fs)
	}
	return fs
}

// isAny reports whether err matches one of targets.
func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

// countingStream is a nettest end that counts the reads and writes started on it and calls
// before(n) as the nth starts, before passing the operation on: the hook a test uses to cancel a
// context at each step of a WebSocket operation. It forwards Shutdown and Close, so that
// net.AsyncTeardown tears it down as it would the end itself.
type countingStream struct {
	*nettest.Stream
	n      int
	before func(n int)
}

func (c *countingStream) step() {
	c.n++
	if c.before != nil {
		c.before(c.n)
	}
}

func (c *countingStream) AsyncReadSome(b []byte, h completion.Handler[net.IOResult]) {
	c.step()
	c.Stream.AsyncReadSome(b, h)
}

func (c *countingStream) AsyncWriteSome(b []byte, h completion.Handler[net.IOResult]) {
	c.step()
	c.Stream.AsyncWriteSome(b, h)
}

func (c *countingStream) AsyncWriteSomeBuffers(bufs [][]byte, h completion.Handler[net.IOResult]) {
	c.step()
	c.Stream.AsyncWriteSomeBuffers(bufs, h)
}

// upgradeRequest is a valid client upgrade request.
const upgradeRequest = "GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
