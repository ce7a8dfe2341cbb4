package websocket

import (
	"errors"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

func TestSuggestedTimeout(t *testing.T) {
	if got, want := SuggestedTimeout(RoleClient), (Timeout{Handshake: 30 * time.Second}); got != want {
		t.Fatalf("client: %+v, want %+v", got, want)
	}
	want := Timeout{Handshake: 30 * time.Second, Idle: 300 * time.Second, KeepAlivePings: true}
	if got := SuggestedTimeout(RoleServer); got != want {
		t.Fatalf("server: %+v, want %+v", got, want)
	}
}

// TestIdleTimeout: a stream with an idle timeout and no pings fails once nothing arrives; the
// pending read sees ErrTimeout, a later operation an abort caused by it, and the next layer is
// closed.
func TestIdleTimeout(t *testing.T) {
	p := newPairTimeout(t, Timeout{Idle: 40 * time.Millisecond}, Timeout{})
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	p.run()
	if !errors.Is(r.r.Err, ErrTimeout) || errors.Is(r.r.Err, completion.ErrOperationAborted) {
		t.Fatalf("read %v, want ErrTimeout", r.r.Err)
	}
	w := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncWrite([]byte("x"), h) })
	p.run()
	if !errors.Is(w.r.Err, ErrTimeout) || !errors.Is(w.r.Err, completion.ErrOperationAborted) {
		t.Fatalf("write after the timeout %v, want an abort caused by it", w.r.Err)
	}
	if len(p.cEnd.Unread()) != 0 {
		t.Fatalf("the peer got % x: no ping without KeepAlivePings", p.cEnd.Unread())
	}
	end := start(t, func(h completion.Handler[net.IOResult]) { p.sEnd.AsyncWriteSome([]byte("x"), h) })
	p.run()
	if end.r.Err == nil {
		t.Fatal("the next layer is open after the timeout")
	}
}

// TestIdleTimeoutSeenByNextOperation: with nothing pending when the timeout expires, the first
// operation started afterwards is the one that gets ErrTimeout.
func TestIdleTimeoutSeenByNextOperation(t *testing.T) {
	p := newPairTimeout(t, Timeout{Idle: 20 * time.Millisecond}, Timeout{})
	p.run() // returns once the timer has expired: it is the only work
	w := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncWrite([]byte("x"), h) })
	p.run()
	if !errors.Is(w.r.Err, ErrTimeout) || errors.Is(w.r.Err, completion.ErrOperationAborted) {
		t.Fatalf("write %v, want ErrTimeout", w.r.Err)
	}
}

// TestKeepAlivePings: a peer that is quiet but reads answers the idle pings, and the stream stays
// open well past Idle; one that does not read lets it time out.
func TestKeepAlivePings(t *testing.T) {
	idle := 40 * time.Millisecond
	p := newPairTimeout(t, Timeout{Idle: idle, KeepAlivePings: true}, Timeout{})
	pings := 0
	p.client.SetControlCallback(func(k FrameType, _ []byte) {
		if k == FramePing {
			pings++
		}
	})
	sr := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	cr := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
	timer := net.NewSteadyTimer(p.ioc.Executor())
	timer.ExpiresAfter(5 * idle)
	var closed *opResult
	timer.AsyncWait(completion.Callback(func(error) {
		closed = startOp(func(h completion.Handler[error]) { p.client.AsyncClose(CloseReason{Code: CloseNormal}, h) })
	}))
	p.run()
	if !errors.Is(sr.r.Err, ErrClosed) || !errors.Is(cr.r.Err, ErrClosed) || closed == nil || closed.err != nil {
		t.Fatalf("server read %v, client read %v, close %+v: the pongs should have kept the stream open", sr.r.Err, cr.r.Err, closed)
	}
	if pings < 2 {
		t.Fatalf("%d pings in %v with Idle %v, want at least 2", pings, 5*idle, idle)
	}

	q := newPairTimeout(t, Timeout{Idle: idle, KeepAlivePings: true}, Timeout{})
	r := start(t, func(h completion.Handler[net.IOResult]) { q.server.AsyncRead(net.NewFlatBuffer(0), h) })
	q.run()
	if !errors.Is(r.r.Err, ErrTimeout) {
		t.Fatalf("read %v, want ErrTimeout from a peer that never answers", r.r.Err)
	}
	if got, want := q.cEnd.Unread(), rawFrame(roleServer, 0x89, nil); len(got) < len(want) || string(got[:len(want)]) != string(want) {
		t.Fatalf("the peer got % x, want a ping first", got)
	}
}

// TestHandshakeTimeout: a client that never sends its request cannot hold an accepting server.
func TestHandshakeTimeout(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	s := NewStream(p.sEnd, &Options{Timeout: Timeout{Handshake: 30 * time.Millisecond}})
	a := startOp(func(h completion.Handler[error]) { s.AsyncAccept(nil, h) })
	p.run()
	a.check(t, "accept")
	if !errors.Is(a.err, ErrTimeout) || !errors.Is(a.err, ErrHandshake) {
		t.Fatalf("accept %v, want ErrTimeout within ErrHandshake", a.err)
	}
}

// newPairTimeout is newPair with the server's and the client's timeouts.
func newPairTimeout(t *testing.T, server, client Timeout) *wsPair {
	t.Helper()
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	p.server.SetTimeout(server)
	p.client.SetTimeout(client)
	p.server.timeIdle() // the timeouts were set after the pair opened: arm them as a handshake would
	p.client.timeIdle()
	return p
}

// TestKeepAliveOnBoundStrand: the next layer on a pool of two goroutines, every handler bound to
// one strand (Asio's bind_executor idiom): the timer's checks and the keep-alive pings run on
// the strand too, with the operations whose state they share (no panic, no race).
func TestKeepAliveOnBoundStrand(t *testing.T) {
	pool := executor.NewThreadPool(2)
	defer pool.Join()
	strand := executor.NewStrand(pool.Executor())
	c, s := nettest.NewPair(pool.Executor(), nettest.Options{}, nettest.Options{})
	defer c.Close()
	defer s.Close()
	client, server := NewStream(c, nil), NewStream(s, nil)
	done := make(chan error, 1)
	strand.Post(func() {
		client.setRole(roleClient)
		server.setRole(roleServer)
		server.SetTimeout(Timeout{Idle: 30 * time.Millisecond, KeepAlivePings: true})
		pings := 0
		client.SetControlCallback(func(k FrameType, _ []byte) {
			if k == FramePing {
				pings++
			}
			if pings == 3 {
				pings++
				client.AsyncClose(CloseReason{Code: CloseNormal}, completion.Bind(strand, completion.Callback(func(err error) {
					done <- err
				})))
			}
		})
		server.AsyncRead(net.NewFlatBuffer(0), completion.Bind(strand, completion.Detached[net.IOResult]()))
		client.AsyncRead(net.NewFlatBuffer(0), completion.Bind(strand, completion.Detached[net.IOResult]()))
		server.timeIdle() // the timeout was set after the stream opened
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("close %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no third keep-alive ping in 10 s")
	}
	pool.Stop()
}
