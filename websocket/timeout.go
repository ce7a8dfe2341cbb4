package websocket

import (
	"errors"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
)

// ErrTimeout is the error of the first operation to see that one of the stream's timeouts
// expired (Beast's beast::error::timeout): the opening or closing handshake took longer than
// Timeout.Handshake (or Options.CloseTimeout), or nothing arrived for Timeout.Idle. The next
// layer has been closed; the operations after the first fail with an error matching both
// ErrTimeout and completion.ErrOperationAborted.
var ErrTimeout = errors.New("websocket: timeout")

// errTimeoutAborted is the error of every operation after the first that sees a timeout.
var errTimeoutAborted = &abortedError{cause: ErrTimeout}

// abortedError is an operation aborted because the stream ended under it for cause.
type abortedError struct{ cause error }

func (e *abortedError) Error() string { return "websocket: operation aborted: " + e.cause.Error() }

// Unwrap returns both completion.ErrOperationAborted and the cause, for errors.Is.
func (e *abortedError) Unwrap() []error { return []error{completion.ErrOperationAborted, e.cause} }

// Timeout configures the stream's timers (Beast's stream_base::timeout). A zero field is off:
// the zero Timeout, the default, has no timer at all but the close timeout (Options.CloseTimeout).
// Each expiry closes the next layer hard and fails the operations in flight (see ErrTimeout).
type Timeout struct {
	// Handshake bounds the opening handshake (AsyncHandshake, AsyncAccept) and the closing one:
	// from AsyncClose's call, or from a read's meeting the peer's close frame (or a violation
	// it answers with a close frame), to the end of the teardown. For the closing handshake it
	// replaces Options.CloseTimeout when set.
	Handshake time.Duration

	// Idle fails the open stream once nothing has arrived from the peer for that long. The check
	// runs every Idle/2, so the stream ends between Idle and 1.5×Idle after the last byte read.
	Idle time.Duration

	// KeepAlivePings makes an idle stream send a ping half way through Idle, so that a peer that
	// is alive but quiet answers with a pong and keeps the stream open. It needs Idle.
	KeepAlivePings bool
}

// SuggestedTimeout returns Beast's suggested settings for a role: for both, a 30 s opening and
// closing handshake; for a server, also a 300 s idle timeout with keep-alive pings, since a
// server must not keep the sockets of vanished clients for ever.
func SuggestedTimeout(r Role) Timeout {
	t := Timeout{Handshake: 30 * time.Second}
	if r == RoleServer {
		t.Idle = 300 * time.Second
		t.KeepAlivePings = true
	}
	return t
}

// SetTimeout sets the stream's timeouts (Beast's set_option(timeout)). It takes effect when the
// timer is next armed: at the start of a handshake, when the stream opens, and when the closing
// handshake starts. Call it from the stream's executor, as every method.
func (s *Stream) SetTimeout(t Timeout) {
	o := *s.opts
	o.Timeout = t
	s.opts = shareOptions(o)
}

// timerPhase is what the stream's timer is timing.
type timerPhase uint8

const (
	timerOff       timerPhase = iota
	timerHandshake            // the opening handshake
	timerIdle                 // the open stream, checked every Idle/2
	timerClosing              // the closing handshake
)

// streamTimer is the stream's one timer (Beast's, too). It is made on first use, so a stream
// without timeouts pays nothing for it until it closes.
type streamTimer struct {
	s     *Stream
	t     *net.SteadyTimer
	phase timerPhase
	gen   uint64 // incremented at each arming, so a wait that lost a race with a re-arming is ignored

	activity bool // bytes arrived since the last idle check
	quiet    int  // idle checks in a row that saw no bytes

	expired          bool // a timeout closed the next layer
	timeoutDelivered bool // an operation has already failed with ErrTimeout
}

// arm starts timing phase for d; d <= 0 turns the timer off.
func (tm *streamTimer) arm(phase timerPhase, d time.Duration) {
	tm.gen++
	if d <= 0 {
		tm.stop()
		return
	}
	if tm.t == nil {
		tm.t = net.NewSteadyTimer(tm.s.Executor())
	}
	tm.phase = phase
	tm.t.ExpiresAfter(d) // cancels the wait of the previous arming, if any
	gen := tm.gen
	// The expiry runs where the stream's operations run, since it shares their state.
	tm.t.AsyncWait(completion.Bind(tm.s.stepExecutor(), completion.Callback(func(err error) {
		if err == nil && gen == tm.gen {
			tm.fired()
		}
	})))
}

// stop turns the timer off; a wait pending completes as cancelled and is ignored. A nil timer
// (a stream that never needed one) has nothing to stop.
func (tm *streamTimer) stop() {
	if tm == nil {
		return
	}
	tm.gen++
	tm.phase = timerOff
	if tm.t != nil {
		tm.t.Cancel()
	}
}

// timer returns the stream's timer, made on first use.
func (s *Stream) timer() *streamTimer {
	if s.tm == nil {
		s.tm = &streamTimer{s: s}
	}
	return s.tm
}

// timeHandshake arms the opening handshake's timeout, if there is one.
func (s *Stream) timeHandshake() {
	if s.opts.Timeout.Handshake > 0 {
		s.timer().arm(timerHandshake, s.opts.Timeout.Handshake)
	}
}

// timeIdle starts the idle checks of an open stream, or stops the timer when there are none.
func (s *Stream) timeIdle() {
	if s.opts.Timeout.Idle <= 0 {
		s.tm.stop()
		return
	}
	tm := s.timer()
	tm.activity, tm.quiet = false, 0
	tm.arm(timerIdle, s.opts.Timeout.Idle/2)
}

// timeClose bounds the closing handshake, which has just begun.
func (s *Stream) timeClose() {
	d := s.opts.Timeout.Handshake
	if d <= 0 {
		d = s.opts.closeTimeout()
	}
	s.timer().arm(timerClosing, d)
}

// timedOut reports whether a timeout closed the next layer.
func (s *Stream) timedOut() bool { return s.tm != nil && s.tm.expired }

// fired acts on an expiry: an idle check, or a timeout.
func (tm *streamTimer) fired() {
	s := tm.s
	if tm.phase == timerIdle && s.err == nil && !s.broken {
		switch {
		case tm.activity:
			tm.activity, tm.quiet = false, 0
			tm.arm(timerIdle, s.opts.Timeout.Idle/2)
			return
		case tm.quiet == 0 && s.opts.Timeout.KeepAlivePings:
			tm.quiet++
			s.keepAlive()
			tm.arm(timerIdle, s.opts.Timeout.Idle/2)
			return
		case tm.quiet == 0:
			tm.quiet++
			tm.arm(timerIdle, s.opts.Timeout.Idle/2)
			return
		}
	}
	tm.phase = timerOff
	tm.expired = true
	s.failWith(ErrTimeout)
	s.closeNext()
}

// timeoutErr returns the error of an operation ended by the timeout: ErrTimeout for the first,
// an abort caused by it for the others.
func (tm *streamTimer) timeoutErr() error {
	if tm.timeoutDelivered {
		return errTimeoutAborted
	}
	tm.timeoutDelivered = true
	return ErrTimeout
}
