package websocket

import (
	"errors"
	"io"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/net"
)

// asyncTeardown ends the next layer once the close frames have crossed (Beast's teardown, per
// role). A server shuts its sending side down first (net.AsyncTeardown). A client first reads,
// discarding, to the server's end of stream, and only then does the same: RFC 6455 section 7.1.1
// asks that the server close the TCP connection first, so that the server, not the client, holds
// TIME_WAIT. A next layer with a teardown of its own (net.AsyncTeardowner) is left to it.
func (s *Stream) asyncTeardown(h completion.Handler[error]) {
	if _, own := s.next.(net.AsyncTeardowner); own || s.role == roleServer {
		net.AsyncTeardown(s.next, h)
		return
	}
	t := &clientTeardown{s: s}
	t.op.Start(s.Executor(), h, t)
}

// clientTeardown is a client's teardown: a composed operation that is its own Body, made once per
// stream at its end.
type clientTeardown struct {
	s        *Stream
	op       composed.Op[error]
	buf      [512]byte
	shutting bool
	read     composed.Slot[net.IOResult]
	done     composed.Slot[error]
}

// Step reads to the server's end of stream, then tears the next layer down.
func (t *clientTeardown) Step(op *composed.Op[error]) {
	switch {
	case t.shutting:
		op.Complete(t.done.Value)
		return
	case op.Resumed():
		switch err := t.read.Value.Err; {
		case errors.Is(err, io.EOF):
			t.shutting = true
			net.AsyncTeardown(t.s.next, composed.Into(op, &t.done))
			return
		case err != nil:
			t.s.closeNext()
			op.Complete(err)
			return
		}
	}
	t.s.next.AsyncReadSome(t.buf[:], composed.Into(op, &t.read))
}
