package net_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	stdnet "net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// pipePair returns the two ends of a net.Pipe, each as a ConnStream on ioc, closed (and their
// goroutines checked gone) when the test ends.
func pipePair(t *testing.T, ioc *executor.IOContext) (*net.ConnStream, *net.ConnStream) {
	t.Helper()
	c1, c2 := stdnet.Pipe()
	a, b := net.FromConn(c1, ioc), net.FromConn(c2, ioc)
	t.Cleanup(func() { closeAll(t, a, b) })
	return a, b
}

// closeAll closes streams, the last ConnStreams alive, and checks at once, without the retries
// goleak allows, that none of their goroutines is left: Close waits for them.
func closeAll(t *testing.T, streams ...*net.ConnStream) {
	t.Helper()
	for _, s := range streams {
		if err := s.Close(); err != nil && !errors.Is(err, stdnet.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	}
	// Close has waited for the loops to signal that they are done; a loop may still be unwinding
	// its last frame for a moment after that, so allow it that moment, not goleak's retries.
	deadline := time.Now().Add(time.Second)
	n := servingGoroutines()
	for n != 0 && time.Now().Before(deadline) {
		runtime.Gosched()
		n = servingGoroutines()
	}
	if n != 0 {
		t.Errorf("%d ConnStream goroutines left after Close", n)
	}
}

// servingGoroutines counts the goroutines running a ConnStream's loop.
func servingGoroutines() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return bytes.Count(buf[:n], []byte("net.(*ConnStream).serve("))
}

func TestFromConnPipeEcho(t *testing.T) {
	ioc := executor.NewIOContext()
	client, server := pipePair(t, ioc)
	msg := bytes.Repeat([]byte("echo "), 1000)
	echoServer(server, len(msg), 3)
	var got []string
	var rounds func(left int)
	rounds = func(left int) {
		if left == 0 {
			return
		}
		net.AsyncWrite(client, msg, completion.Callback(func(r net.IOResult) {
			if r.Err != nil {
				t.Errorf("client write: %+v", r)
				return
			}
			reply := make([]byte, len(msg))
			net.AsyncRead(client, reply, completion.Callback(func(r net.IOResult) {
				if r.Err != nil {
					t.Errorf("client read: %+v", r)
					return
				}
				got = append(got, string(reply))
				rounds(left - 1)
			}))
		}))
	}
	rounds(3)
	ioc.Run()
	if len(got) != 3 || got[0] != string(msg) {
		t.Fatalf("got %d echoes", len(got))
	}
}

// echoServer reads messages of size n from s and writes each back, rounds times, on s's executor.
func echoServer(s net.AsyncStream, n, rounds int) {
	buf := make([]byte, n)
	var round func(left int)
	round = func(left int) {
		if left == 0 {
			return
		}
		net.AsyncRead(s, buf, completion.Callback(func(r net.IOResult) {
			if r.Err != nil {
				return
			}
			net.AsyncWrite(s, buf, completion.Callback(func(r net.IOResult) {
				if r.Err == nil {
					round(left - 1)
				}
			}))
		}))
	}
	round(rounds)
}

// tlsPair returns a TLS client and server connection over loopback TCP, handshake not yet done
// (it happens on their first read or write, which is what FromConn's goroutines do).
func tlsPair(t *testing.T) (client, server *tls.Conn) {
	t.Helper()
	cert, pool := net.SelfSigned(t)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan stdnet.Conn, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	})
	raw, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s := <-accepted
	if s == nil {
		t.FailNow()
	}
	return tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}), s.(*tls.Conn)
}

