package net_test

import (
	"context"
	"errors"
	"io"
	stdnet "net"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// runTeardown tears a down from a handler of ioc, lets the peer b do what peer says once it has
// read its end of stream, runs ioc until out of work, and returns the teardown's one result and
// what b read.
func runTeardown(t *testing.T, ioc *executor.IOContext, a, b *nettest.Stream, h func(completion.Handler[error]) completion.Handler[error], peer func()) (error, net.IOResult) {
	t.Helper()
	var got []error
	var read net.IOResult
	starting, inline := false, false
	ioc.Restart()
	ioc.Post(func() {
		starting = true
		net.AsyncTeardown(a, h(completion.Callback(func(err error) {
			inline = inline || starting
			got = append(got, err)
		})))
		starting = false
		buf := make([]byte, 1024)
		var next func()
		next = func() {
			b.AsyncReadSome(buf, completion.Callback(func(r net.IOResult) {
				read.N += r.N
				if r.Err != nil {
					read.Err = r.Err
					if peer != nil {
						peer()
					}
					return
				}
				next()
			}))
		}
		next()
	})
	ioc.Run()
	if inline || len(got) != 1 {
		t.Fatalf("teardown completed %d times (inline: %v), want once", len(got), inline)
	}
	return got[0], read
}

func plainHandler(h completion.Handler[error]) completion.Handler[error] { return h }

func TestTeardownNettest(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			for _, readSize := range []int{0, 1} {
				ioc := executor.NewIOContext()
				a, b := nettest.NewPair(ioc, nettest.Options{ReadSize: readSize, Mode: m.mode}, nettest.Options{Mode: m.mode})
				// The peer's last bytes, sent before it closes, are read and discarded.
				b.AsyncWriteSome(make([]byte, 700), completion.Detached[net.IOResult]())
				err, read := runTeardown(t, ioc, a, b, plainHandler, func() { b.Close() })
				if err != nil || read.Err != io.EOF {
					t.Fatalf("ReadSize=%d: teardown %v, the peer read %+v", readSize, err, read)
				}
				if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
					t.Fatalf("the torn-down end is open: Close says %v", err)
				}
			}
		})
	}
}

// A failing read or shutdown ends the teardown with its error, the stream closed.
func TestTeardownErrors(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name+"/read fails", func(t *testing.T) {
			ioc := executor.NewIOContext()
			a, b := nettest.NewPair(ioc, nettest.Options{Fail: nettest.NewFailCount(1, errBoom), Mode: m.mode}, nettest.Options{})
			err, _ := runTeardown(t, ioc, a, b, plainHandler, nil)
			if !errors.Is(err, errBoom) {
				t.Fatalf("teardown: %v, want the read's error", err)
			}
			if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
				t.Fatalf("the end is open after a failed teardown: Close says %v", err)
			}
		})
		t.Run(m.name+"/shutdown fails", func(t *testing.T) {
			ioc := executor.NewIOContext()
			a, b := nettest.NewPair(ioc, nettest.Options{Mode: m.mode}, nettest.Options{})
			a.Close()
			err, _ := runTeardown(t, ioc, a, b, plainHandler, nil)
			if !errors.Is(err, stdnet.ErrClosed) {
				t.Fatalf("teardown of a closed end: %v, want net.ErrClosed", err)
			}
		})
	}
}

// A peer that never closes keeps the teardown pending until the handler's context ends.
func TestTeardownNettestCancelled(t *testing.T) {
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	bound := func(h completion.Handler[error]) completion.Handler[error] { return completion.WithContext(ctx, h) }
	// The peer reads the end of stream and cancels the teardown instead of closing.
	err, read := runTeardown(t, ioc, a, b, bound, cancel)
	if read.Err != io.EOF || !errors.Is(err, context.Canceled) || !errors.Is(err, completion.ErrOperationAborted) {
		t.Fatalf("teardown %v after the peer read %+v", err, read)
	}
	if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("the end is open after a cancelled teardown: Close says %v", err)
	}
}

// readWrite is a stream with reads and writes and nothing else.
type readWrite struct {
	readOnly
	writeOnly
}

func (s readWrite) Executor() executor.Executor { return s.readOnly.Executor() }

// ownTeardown is a stream with a teardown of its own.
type ownTeardown struct {
	readWrite
	called *bool
}

func (s ownTeardown) AsyncTeardown(h completion.Handler[error]) {
	*s.called = true
	s.Executor().Post(func() { h.Complete(nil) })
}

func TestTeardownOfOtherStreams(t *testing.T) {
	ioc := executor.NewIOContext()
	a, _ := nettest.NewPair(ioc, nettest.Options{}, nettest.Options{})
	plain := readWrite{readOnly{a}, writeOnly{a}}
	var got error
	net.AsyncTeardown(plain, completion.Callback(func(err error) { got = err }))
	ioc.Run()
	if !errors.Is(got, net.ErrNoTeardown) || !errors.Is(got, errors.ErrUnsupported) {
		t.Fatalf("teardown of a stream without Shutdown and Close: %v", got)
	}
	called := false
	got = errBoom
	net.AsyncTeardown(ownTeardown{plain, &called}, completion.Callback(func(err error) { got = err }))
	ioc.Restart()
	ioc.Run()
	if !called || got != nil {
		t.Fatalf("the stream's own teardown: called %v, result %v", called, got)
	}
}
