package composed_test

import (
	"fmt"
	"strings"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// frameConn writes frames, one at a time: a WebSocket's send side in miniature. A write posts its
// completion, as a socket's write does. Its Mutex is Beast's soft mutex: the operation that writes
// holds it, so a ping never lands between the frames of a message.
type frameConn struct {
	ex      executor.Executor
	wire    []string
	writing composed.Mutex
}

func (c *frameConn) asyncWriteFrame(f string, h completion.Handler[error]) {
	c.wire = append(c.wire, f)
	completion.AssociatedExecutor(h, c.ex).Post(func() { h.Complete(nil) })
}

// sendOp writes frames while it holds the connection's mutex: it waits for the mutex as for an
// inner operation, writes, and gives the mutex back before it completes.
type sendOp struct {
	c       *frameConn
	frames  []string
	holding bool // the mutex is this operation's
	lock    composed.Slot[error]
	write   composed.Slot[error]
}

// asyncSend writes frames as one uninterrupted sequence.
func (c *frameConn) asyncSend(frames []string, h completion.Handler[error]) {
	s := &sendOp{c: c, frames: frames}
	composed.Start(c.ex, h, s.step)
}

func (s *sendOp) step(op *composed.Op[error]) {
	switch {
	case !op.Resumed():
		s.c.writing.AsyncLock(composed.Into(op, &s.lock)) // wait for our turn
		return
	case !s.holding && s.lock.Value != nil:
		op.Complete(s.lock.Value) // canceled, or the connection closed, while waiting
		return
	case s.holding && s.write.Value != nil:
		s.c.writing.Unlock()
		op.Complete(s.write.Value)
		return
	}
	s.holding = true
	if len(s.frames) == 0 {
		s.c.writing.Unlock() // the next waiter's turn
		op.Complete(nil)
		return
	}
	f := s.frames[0]
	s.frames = s.frames[1:]
	s.c.asyncWriteFrame(f, composed.Into(op, &s.write))
}

// A ping started while a message's frames are being written waits for the mutex, and is written
// after the message's last frame, never between two.
func ExampleMutex() {
	ioc := executor.NewIOContext()
	c := &frameConn{ex: ioc}
	done := completion.Callback(func(err error) {
		if err != nil {
			fmt.Println(err)
		}
	})
	c.asyncSend([]string{"text 1/3", "cont 2/3", "fin 3/3"}, done)
	c.asyncSend([]string{"ping"}, done)
	ioc.Run()
	fmt.Println(strings.Join(c.wire, ", "))
	// Output: text 1/3, cont 2/3, fin 3/3, ping
}