// Data echoed through TLS with FromConn on both ends, or on the server only with a client that
// uses its tls.Conn the blocking way.
func TestFromConnTLSEcho(t *testing.T) {
	msg := bytes.Repeat([]byte("secret "), 3000) // several TLS records
	const rounds = 4
	for _, bothSides := range []bool{true, false} {
		name := "server only"
		if bothSides {
			name = "both sides"
		}
		t.Run(name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			cc, sc := tlsPair(t)
			server := net.FromConn(sc, ioc)
			echoServer(server, len(msg), rounds)
			echoes := 0
			var wg sync.WaitGroup
			streams := []*net.ConnStream{server}
			if bothSides {
				client := net.FromConn(cc, ioc)
				streams = append(streams, client)
				reply := make([]byte, len(msg))
				var round func()
				round = func() {
					net.AsyncWrite(client, msg, completion.Callback(func(r net.IOResult) {
						if r.Err != nil {
							t.Errorf("client write: %+v", r)
							return
						}
						net.AsyncRead(client, reply, completion.Callback(func(r net.IOResult) {
							if r.Err != nil || !bytes.Equal(reply, msg) {
								t.Errorf("client read: %+v", r)
								return
							}
							if echoes++; echoes < rounds {
								round()
							}
						}))
					}))
				}
				round()
			} else {
				defer cc.Close()
				wg.Go(func() {
					reply := make([]byte, len(msg))
					for range rounds {
						if _, err := cc.Write(msg); err != nil {
							t.Error(err)
							return
						}
						if _, err := io.ReadFull(cc, reply); err != nil || !bytes.Equal(reply, msg) {
							t.Errorf("client read: %v", err)
							return
						}
						echoes++
					}
				})
			}
			ioc.Run() // returns when the server's last write has completed
			wg.Wait()
			closeAll(t, streams...)
			if echoes != rounds {
				t.Fatalf("%d echoes, want %d", echoes, rounds)
			}
			if state := sc.ConnectionState(); !state.HandshakeComplete {
				t.Fatal("no TLS handshake")
			}
		})
	}
}

// Close completes the operations pending on it with ErrOperationAborted; later ones fail with
// net.ErrClosed; Close returns after the goroutines have.
func TestFromConnClose(t *testing.T) {
	ioc := executor.NewIOContext()
	a, b := pipePair(t, ioc)
	var rd, wr recorder
	rd.start(func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(make([]byte, 4), h) })
	wr.start(func(h completion.Handler[net.IOResult]) { a.AsyncWriteSome([]byte("nobody reads"), h) })
	ioc.Poll()
	if len(rd.got)+len(wr.got) != 0 {
		t.Fatalf("completed before Close: %+v %+v", rd.got, wr.got)
	}
	closeAll(t, a, b)
	ioc.Run()
	for name, r := range map[string]*recorder{"read": &rd, "write": &wr} {
		if got := r.once(t); !errors.Is(got.Err, completion.ErrOperationAborted) {
			t.Fatalf("pending %s: %+v, want ErrOperationAborted", name, got)
		}
	}
	ioc.Restart()
	got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(make([]byte, 4), h) })
	if !errors.Is(got.Err, stdnet.ErrClosed) {
		t.Fatalf("read after Close: %+v", got)
	}
	if err := a.Close(); !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// A cancelled read completes with the cancellation error, and the stream stays usable: the read
// deadline used to interrupt the read is cleared. Over TLS too, once the handshake is done (a
// handshake interrupted is broken for good, as crypto/tls makes it).
func TestFromConnCancelRead(t *testing.T) {
	conns := map[string]func(t *testing.T) (stdnet.Conn, stdnet.Conn){
		"pipe": func(*testing.T) (stdnet.Conn, stdnet.Conn) { return stdnet.Pipe() },
		"tls":  func(t *testing.T) (stdnet.Conn, stdnet.Conn) { return tlsPair(t) },
	}
	for name, pair := range conns {
		t.Run(name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			c1, c2 := pair(t)
			a, b := net.FromConn(c1, ioc), net.FromConn(c2, ioc)
			defer closeAll(t, a, b)
			exchange := func(msg string) {
				t.Helper()
				buf := make([]byte, len(msg))
				var rd, wr recorder
				ioc.Restart()
				ioc.Post(func() {
					rd.start(func(h completion.Handler[net.IOResult]) { net.AsyncRead(a, buf, h) })
					wr.start(func(h completion.Handler[net.IOResult]) { net.AsyncWrite(b, []byte(msg), h) })
				})
				ioc.Run()
				if got := rd.once(t); got != (net.IOResult{N: len(msg)}) || string(buf) != msg {
					t.Fatalf("read: %+v %q", got, buf)
				}
				wr.once(t)
			}
			exchange("warm") // the TLS handshake

			ctx, cancel := context.WithCancel(context.Background())
			var r recorder
			ioc.Restart()
			r.start(func(h completion.Handler[net.IOResult]) {
				a.AsyncReadSome(make([]byte, 4), completion.WithContext(ctx, h))
			})
			ioc.Poll()
			cancel()
			ioc.Run()
			if got := r.once(t); !errors.Is(got.Err, context.Canceled) || !errors.Is(got.Err, completion.ErrOperationAborted) {
				t.Fatalf("cancelled read: %+v", got)
			}
			exchange("more")
		})
	}
}

