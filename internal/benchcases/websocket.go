package benchcases

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/mask"
	beastnet "github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// WebSocket returns the websocket comparisons: an echo round trip between a client and a server
// Stream over loopback TCP at three message sizes, and the client's masking of its payload next
// to a plain copy. One round trip exercises both roles: the client masks what it writes and the
// server unmasks it, the server writes without a mask.
func WebSocket() []Case {
	return []Case{
		{Group: "ws-echo", Name: "16 B message, client to server and back", Unit: "round trip", Baseline: true, Bench: func(b *testing.B) { WSEcho(b, 16) }},
		{Group: "ws-echo", Name: "1 KiB message, client to server and back", Unit: "round trip", Bench: func(b *testing.B) { WSEcho(b, 1<<10) }},
		{Group: "ws-echo", Name: "64 KiB message, client to server and back", Unit: "round trip", Bench: func(b *testing.B) { WSEcho(b, 64<<10) }},
		{Group: "ws-mask", Name: "copy in 4 KiB calls", Unit: "GiB", Baseline: true, Bench: CopyGiB},
		{Group: "ws-mask", Name: "client masking in 4 KiB calls", Unit: "GiB", Bench: MaskGiB},
	}
}

// WSPair is a client and a server Stream over the two ends of a loopback TCP connection, opened
// by their handshakes (AsyncHandshake, AsyncAccept), on one IOContext that the caller runs.
type WSPair struct {
	IOC                    *executor.IOContext
	Client, Server         *websocket.Stream
	ClientSock, ServerSock *beastnet.TCPSocket
}

// NewWSPair connects two sockets of ioc over loopback and opens a WebSocket over them, running
// ioc (and restarting it) until both handshakes are done. Both streams send binary messages, so
// that what is measured is the framing and the masking, not UTF-8 validation.
func NewWSPair(ioc *executor.IOContext) (*WSPair, error) {
	a := beastnet.NewTCPAcceptor(ioc)
	if err := a.Listen(loopback, 0); err != nil {
		return nil, err
	}
	defer a.Close()
	p := &WSPair{IOC: ioc, ClientSock: beastnet.NewTCPSocket(ioc)}
	var connErr, acceptErr, clientErr, serverErr error
	p.ClientSock.AsyncConnect(a.Addr(), completion.Callback(func(err error) { connErr = err }))
	a.AsyncAccept(nil, completion.Callback(func(r beastnet.AcceptResult) { p.ServerSock, acceptErr = r.Socket, r.Err }))
	ioc.Run()
	ioc.Restart()
	if err := errors.Join(connErr, acceptErr); err != nil {
		p.ClientSock.Close()
		if p.ServerSock != nil {
			p.ServerSock.Close()
		}
		return nil, err
	}
	p.Client, p.Server = websocket.NewStream(p.ClientSock, nil), websocket.NewStream(p.ServerSock, nil)
	p.Server.AsyncAccept(nil, completion.Callback(func(err error) { serverErr = err }))
	p.Client.AsyncHandshake("localhost", "/", nil, completion.Callback(func(err error) { clientErr = err }))
	ioc.Run()
	ioc.Restart()
	if err := errors.Join(clientErr, serverErr); err != nil {
		p.Close()
		return nil, err
	}
	p.Client.SetBinary()
	p.Server.SetBinary()
	return p, nil
}

// Close closes both sockets; operations still pending on them complete with an error the next
// time the IOContext runs.
func (p *WSPair) Close() {
	p.ClientSock.Close()
	p.ServerSock.Close()
}

// WSEcho measures round trips of size-byte messages: the client writes a message, the server
// reads it into a reused buffer and writes it back, and the client reads the echo into a reused
// buffer; ns/op is per round trip. Everything runs on one IOContext run by the benchmark
// goroutine.
func WSEcho(b *testing.B, size int) {
	ioc := executor.NewIOContext()
	p, err := NewWSPair(ioc)
	if err != nil {
		b.Fatal(err)
	}
	e := newWSEcho(p, size)
	b.ReportAllocs()
	b.SetBytes(2 * int64(size))
	e.serve()
	// The first round trip, before b.Loop's first call starts the clock, grows the buffers and
	// makes the client's write buffer: what is measured is the steady state.
	e.round(b.Loop)
	ioc.Run()
	if e.err != nil {
		b.Fatal(e.err)
	}
}

