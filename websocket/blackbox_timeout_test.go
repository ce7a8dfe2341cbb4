package websocket_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// idle is the idle timeout of the tests: short, so that a test of it takes a few of them.
const idle = 20 * time.Millisecond

// runBounded runs the context until cond holds, for at most a bound far above the timeouts under
// test, so that a timer that never fires fails the test instead of hanging it.
func (p *bbPair) runBounded(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() && time.Now().Before(deadline) {
		p.ioc.RunFor(5 * time.Millisecond)
		p.ioc.Restart()
	}
	if !cond() {
		t.Fatalf("%s: not done after 10 s", what)
	}
}

// openRolePair opens a pair where only the stream of role has the options o.
func openRolePair(t *testing.T, role websocket.Role, o *websocket.Options) *bbPair {
	t.Helper()
	if role == websocket.RoleClient {
		return openBBPair(t, nettest.Options{}, nettest.Options{}, o, nil)
	}
	return openBBPair(t, nettest.Options{}, nettest.Options{}, nil, o)
}

// wait runs the context for d by a timer of its own, so that the streams' timers run meanwhile.
func (p *bbPair) wait(t *testing.T, d time.Duration) {
	t.Helper()
	tm := net.NewSteadyTimer(p.ioc)
	tm.ExpiresAfter(d)
	r := startErr(p.ioc, func(h completion.Handler[error]) { tm.AsyncWait(h) })
	p.runBounded(t, "wait", r.done)
}

// TestBBIdleTimeoutSilentPeer: a stream with an idle timeout, with or without keep-alive pings,
// whose peer sends nothing: its pending read fails with ErrTimeout (having sent a ping first when
// pings are on), the next layer is closed, and each later operation fails with an error matching
// both ErrTimeout and completion.ErrOperationAborted.
func TestBBIdleTimeoutSilentPeer(t *testing.T) {
	for _, role := range roles {
		for _, pings := range []bool{false, true} {
			name := fmt.Sprintf("%s/pings %v", roleName(role), pings)
			p := openRolePair(t, role, &websocket.Options{Timeout: websocket.Timeout{Idle: idle, KeepAlivePings: pings}})
			s, own, peer := p.ends(role)
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
			p.runBounded(t, name, rd.done)
			rd.check(t, name)
			if !errors.Is(rd.err(), websocket.ErrTimeout) {
				t.Fatalf("%s: read %v, want ErrTimeout", name, rd.err())
			}
			fs := sentFrames(t, peer)
			if pings && (len(fs) == 0 || fs[0].op != websocket.OpPing) {
				t.Fatalf("%s: sent %v before timing out, want a ping", name, fs)
			}
			if !pings && len(fs) != 0 {
				t.Fatalf("%s: sent %v, want nothing", name, fs)
			}
			if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
				t.Fatalf("%s: next layer open after the timeout (Close: %v)", name, err)
			}
			for _, op := range bbOps {
				r := startErr(p.ioc, func(h completion.Handler[error]) { op.start(s, nil, h) })
				p.run()
				r.check(t, name+" "+op.name)
				if !errors.Is(r.err(), websocket.ErrTimeout) || !errors.Is(r.err(), completion.ErrOperationAborted) {
					t.Fatalf("%s: %s after the timeout: %v, want ErrTimeout and ErrOperationAborted", name, op.name, r.err())
				}
			}
		}
	}
}

