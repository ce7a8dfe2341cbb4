package websocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// bbOp is one operation of a Stream, started with a handler completing with an error (operations
// completing with an IOResult report its Err), bound to ex when ex is not nil.
type bbOp struct {
	name  string
	start func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error])
}

// bindErr binds h to ex, unless ex is nil.
func bindErr(ex executor.Executor, h completion.Handler[error]) completion.Handler[error] {
	if ex == nil {
		return h
	}
	return completion.Bind(ex, h)
}

// ioErr adapts an error handler to an operation completing with an IOResult, bound to ex unless
// ex is nil, and to h's context if it has one.
func ioErr(ex executor.Executor, h completion.Handler[error]) completion.Handler[net.IOResult] {
	var ih completion.Handler[net.IOResult] = completion.Callback(func(r net.IOResult) { h.Complete(r.Err) })
	if ctx := completion.AssociatedContext(h); ctx != nil {
		ih = completion.WithContext(ctx, ih)
	}
	if ex != nil {
		ih = completion.Bind(ex, ih)
	}
	return ih
}

// bbOps are every operation a stream runs once it is open, or refuses before.
var bbOps = []bbOp{
	{"AsyncRead", func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error]) {
		s.AsyncRead(net.NewFlatBuffer(0), ioErr(ex, h))
	}},
	{"AsyncReadSome", func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error]) {
		s.AsyncReadSome(make([]byte, 8), ioErr(ex, h))
	}},
	{"AsyncWrite", func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error]) {
		s.AsyncWrite([]byte("hi"), ioErr(ex, h))
	}},
	{"AsyncWriteSome", func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error]) {
		s.AsyncWriteSome(true, []byte("hi"), ioErr(ex, h))
	}},
	{"AsyncPing", func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error]) {
		s.AsyncPing([]byte("p"), bindErr(ex, h))
	}},
	{"AsyncPong", func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error]) {
		s.AsyncPong([]byte("p"), bindErr(ex, h))
	}},
	{"AsyncClose", func(s *websocket.Stream, ex executor.Executor, h completion.Handler[error]) {
		s.AsyncClose(websocket.CloseReason{}, bindErr(ex, h))
	}},
}

// TestBBNotOpen starts every operation on a stream whose handshake has not run, from outside the
// executor and from a handler running on it: each fails with ErrNotOpen, its handler running once,
// after the call returned, on the stream's executor, and nothing is sent.
func TestBBNotOpen(t *testing.T) {
	for _, op := range bbOps {
		for _, fromHandler := range []bool{false, true} {
			p := newBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
			var r *rec[error]
			start := func() {
				r = startErr(p.ioc, func(h completion.Handler[error]) { op.start(p.client, nil, h) })
			}
			if fromHandler {
				p.ioc.Post(start)
			} else {
				start()
			}
			p.run()
			r.check(t, op.name)
			if !errors.Is(r.err(), websocket.ErrNotOpen) {
				t.Fatalf("%s before the handshake: %v, want ErrNotOpen", op.name, r.err())
			}
			if len(p.sEnd.Unread()) != 0 {
				t.Fatalf("%s before the handshake sent % x", op.name, p.sEnd.Unread())
			}
			if p.client.IsOpen() {
				t.Fatalf("%s: stream open without a handshake", op.name)
			}
		}
	}
}

