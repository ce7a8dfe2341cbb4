package websocket_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// connection runs a whole connection on a pair whose ends share fc: the opening handshake, a
// message each way, a ping, and the client's close while the server reads. Each step starts when
// the one before it succeeded. It returns every operation it started, by name.
func connection(t *testing.T, o nettest.Options, fc *nettest.FailCount) (map[string]*rec[error], *nettest.Stream, *nettest.Stream) {
	t.Helper()
	ioc := executor.NewIOContext()
	o.Fail = fc
	a, b := nettest.NewPair(ioc, o, o)
	t.Cleanup(func() { a.Close(); b.Close() })
	wo := &websocket.Options{AutoFragment: true, WriteBufferBytes: 16}
	client, server := websocket.NewStream(a, wo), websocket.NewStream(b, wo)
	ops := map[string]*rec[error]{}
	begin := func(name string, start func(h completion.Handler[error]), next func()) {
		ops[name] = startErr(ioc, func(h completion.Handler[error]) {
			start(completion.Callback(func(err error) {
				h.Complete(err)
				if err == nil && next != nil {
					next()
				}
			}))
		})
	}
	var cbuf, sbuf net.FlatBuffer
	// Each side goes on as soon as it is open, so that a side whose peer failed has an operation
	// pending that sees it.
	serverSide := func() {
		begin("server's read", func(h completion.Handler[error]) { server.AsyncRead(&sbuf, ioErr(nil, h)) }, func() {
			begin("server's last read", func(h completion.Handler[error]) { server.AsyncRead(&sbuf, ioErr(nil, h)) }, nil)
			begin("server's write", func(h completion.Handler[error]) {
				server.AsyncWrite([]byte("a reply of forty bytes, a few frames ..."), ioErr(nil, h))
			}, nil)
		})
	}
	clientSide := func() {
		begin("client's read", func(h completion.Handler[error]) { client.AsyncRead(&cbuf, ioErr(nil, h)) }, func() {
			begin("close", func(h completion.Handler[error]) { client.AsyncClose(websocket.CloseReason{Code: 1000}, h) }, nil)
		})
		begin("client's ping", func(h completion.Handler[error]) { client.AsyncPing([]byte("p"), h) }, func() {
			begin("client's write", func(h completion.Handler[error]) {
				client.AsyncWrite([]byte("a message of thirty-odd bytes"), ioErr(nil, h))
			}, nil)
		})
	}
	begin("accept", func(h completion.Handler[error]) { server.AsyncAccept(nil, h) }, serverSide)
	begin("handshake", func(h completion.Handler[error]) { client.AsyncHandshake("example.com", "/", nil, h) }, clientSide)
	ioc.Run()
	return ops, a, b
}

// TestBBFailCountWholeConnection fails the nth next-layer operation of a whole connection, and
// every one after it, for every n, in both completion modes and with one-byte reads: each
// operation's handler runs exactly once, the run ends (nothing waits for ever), a failed opening
// handshake matches ErrHandshake, every error is the injected failure or one it explains (the end
// of the stream, a closed pipe, the peer's close), and both next layers end up closed. With n past
// the last operation, everything succeeds.
func TestBBFailCountWholeConnection(t *testing.T) {
	for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
		for _, rs := range []int{0, 1} {
			o := nettest.Options{Mode: mode, ReadSize: rs}
			counter := nettest.NewFailCount(0, nil)
			ops, _, _ := connection(t, o, counter)
			total := counter.Count()
			for name, r := range ops {
				r.check(t, name)
				want := error(nil)
				if name == "server's last read" {
					want = websocket.ErrClosed
				}
				if !errors.Is(r.err(), want) {
					t.Fatalf("mode%d read%d, no failure: %s: %v", mode, rs, name, r.err())
				}
			}
			if len(ops) != 9 {
				t.Fatalf("no failure: %d operations ran, want 9", len(ops))
			}
			for n := 1; n <= total+1; n++ {
				label := fmt.Sprintf("mode%d/read%d/fail %d of %d", mode, rs, n, total)
				ops, a, b := connection(t, o, nettest.NewFailCount(n, nil))
				for name, r := range ops {
					r.check(t, label+" "+name)
					err := r.err()
					if err == nil || (name == "server's last read" && errors.Is(err, websocket.ErrClosed)) {
						continue
					}
					if (name == "accept" || name == "handshake") && !errors.Is(err, websocket.ErrHandshake) {
						t.Fatalf("%s: %s: %v, want ErrHandshake", label, name, err)
					}
					if !isAny(err, nettest.ErrInjected, io.EOF, io.ErrUnexpectedEOF, io.ErrClosedPipe, websocket.ErrClosed, completion.ErrOperationAborted) {
						t.Fatalf("%s: %s: unexpected error %v", label, name, err)
					}
				}
				if n > total {
					if len(ops) != 9 || ops["close"].err() != nil {
						t.Fatalf("%s: past the last operation: %d operations, close %v", label, len(ops), ops["close"].err())
					}
					continue
				}
				for _, end := range []*nettest.Stream{a, b} {
					if err := end.Close(); !errors.Is(err, nettest.ErrClosed) {
						var names []string
						for name, r := range ops {
							names = append(names, fmt.Sprintf("%s: %v", name, r.err()))
						}
						t.Fatalf("%s: a next layer is still open at the end; operations %v", label, names)
					}
				}
			}
		}
	}
}