// wsEcho is the state of an echo benchmark: the server's loop of read and write back, and the
// client's rounds of write and read. Its handlers are made once, so that a round trip allocates
// only what the Stream does.
type wsEcho struct {
	p                                                        *WSPair
	msg                                                      []byte
	sbuf, cbuf                                               *beastnet.FlatBuffer
	pending                                                  int         // the client's write and read of this round that have not completed
	more                                                     func() bool // whether to start another round
	err                                                      error       // the first failure; it ends the benchmark
	onServerRead, onServerWrite, onClientWrite, onClientRead completion.Func[beastnet.IOResult]
}

func newWSEcho(p *WSPair, size int) *wsEcho {
	e := &wsEcho{p: p, msg: bytes.Repeat([]byte{'e'}, size), sbuf: beastnet.NewFlatBuffer(0), cbuf: beastnet.NewFlatBuffer(0)}
	e.onServerRead = func(r beastnet.IOResult) {
		if r.Err != nil {
			return // the client side has finished and closed the connection
		}
		p.Server.AsyncWrite(e.sbuf.Bytes(), e.onServerWrite)
	}
	e.onServerWrite = func(r beastnet.IOResult) {
		if r.Err != nil {
			return
		}
		e.sbuf.Consume(e.sbuf.Size())
		e.serve()
	}
	e.onClientWrite = func(r beastnet.IOResult) { e.clientDone(r, len(e.msg)) }
	e.onClientRead = func(r beastnet.IOResult) {
		if r.Err == nil && !bytes.Equal(e.cbuf.Bytes(), e.msg) {
			r.Err = fmt.Errorf("the echo of a %d-byte message came back as %d other bytes", len(e.msg), e.cbuf.Size())
		}
		e.cbuf.Consume(e.cbuf.Size())
		e.clientDone(r, len(e.msg))
	}
	return e
}

// serve starts the server's read of the next message.
func (e *wsEcho) serve() { e.p.Server.AsyncRead(e.sbuf, e.onServerRead) }

// round starts a round trip, and another each time one ends while more says so.
func (e *wsEcho) round(more func() bool) {
	e.more, e.pending = more, 2
	e.p.Client.AsyncRead(e.cbuf, e.onClientRead)
	e.p.Client.AsyncWrite(e.msg, e.onClientWrite)
}

// clientDone counts the end of the client's write or read of the round, and starts the next
// round when both have ended, or closes the connection when the benchmark is done.
func (e *wsEcho) clientDone(r beastnet.IOResult, want int) {
	if r.Err == nil && r.N != want {
		r.Err = fmt.Errorf("%d bytes of a %d-byte message", r.N, want)
	}
	if r.Err != nil && e.err == nil {
		e.err = r.Err
	}
	if e.pending--; e.pending > 0 {
		return
	}
	if e.err == nil && e.more() {
		e.round(e.more)
		return
	}
	e.p.Close()
}

// WSOneWay measures size-byte messages sent one way, by the client to the server (fromClient,
// masked) or by the server to the client (unmasked): the reader has its read into a reused buffer
// pending when the writer writes, and the next message goes once both have completed; ns/op is per
// message. Everything runs on one IOContext run by the benchmark goroutine.
func WSOneWay(b *testing.B, size int, fromClient bool) {
	ioc := executor.NewIOContext()
	p, err := NewWSPair(ioc)
	if err != nil {
		b.Fatal(err)
	}
	m := NewWSMessage(p, size, fromClient)
	b.ReportAllocs()
	b.SetBytes(int64(size))
	// The first message, before b.Loop's first call starts the clock, grows the reader's buffer
	// and makes the client's write buffer: what is measured is the steady state.
	var failed error
	m.Then = func() {
		if failed = m.Err(); failed == nil && b.Loop() {
			m.Start()
			return
		}
		p.Close()
	}
	m.Start()
	ioc.Run()
	if failed != nil {
		b.Fatal(failed)
	}
}

// WSMessage sends one message of a fixed size one way over a WSPair, again and again: the reader
// reads into a buffer it reuses, and the handlers are made once, so that a message allocates
// only what the Streams do.
type WSMessage struct {
	// Then, if not nil, runs when the write and the read of the message last started have both
	// completed.
	Then func()

	writer, reader *websocket.Stream
	msg            []byte
	buf            *beastnet.FlatBuffer
	wrote, read    beastnet.IOResult
	pending        int
	onWrite        completion.Func[beastnet.IOResult]
	onRead         completion.Func[beastnet.IOResult]
}