// TestBBHandlerExecutor runs each operation of an open stream with its handler bound to a strand
// (completion.Bind), and unbound: the handler runs once, after the call, on the strand in the
// first case and on the stream's executor in the second, for an operation that succeeds and for
// one refused at once (a second read while one is pending, a ping too big, a bad close reason).
func TestBBHandlerExecutor(t *testing.T) {
	for _, bound := range []bool{false, true} {
		for _, op := range bbOps {
			t.Run(fmt.Sprintf("%s/bound=%v", op.name, bound), func(t *testing.T) {
				p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
				strand := executor.NewStrand(p.ioc)
				on := p.ioc.RunningInThisThread
				var ex executor.Executor
				if bound {
					on, ex = strand.RunningInThisThread, strand
				}
				// The server feeds the client's reads, and reads what the client writes.
				p.server.AsyncWrite([]byte("message"), completion.Detached[net.IOResult]())
				peerRead := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
				r := startRec(on, func(h completion.Handler[error]) { op.start(p.client, ex, h) })
				// The server's read stays pending after a ping or a pong: run until the handler ran.
				p.runUntil(r.done)
				p.ioc.Poll()
				r.check(t, op.name)
				if r.err() != nil {
					t.Fatalf("%s: %v", op.name, r.err())
				}
				if op.name == "AsyncWrite" || op.name == "AsyncWriteSome" {
					p.runUntil(peerRead.done)
					if peerRead.err() != nil || peerRead.n() != 2 {
						t.Fatalf("%s: the peer read %d bytes, %v", op.name, peerRead.n(), peerRead.err())
					}
				}
			})
		}
	}
	refusals := []struct {
		name  string
		want  error
		start func(p *bbPair, ex executor.Executor, h completion.Handler[error])
	}{
		{"second read", websocket.ErrOperationInProgress, func(p *bbPair, ex executor.Executor, h completion.Handler[error]) {
			p.client.AsyncReadSome(make([]byte, 4), completion.Detached[net.IOResult]())
			p.client.AsyncReadSome(make([]byte, 4), ioErr(ex, h))
		}},
		{"ping of 126 bytes", websocket.ErrControlTooBig, func(p *bbPair, ex executor.Executor, h completion.Handler[error]) {
			p.client.AsyncPing(make([]byte, 126), bindErr(ex, h))
		}},
		{"pong of 126 bytes", websocket.ErrControlTooBig, func(p *bbPair, ex executor.Executor, h completion.Handler[error]) {
			p.client.AsyncPong(make([]byte, 126), bindErr(ex, h))
		}},
		{"close with code 1005", websocket.ErrBadCloseReason, func(p *bbPair, ex executor.Executor, h completion.Handler[error]) {
			p.client.AsyncClose(websocket.CloseReason{Code: websocket.CloseNoStatus}, bindErr(ex, h))
		}},
	}
	for _, bound := range []bool{false, true} {
		for _, rf := range refusals {
			for _, fromHandler := range []bool{false, true} {
				p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
				strand := executor.NewStrand(p.ioc)
				on := p.ioc.RunningInThisThread
				var ex executor.Executor
				if bound {
					on, ex = strand.RunningInThisThread, strand
				}
				var r *rec[error]
				start := func() { r = startRec(on, func(h completion.Handler[error]) { rf.start(p, ex, h) }) }
				if fromHandler {
					p.ioc.Post(start)
				} else {
					start()
				}
				p.runUntil(func() bool { return r != nil && r.done() })
				p.ioc.Poll()
				r.check(t, rf.name)
				if !errors.Is(r.err(), rf.want) {
					t.Fatalf("%s (bound %v, from a handler %v): %v, want %v", rf.name, bound, fromHandler, r.err(), rf.want)
				}
			}
		}
	}
}

// TestBBMessages sends messages both ways over every way the next layer can behave: operations
// completing in their initiating call or from a later step, one byte per read or per write, and
// with AutoFragment cutting messages into frames. Each message arrives whole and unchanged, with
// its kind, and then the client closes: both close frames cross, the close succeeds and the
// server's pending read fails with ErrClosed and the client's reason.
func TestBBMessages(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 700) // 11200 bytes
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		for _, rs := range []int{0, 1, 7} {
			for _, ws := range []int{0, 1, 5} {
				for _, frag := range []bool{false, true} {
					name := fmt.Sprintf("mode%d/read%d/write%d/frag%v", mode, rs, ws, frag)
					o := nettest.Options{Mode: mode, ReadSize: rs, WriteSize: ws}
					wo := &websocket.Options{AutoFragment: frag, WriteBufferBytes: 100}
					p := openBBPair(t, o, o, wo, wo)
					var got1, got2 net.FlatBuffer
					r1 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&got1, h) })
					w1 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(big, h) })
					p.server.SetBinary()
					r2 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(&got2, h) })
					w2 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncWrite([]byte{0xff, 0, 1}, h) })
					p.run()
					for _, r := range []*rec[net.IOResult]{r1, w1, r2, w2} {
						r.check(t, name)
						if r.err() != nil {
							t.Fatalf("%s: %v", name, r.err())
						}
					}
					if w1.n() != len(big) || r1.n() != len(big) || !bytes.Equal(got1.Bytes(), big) || !p.server.GotText() || p.server.GotBinary() {
						t.Fatalf("%s: text message: wrote %d, read %d, equal %v, text %v", name, w1.n(), r1.n(), bytes.Equal(got1.Bytes(), big), p.server.GotText())
					}
					if r2.n() != 3 || !bytes.Equal(got2.Bytes(), []byte{0xff, 0, 1}) || !p.client.GotBinary() || p.client.GotText() {
						t.Fatalf("%s: binary message: read %d % x, binary %v", name, r2.n(), got2.Bytes(), p.client.GotBinary())
					}
					if !p.server.IsMessageDone() || !p.client.IsMessageDone() {
						t.Fatalf("%s: IsMessageDone false after a whole message", name)
					}
					rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
					cl := startErr(p.ioc, func(h completion.Handler[error]) {
						p.client.AsyncClose(websocket.CloseReason{Code: 4001, Reason: "bye"}, h)
					})
					p.run()
					cl.check(t, name+" close")
					rd.check(t, name+" read")
					if cl.err() != nil || !errors.Is(rd.err(), websocket.ErrClosed) {
						t.Fatalf("%s: close %v, server's read %v", name, cl.err(), rd.err())
					}
					if got := p.server.Reason(); got != (websocket.CloseReason{Code: 4001, Reason: "bye"}) {
						t.Fatalf("%s: server's Reason %+v", name, got)
					}
					if p.client.Reason().Code != 4001 {
						t.Fatalf("%s: client's Reason %+v, want the server's echo of 4001", name, p.client.Reason())
					}
					if p.client.IsOpen() || p.server.IsOpen() {
						t.Fatalf("%s: a stream is open after the closing handshake", name)
					}
				}
			}
		}
	}
}