// TestBBIdleTimeoutKeepAlive: with keep-alive pings, a stream whose peer is quiet but reading
// (and so answers pings) stays open for many idle timeouts, and then carries a message and closes.
// Without pings, a peer that sends a message every half timeout keeps it open too.
//
// The timeout here is keepAliveIdle, not idle: after the last tick the write and the closing
// handshake must be over within half a timeout, which on the portable path (goroutines doing the
// I/O) of a loaded two-core machine can take longer than idle's 10 ms.
func TestBBIdleTimeoutKeepAlive(t *testing.T) {
	const keepAliveIdle = 100 * time.Millisecond
	for _, role := range roles {
		for _, pings := range []bool{false, true} {
			name := fmt.Sprintf("%s/pings %v", roleName(role), pings)
			p := openRolePair(t, role, &websocket.Options{Timeout: websocket.Timeout{Idle: keepAliveIdle, KeepAlivePings: pings}})
			s, _, _ := p.ends(role)
			other := p.other(role)
			var ours, theirs net.FlatBuffer
			var ourErr error
			var readNext func()
			readNext = func() {
				ours.Consume(ours.Size())
				s.AsyncRead(&ours, completion.Callback(func(r net.IOResult) {
					if r.Err != nil {
						ourErr = r.Err
						return
					}
					readNext()
				}))
			}
			readNext()
			theirRead := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { other.AsyncRead(&theirs, h) })
			for range 10 {
				p.wait(t, keepAliveIdle/2)
				if !pings {
					other.AsyncWrite([]byte("tick"), completion.Detached[net.IOResult]())
				}
			}
			if !s.IsOpen() || theirRead.done() || ourErr != nil {
				t.Fatalf("%s: after 5 idle timeouts: open %v, our read %v, peer's read done %v (%v)", name, s.IsOpen(), ourErr, theirRead.done(), theirRead.err())
			}
			w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("still alive"), h) })
			p.runBounded(t, name, func() bool { return w.done() && theirRead.done() })
			if w.err() != nil || theirRead.err() != nil || string(theirs.Bytes()) != "still alive" {
				t.Fatalf("%s: write %v, peer read %v %q", name, w.err(), theirRead.err(), theirs.Bytes())
			}
			cl := startErr(p.ioc, func(h completion.Handler[error]) { other.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
			p.runBounded(t, name, cl.done)
			if cl.err() != nil || !errors.Is(ourErr, websocket.ErrClosed) {
				t.Fatalf("%s: close %v, our read %v", name, cl.err(), ourErr)
			}
		}
	}
}

// TestBBHandshakeTimeout: AsyncAccept against a client that sends nothing, and AsyncHandshake
// against a server that never answers, fail with ErrTimeout once Timeout.Handshake passes (set
// through Options, or through SetTimeout before the handshake), matching ErrHandshake as every
// failure of the opening handshake does; the next layer is closed.
func TestBBHandshakeTimeout(t *testing.T) {
	for _, role := range roles {
		for _, viaSet := range []bool{false, true} {
			name := fmt.Sprintf("%s/SetTimeout %v", roleName(role), viaSet)
			tmo := websocket.Timeout{Handshake: idle}
			o := &websocket.Options{Timeout: tmo}
			if viaSet {
				o = nil
			}
			p := newBBPair(t, nettest.Options{}, nettest.Options{}, o, o)
			s, own, _ := p.ends(role)
			if viaSet {
				s.SetTimeout(tmo)
			}
			var r *rec[error]
			if role == websocket.RoleServer {
				r = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncAccept(nil, h) })
			} else {
				r = startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncHandshake("example.com", "/", nil, h) })
			}
			p.runBounded(t, name, r.done)
			r.check(t, name)
			if !errors.Is(r.err(), websocket.ErrTimeout) || !errors.Is(r.err(), websocket.ErrHandshake) {
				t.Fatalf("%s: %v, want ErrTimeout matching ErrHandshake", name, r.err())
			}
			if s.IsOpen() {
				t.Fatalf("%s: open after a handshake timeout", name)
			}
			if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
				t.Fatalf("%s: next layer open after the timeout (Close: %v)", name, err)
			}
		}
	}
}

// TestBBSuggestedTimeout checks Beast's suggested settings.
func TestBBSuggestedTimeout(t *testing.T) {
	if got, want := websocket.SuggestedTimeout(websocket.RoleClient), (websocket.Timeout{Handshake: 30 * time.Second}); got != want {
		t.Fatalf("client: %+v, want %+v", got, want)
	}
	want := websocket.Timeout{Handshake: 30 * time.Second, Idle: 300 * time.Second, KeepAlivePings: true}
	if got := websocket.SuggestedTimeout(websocket.RoleServer); got != want {
		t.Fatalf("server: %+v, want %+v", got, want)
	}
}

