package websocket_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// TestBBIdleTimeoutDuringLongWrite: Timeout.Idle "fails the open stream once nothing has
// arrived from the peer for that long ... the stream ends between Idle and 1.5×Idle after the last
// byte read", and each expiry "fails the operations in flight". A write of 64 KiB leaving a byte per
// next-layer write takes far longer than 1.5×Idle (4 ms) while the peer sends nothing, so the
// idle timeout must end the stream during it: the write fails with ErrTimeout.
func TestBBIdleTimeoutDuringLongWrite(t *testing.T) {
	for _, role := range roles {
		msg := bytes.Repeat([]byte("y"), 64<<10)
		o := &websocket.Options{AutoFragment: true, WriteBufferBytes: 4096, Timeout: websocket.Timeout{Idle: 4 * time.Millisecond}}
		no := nettest.Options{Mode: nettest.Later, WriteSize: 1}
		var p *bbPair
		if role == websocket.RoleClient {
			p = openBBPair(t, no, no, o, nil)
		} else {
			p = openBBPair(t, no, no, nil, o)
		}
		s, _, _ := p.ends(role)
		start := time.Now()
		w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
		p.runUntil(w.done)
		if !errors.Is(w.err(), websocket.ErrTimeout) {
			t.Errorf("%s: a write of %v with nothing arriving for 4 ms idle: %d bytes, %v; want ErrTimeout", roleName(role), time.Since(start), w.n(), w.err())
		}
	}
}

// TestBBTimerStarvedByBusyContext: the guarantee under the above, in the executor and net
// packages. A SteadyTimer of 1 ms on an IOContext whose queue is never empty (a handler that posts
// the next, as a chain of operations completing by posting does) fires all the same: the context
// looks at its reactor every so many handlers, as Asio's scheduler runs its reactor task on every
// pass over the queue.
func TestBBTimerStarvedByBusyContext(t *testing.T) {
	ioc := executor.NewIOContext()
	tm := net.NewSteadyTimer(ioc)
	tm.ExpiresAfter(time.Millisecond)
	fired := false
	tm.AsyncWait(completion.Callback(func(error) { fired = true }))
	posts := 0
	var loop func()
	loop = func() {
		posts++
		// The chain stops when the timer fires, or after a million posts (about 40 ms, 1 s under the race detector).
		if !fired && posts < 1_000_000 {
			ioc.Post(loop)
		}
	}
	start := time.Now()
	ioc.Post(loop)
	ioc.Run()
	if posts >= 1_000_000 {
		t.Fatalf("a 1 ms timer did not fire during %d handlers posted one after another (%v)", posts, time.Since(start))
	}
}