func TestFromConnMisuse(t *testing.T) {
	ioc := executor.NewIOContext()
	a, b := pipePair(t, ioc)
	if got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(nil, h) }); got != (net.IOResult{}) {
		t.Fatalf("zero-length read: %+v", got)
	}
	var first, second recorder
	ioc.Restart()
	ioc.Post(func() {
		first.start(func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(make([]byte, 1), h) })
		second.start(func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(make([]byte, 1), h) })
		b.AsyncWriteSome([]byte("x"), completion.Detached[net.IOResult]())
	})
	ioc.Run()
	if got := second.once(t); got.Err != net.ErrInProgress {
		t.Fatalf("second read: %+v", got)
	}
	if got := first.once(t); got != (net.IOResult{N: 1}) {
		t.Fatalf("first read: %+v", got)
	}
}

// The completion runs on the handler's associated executor, and the pending operation holds work
// on the stream's executor: Run does not return while it waits for the conn.
func TestFromConnCompletesOnHandlerExecutor(t *testing.T) {
	io1, io2 := executor.NewIOContext(), executor.NewIOContext()
	c1, c2 := stdnet.Pipe()
	defer c2.Close()
	a := net.FromConn(c1, io1)
	done := make(chan bool, 1)
	var io2Runner atomic.Uint64 // the goroutine running io2, set before it runs anything
	a.AsyncReadSome(make([]byte, 1), completion.Bind(io2, completion.Callback(func(r net.IOResult) {
		done <- net.GoroutineID() == io2Runner.Load() && r.N == 1
	})))
	var wg sync.WaitGroup
	wg.Go(func() { io1.Run() })
	wg.Go(func() { io2Runner.Store(net.GoroutineID()); io2.Run() })
	if _, err := c2.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	closeAll(t, a)
	if ok := <-done; !ok {
		t.Fatal("handler did not run on its executor with the byte")
	}
}

// Shutdown(ShutdownWrite) half-closes a TCP conn: the peer reads what was written, then io.EOF,
// and the stream still reads what the peer sends back. Over TLS it is close_notify. A net.Pipe
// has no half-close: Shutdown says so and shuts nothing.
func TestFromConnShutdown(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		conn, err := stdnet.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		ioc := executor.NewIOContext()
		s := net.FromConn(conn, ioc)
		defer closeAll(t, s)

		got := runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWriteSome([]byte("last"), h) })
		if got.Err != nil {
			t.Fatal(got.Err)
		}
		if err := s.Shutdown(net.ShutdownWrite); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if all, err := io.ReadAll(peer); err != nil || string(all) != "last" {
			t.Fatalf("peer read %q, %v; want last, then EOF", all, err)
		}
		if _, err := peer.Write([]byte("reply")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		got = runInHandler(t, ioc, func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(buf, h) })
		if got.Err != nil || string(buf[:got.N]) != "reply" {
			t.Fatalf("read after Shutdown(write): %q, %v", buf[:got.N], got.Err)
		}
		if err := s.Shutdown(net.ShutdownHow(9)); err == nil {
			t.Fatal("Shutdown of no direction succeeded")
		}
	})

	t.Run("tls", func(t *testing.T) {
		client, server := tlsPair(t)
		defer server.Close()
		ioc := executor.NewIOContext()
		s := net.FromConn(client, ioc)
		defer closeAll(t, s)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := server.Handshake(); err != nil {
				t.Error(err)
			}
		})
		if err := client.Handshake(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if err := s.Shutdown(net.ShutdownWrite); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if n, err := server.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("server read %d, %v after close_notify; want io.EOF", n, err)
		}
		if err := s.Shutdown(net.ShutdownRead); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Shutdown(read) of TLS: %v, want ErrUnsupported", err)
		}
	})

	t.Run("pipe", func(t *testing.T) {
		ioc := executor.NewIOContext()
		a, _ := pipePair(t, ioc)
		if err := a.Shutdown(net.ShutdownWrite); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Shutdown of a pipe: %v, want ErrUnsupported", err)
		}
		a.Close()
		if err := a.Shutdown(net.ShutdownWrite); !errors.Is(err, stdnet.ErrClosed) {
			t.Fatalf("Shutdown after Close: %v, want net.ErrClosed", err)
		}
	})
}
