package websocket

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// ErrWouldDeadlock is the error of a blocking method (Read, Write, Handshake, ...) called from a
// handler running on the stream's executor: the operation it starts could only make progress on
// that executor, which is busy running the caller, so the call would wait for ever. Call blocking
// methods from goroutines of their own, and the Async methods from handlers.
var ErrWouldDeadlock = errors.New("websocket: blocking call from a handler of the stream's executor would deadlock")

// The blocking methods below are the goroutine-style form of the Async ones, as coder/websocket's
// methods are: each starts its Async operation and waits for it. The stream's state belongs to its
// executor, so the operation is started there, by a handler posted to it, never on the caller's
// goroutine; some goroutine must therefore be running the executor (IOContext.Run, kept running
// by a WorkGuard while the stream is in use), and the caller must not be that goroutine.

// Handshake opens the stream as a client, blocking until it is open or has failed: it is
// AsyncHandshake, with ctx cancelling it. A handshake cancelled by ctx fails with an error
// matching ErrHandshake, ctx.Err() and completion.ErrOperationAborted, and the stream cannot be
// used afterwards.
//
// As for every blocking method of Stream: the operation is started on the stream's executor,
// which some other goroutine must be running (IOContext.Run); called from a handler running
// there, the method returns ErrWouldDeadlock where the executor can tell (an IOContext run by that
// one goroutine, a Strand), and otherwise waits for ever. If ctx is done before the operation has
// started, the method returns completion.Canceled(ctx) having changed nothing.
func (s *Stream) Handshake(ctx context.Context, host, target string, opts *HandshakeOptions) error {
	return await(ctx, s.Executor(), func(h completion.Handler[error]) {
		s.AsyncHandshake(host, target, opts, h)
	})
}

// Accept opens the stream as a server, blocking until it is open or has failed: it is
// AsyncAccept, with ctx cancelling it. A refused request has been answered when Accept returns
// its error. See Handshake for what every blocking method requires.
func (s *Stream) Accept(ctx context.Context, opts *AcceptOptions) error {
	return await(ctx, s.Executor(), func(h completion.Handler[error]) {
		s.AsyncAccept(opts, h)
	})
}

// Read reads a whole message into buf, blocking until it has: it is AsyncRead, returning the
// message's size, with ctx cancelling the read. Once Read has returned, the goroutine that called
// it may ask GotText and IsMessageDone about the message, as long as no other read or close of
// the stream is in flight (those change the answers on the executor).
//
// A read cancelled by ctx while in flight ends the stream, as Beast's terminal cancellation does:
// part of a frame may have been consumed, so no later read could find the next one. Its error
// matches both ctx.Err() (context.Canceled or context.DeadlineExceeded) and
// completion.ErrOperationAborted, and every later read and write fails with it. Give ctx a
// deadline to bound the wait for a peer that has gone quiet; cancel it to give the connection up.
// See Handshake for what every blocking method requires.
func (s *Stream) Read(ctx context.Context, buf net.DynamicBuffer) (int, error) {
	r := await(ctx, s.Executor(), func(h completion.Handler[net.IOResult]) {
		s.AsyncRead(buf, h)
	})
	return r.N, r.Err
}

// ReadSome reads part of a message into b, blocking until it has: it is AsyncReadSome, returning
// how many bytes it read (0 when a message ends with no more bytes; IsMessageDone then reports
// true), with ctx cancelling the read as for Read.
func (s *Stream) ReadSome(ctx context.Context, b []byte) (int, error) {
	r := await(ctx, s.Executor(), func(h completion.Handler[net.IOResult]) {
		s.AsyncReadSome(b, h)
	})
	return r.N, r.Err
}

// Write writes b as one whole message, text or binary as SetText and SetBinary chose, blocking
// until it has left: it is AsyncWrite, with ctx cancelling it. A write cancelled by ctx while its
// frames are on their way out ends the stream (the peer would otherwise read a torn frame), with
// an error matching ctx.Err() and completion.ErrOperationAborted; one cancelled while it waits for
// its turn behind a control frame fails alone. SetText and SetBinary may be called before Write
// from the goroutine that calls it, while no write is in flight. See Handshake for what every
// blocking method requires.
func (s *Stream) Write(ctx context.Context, b []byte) error {
	r := await(ctx, s.Executor(), func(h completion.Handler[net.IOResult]) {
		s.AsyncWrite(b, h)
	})
	return r.Err
}