// TestBBReadSizeHint: initial (4096 for initial <= 0) before a message; the bytes left in the frame
// being read while one is in progress; never more than the message size limit still allows.
func TestBBReadSizeHint(t *testing.T) {
	p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, &websocket.Options{ReadMessageMax: 500})
	s := p.server
	for _, c := range []struct{ initial, want int }{{0, 4096}, {-1, 4096}, {100, 100}} {
		if got := s.ReadSizeHint(c.initial); got != min(c.want, 500) {
			t.Fatalf("before a read: ReadSizeHint(%d) = %d, want %d", c.initial, got, min(c.want, 500))
		}
	}
	p.sEnd.Append(cat(rawFrame(false, websocket.OpBinary, true, make([]byte, 300)), rawFrame(true, websocket.OpContinuation, true, make([]byte, 150))))
	rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 100), h) })
	p.run()
	if rd.err() != nil || rd.n() != 100 || s.IsMessageDone() {
		t.Fatalf("read some: %d %v, message done %v", rd.n(), rd.err(), s.IsMessageDone())
	}
	for _, initial := range []int{0, 10, 4096} {
		if got := s.ReadSizeHint(initial); got != 200 {
			t.Fatalf("200 bytes left in the frame: ReadSizeHint(%d) = %d", initial, got)
		}
	}
	rd = startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 200), h) })
	p.run()
	if rd.err() != nil || rd.n() != 200 {
		t.Fatalf("read some: %d %v", rd.n(), rd.err())
	}
	// Between two frames of a message: no frame announces anything; the limit leaves 200 bytes.
	if got := s.ReadSizeHint(4096); got != 200 {
		t.Fatalf("300 bytes of a message read, limit 500: ReadSizeHint(4096) = %d, want 200", got)
	}
	if got := s.ReadSizeHint(50); got != 50 {
		t.Fatalf("ReadSizeHint(50) = %d, want 50", got)
	}
	rd = startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 1000), h) })
	p.run()
	if rd.err() != nil || rd.n() != 150 || !s.IsMessageDone() {
		t.Fatalf("last read some: %d %v, done %v", rd.n(), rd.err(), s.IsMessageDone())
	}
	if got := s.ReadSizeHint(0); got != min(4096, 500) {
		t.Fatalf("after the message: ReadSizeHint(0) = %d, want 500", got)
	}
}

// TestBBIdleTimeoutNoOperation: an idle timeout that expires while no operation is pending is
// seen by the next one, a write or a read, which fails with ErrTimeout; the ones after it fail
// with an error matching both ErrTimeout and completion.ErrOperationAborted.
func TestBBIdleTimeoutNoOperation(t *testing.T) {
	for _, role := range roles {
		for _, first := range bbOps[:4] {
			name := roleName(role) + "/" + first.name
			p := openRolePair(t, role, &websocket.Options{Timeout: websocket.Timeout{Idle: idle}})
			s, own, _ := p.ends(role)
			p.wait(t, 4*idle)
			if s.IsOpen() {
				t.Fatalf("%s: open after 4 idle timeouts", name)
			}
			if err := own.Close(); !errors.Is(err, nettest.ErrClosed) {
				t.Fatalf("%s: next layer open after the timeout (Close: %v)", name, err)
			}
			r := startErr(p.ioc, func(h completion.Handler[error]) { first.start(s, nil, h) })
			p.run()
			r.check(t, name)
			if !errors.Is(r.err(), websocket.ErrTimeout) {
				t.Fatalf("%s: first operation after the timeout: %v, want ErrTimeout", name, r.err())
			}
			for _, op := range bbOps {
				r := startErr(p.ioc, func(h completion.Handler[error]) { op.start(s, nil, h) })
				p.run()
				if !errors.Is(r.err(), websocket.ErrTimeout) || !errors.Is(r.err(), completion.ErrOperationAborted) {
					t.Fatalf("%s: then %s: %v, want ErrTimeout and ErrOperationAborted", name, op.name, r.err())
				}
			}
		}
	}
}

// TestBBHandshakeTimerDisarmed: once the stream is open, Timeout.Handshake no longer applies: a
// stream with a 10 ms handshake timeout and no idle timeout stays open through many of them.
func TestBBHandshakeTimerDisarmed(t *testing.T) {
	for _, role := range roles {
		p := openRolePair(t, role, &websocket.Options{Timeout: websocket.Timeout{Handshake: 10 * time.Millisecond}})
		s, _, _ := p.ends(role)
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
		p.wait(t, 60*time.Millisecond)
		if !s.IsOpen() || rd.done() {
			t.Fatalf("%s: open %v, read %v, after 6 handshake timeouts", roleName(role), s.IsOpen(), rd.err())
		}
		w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.other(role).AsyncWrite([]byte("late"), h) })
		p.runBounded(t, "read", rd.done)
		if w.err() != nil || rd.err() != nil {
			t.Fatalf("%s: write %v, read %v", roleName(role), w.err(), rd.err())
		}
	}
}
