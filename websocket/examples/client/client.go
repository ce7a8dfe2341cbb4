package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// printable are the bytes of a -text message: any text will do, and these are readable in a
// server's log.
const printable = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?-"

// client is the program's WebSocket session: Beast's session class of its async client. Its
// handlers all run on the goroutine that runs the IOContext, one at a time, so its fields need
// no lock. Every handler is bound to ctx, so that SIGINT cancels the operation in flight.
type client struct {
	ctx    context.Context
	ioc    *executor.IOContext
	cfg    config
	stdout io.Writer
	log    *log.Logger

	ws     *websocket.Stream
	msg    []byte         // the message in flight
	echo   net.FlatBuffer // its echo
	sentAt time.Time      // when its write started
	echoes int            // echoes received

	failed bool // an echo differed, or a step failed
	closed bool // the closing handshake completed
}

func newClient(ctx context.Context, ioc *executor.IOContext, cfg config, stdout, stderr io.Writer) *client {
	return &client{ctx: ctx, ioc: ioc, cfg: cfg, stdout: stdout, log: log.New(stderr, "client: ", 0)}
}

// Start starts the client, before the IOContext runs: the pending resolve is the work that keeps
// Run going, and Run returns once the client is done.
func (c *client) Start() {
	asyncDial(c.ctx, c.ioc, c.cfg.url, c.cfg.insecure, c.onConnect)
}

// exitCode is the program's exit code once Run has returned.
func (c *client) exitCode() int {
	if c.failed || !c.closed {
		return 1
	}
	return 0
}

// bind makes f the handler of an operation, cancelled when ctx ends.
func bind[R any](ctx context.Context, f func(R)) completion.Handler[R] {
	return completion.WithContext(ctx, completion.Callback(f))
}

func (c *client) onConnect(next net.AsyncStream, err error) {
	if err != nil {
		c.fail("connect", err)
		return
	}
	opts := &websocket.Options{Timeout: websocket.SuggestedTimeout(websocket.RoleClient)}
	if c.cfg.size > 16<<20 {
		opts.ReadMessageMax = c.cfg.size // the echo of our own message must fit
	}
	c.ws = websocket.NewStream(next, opts)
	// The Host header is the URL's host, with its port when it has one, as a browser sends it.
	c.ws.AsyncHandshake(c.cfg.url.Host, c.cfg.url.RequestURI(), nil, bind(c.ctx, c.onHandshake))
}

func (c *client) onHandshake(err error) {
	if err != nil {
		c.fail("handshake", err)
		return
	}
	c.msg = make([]byte, c.cfg.size)
	if c.cfg.text {
		c.ws.SetText()
	} else {
		c.ws.SetBinary()
	}
	c.send()
}

// send writes the next message, or starts the close once all have been echoed.
func (c *client) send() {
	if c.echoes == c.cfg.n {
		c.ws.AsyncClose(c.cfg.close, bind(c.ctx, c.onClose))
		return
	}
	// A new message each time, so that an echo of an earlier one is caught.
	if c.cfg.text {
		for i := range c.msg {
			c.msg[i] = printable[rand.IntN(len(printable))]
		}
	} else {
		crand.Read(c.msg) // never fails (crypto/rand's contract)
	}
	c.sentAt = time.Now()
	c.ws.AsyncWrite(c.msg, bind(c.ctx, c.onWrite))
}

func (c *client) onWrite(r net.IOResult) {
	if r.Err != nil {
		c.fail("write", r.Err)
		return
	}
	c.ws.AsyncRead(&c.echo, bind(c.ctx, c.onRead))
}

func (c *client) onRead(r net.IOResult) {
	rtt := time.Since(c.sentAt)
	if errors.Is(r.Err, websocket.ErrClosed) {
		// The server closed first: the read has answered its close frame.
		c.printClose()
		c.fail("read", fmt.Errorf("the server closed the connection after %d of %d echoes", c.echoes, c.cfg.n))
		return
	}
	if r.Err != nil {
		c.fail("read", r.Err)
		return
	}
	c.echoes++
	fmt.Fprintf(c.stdout, "echo %d: %d bytes in %v\n", c.echoes, c.echo.Size(), rtt)
	if !bytes.Equal(c.echo.Bytes(), c.msg) || c.ws.GotText() != c.cfg.text {
		c.failed = true
		c.log.Printf("echo %d differs from the message sent (%d bytes, text %v): %d bytes, text %v",
			c.echoes, len(c.msg), c.cfg.text, c.echo.Size(), c.ws.GotText())
	}
	c.echo.Consume(c.echo.Size())
	c.send()
}

func (c *client) onClose(err error) {
	if err != nil {
		c.fail("close", err)
		return
	}
	c.closed = true
	c.printClose()
}

// printClose prints the server's close frame.
func (c *client) printClose() {
	fmt.Fprintf(c.stdout, "close: %d %q\n", c.ws.Reason().Code, c.ws.Reason().Reason)
}

// fail reports a step's failure and ends the client. The stream closes its connection when an
// operation fails in flight, but not when it is refused before it starts (a context already
// cancelled, say): closing it here makes sure, and closing it twice is harmless.
func (c *client) fail(op string, err error) {
	c.failed = true
	c.log.Printf("%s: %v", op, err)
	if c.ws != nil {
		if closer, ok := c.ws.NextLayer().(io.Closer); ok {
			_ = closer.Close()
		}
	}
}