// WriteSome writes b as the next part of a message, ending it when fin is set, blocking until it
// has left: it is AsyncWriteSome, returning how many bytes of b were sent (len(b) unless an error
// stopped it), with ctx cancelling it as for Write.
func (s *Stream) WriteSome(ctx context.Context, fin bool, b []byte) (int, error) {
	r := await(ctx, s.Executor(), func(h completion.Handler[net.IOResult]) {
		s.AsyncWriteSome(fin, b, h)
	})
	return r.N, r.Err
}

// Close runs the closing handshake with reason, blocking until it is over: it is AsyncClose,
// returning nil once both close frames have crossed and the next layer is closed, with ctx
// cancelling it. A ctx that ends while the close waits for its turn to write (behind a message's
// frame) leaves the stream as it was; one that ends later closes the next layer at once. A Read
// in flight on another goroutine ends with the close (ErrClosed). See Handshake for what every
// blocking method requires.
func (s *Stream) Close(ctx context.Context, reason CloseReason) error {
	return await(ctx, s.Executor(), func(h completion.Handler[error]) {
		s.AsyncClose(reason, h)
	})
}

// Ping sends a ping carrying payload, blocking until it has been written: it is AsyncPing, with
// ctx cancelling it. The peer's pong is seen by a read (SetControlCallback). A ping cancelled
// while it waits for its turn to write fails alone; one cancelled while its frame is on its way
// out ends the stream, as a write does. See Handshake for what every blocking method requires.
func (s *Stream) Ping(ctx context.Context, payload []byte) error {
	return await(ctx, s.Executor(), func(h completion.Handler[error]) {
		s.AsyncPing(payload, h)
	})
}

// Blocking-call states: the initiating handler posted to the executor and the waiting caller race
// to move from waiting; the winner decides whether the operation starts.
const (
	awaitWaiting   int32 = iota // the initiating handler has not run yet
	awaitStarted                // it has run: the operation is in flight, or has completed
	awaitAbandoned              // ctx ended first: the handler will not start the operation
)

// await starts an operation on ex, the stream's executor, with a handler that carries ctx, and
// waits for its result.
//
// The operation is started by a handler posted to ex because the stream's state is touched only
// from its executor. If ctx ends before that handler has run, the caller gives up without
// waiting for it, and the handler, when it runs, starts nothing: the caller's buffers are not
// used after await returns, and the stream has not changed. The handler also checks ctx itself
// rather than leave it to the operation, because an operation whose context is already done when
// it starts completes without running its body.
func await[R any](ctx context.Context, ex executor.Executor, start func(completion.Handler[R])) R {
	if wouldDeadlock(ex) {
		return completion.Fail[R](ErrWouldDeadlock)
	}
	if ctx.Err() != nil {
		return completion.Fail[R](completion.Canceled(ctx))
	}
	f := completion.NewFuture[R]()
	var state atomic.Int32
	ex.Post(func() {
		if !state.CompareAndSwap(awaitWaiting, awaitStarted) {
			return
		}
		if ctx.Err() != nil {
			f.Complete(completion.Fail[R](completion.Canceled(ctx)))
			return
		}
		start(completion.WithContext(ctx, completion.Handler[R](f)))
	})
	select {
	case <-f.Done():
	case <-ctx.Done():
		if state.CompareAndSwap(awaitWaiting, awaitAbandoned) {
			return completion.Fail[R](completion.Canceled(ctx))
		}
		// The operation has started with ctx as its context, so it is being cancelled and will
		// complete soon; the caller's buffers are the operation's until it has.
		<-f.Done()
	}
	r, _ := f.Result()
	return r
}

// wouldDeadlock reports whether the calling goroutine is the only one that could run a handler
// posted to ex, and is blocked waiting for it: it runs inside a Strand that ex is or wraps, or
// inside the one run call of the IOContext under ex. Where ex cannot tell (the goroutine cannot be
// identified, an executor written elsewhere), it reports false.
func wouldDeadlock(ex executor.Executor) bool {
	for e := ex; e != nil; {
		if st, ok := e.(*executor.Strand); ok && st.RunningInThisThread() {
			return true
		}
		w, ok := e.(executor.Wrapper)
		if !ok {
			break
		}
		e = w.Inner()
	}
	c := executor.ExecutionContext(ex)
	// Serial holds while at most one goroutine is in c's run calls: the caller is that one.
	return c != nil && c.RunningInThisThread() && executor.Serial(c)
}