// NewWSMessage prepares size-byte messages from p's client to its server (fromClient) or from
// its server to its client.
func NewWSMessage(p *WSPair, size int, fromClient bool) *WSMessage {
	m := &WSMessage{writer: p.Server, reader: p.Client, msg: bytes.Repeat([]byte{'m'}, size), buf: beastnet.NewFlatBuffer(0)}
	if fromClient {
		m.writer, m.reader = p.Client, p.Server
	}
	m.onWrite = func(r beastnet.IOResult) { m.wrote = r; m.done() }
	m.onRead = func(r beastnet.IOResult) { m.read = r; m.done() }
	return m
}

// Start starts the reader's read and the writer's write of the next message; they complete when
// the IOContext runs.
func (m *WSMessage) Start() {
	m.buf.Consume(m.buf.Size())
	m.wrote, m.read = beastnet.IOResult{N: -1}, beastnet.IOResult{N: -1}
	m.pending = 2
	m.reader.AsyncRead(m.buf, m.onRead)
	m.writer.AsyncWrite(m.msg, m.onWrite)
}

// done counts the end of the write or the read, and runs Then after both.
func (m *WSMessage) done() {
	if m.pending--; m.pending == 0 && m.Then != nil {
		m.Then()
	}
}

// Err reports what went wrong with the message last started, once its write and read have
// completed: a failed or unfinished write or read, or a message that arrived other than it left.
func (m *WSMessage) Err() error {
	switch {
	case m.wrote.Err != nil || m.read.Err != nil:
		return fmt.Errorf("write: %v, read: %v", m.wrote.Err, m.read.Err)
	case m.wrote.N != len(m.msg) || m.read.N != len(m.msg):
		return fmt.Errorf("a %d-byte message: %d bytes written, %d read (-1: not completed)", len(m.msg), m.wrote.N, m.read.N)
	case !bytes.Equal(m.buf.Bytes(), m.msg):
		return fmt.Errorf("a %d-byte message arrived as %d other bytes", len(m.msg), m.buf.Size())
	}
	return nil
}

// TCPEcho is WSEcho without the WebSocket: size-byte round trips on one loopback TCP connection
// of an IOContext run by the benchmark goroutine, the client's message written and the echo read
// with the sockets' own AsyncWriteSome and AsyncReadSome; ns/op is per round trip.
func TCPEcho(b *testing.B, size int) {
	ctx := executor.NewIOContext()
	a := beastnet.NewTCPAcceptor(ctx)
	if err := a.Listen(loopback, 0); err != nil {
		b.Fatal(err)
	}
	var server *beastnet.TCPSocket
	var connErr, acceptErr error
	client := beastnet.NewTCPSocket(ctx)
	client.AsyncConnect(a.Addr(), completion.Callback(func(err error) { connErr = err }))
	a.AsyncAccept(nil, completion.Callback(func(r beastnet.AcceptResult) { server, acceptErr = r.Socket, r.Err }))
	ctx.Run()
	ctx.Restart()
	a.Close()
	if err := errors.Join(connErr, acceptErr); err != nil {
		b.Fatal(err)
	}
	startEcho(server, max(size, rttReadBuf))
	p := newPinger(client, &loopGate{b: b}, func() { client.Close(); server.Close() })
	p.msg, p.back = make([]byte, size), make([]byte, max(size, rttReadBuf))
	b.ReportAllocs()
	b.SetBytes(2 * int64(size))
	p.round()
	ctx.Run()
}

// maskCall is the size of the calls CopyGiB and MaskGiB make: a client's default masking buffer,
// through which it masks every message it writes.
const maskCall = 4 << 10

// CopyGiB copies 1 GiB through a 4 KiB buffer in 4 KiB calls, the speed a pass over a payload is
// compared with; ns/op is per GiB, so ops/s is GiB/s.
func CopyGiB(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(1 << 30)
	src, dst := make([]byte, maskCall), make([]byte, maskCall)
	for b.Loop() {
		for range (1 << 30) / maskCall {
			copy(dst, src)
		}
	}
}

// MaskGiB masks 1 GiB in place in 4 KiB calls with the websocket package's masking (mask.Bytes), as a client masks the
// messages it writes; ns/op is per GiB, so ops/s is GiB/s.
func MaskGiB(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(1 << 30)
	buf := make([]byte, maskCall)
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for b.Loop() {
		for range (1 << 30) / maskCall {
			mask.Bytes(key, 1, buf)
		}
	}
}
