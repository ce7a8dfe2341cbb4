package main

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
	"github.com/beastgo/beast/websocket/examples/internal/exampletest"
)

// Every message comes back whole and with its own type, one after another on one connection.
// The upgrade was answered with the server's name.
func TestEchoTextAndBinary(t *testing.T) {
	srv := startServer(t)
	ws := newClients(t).dial(srv.addr, nil)
	if got := ws.Response().Header.Get("Server"); got != "beastgo echo-server" {
		t.Errorf("Server header %q", got)
	}
	large := make([]byte, 1<<20)
	for i := range large {
		large[i] = byte(i * 7)
	}
	for _, tc := range []struct {
		name string
		msg  []byte
		text bool
	}{
		{"text", []byte("hello, echo"), true},
		{"text in several scripts", []byte("grüße, 你好, 👋"), true},
		{"binary", []byte{0, 1, 0xfe, 0xff, 0xc3}, false},
		{"empty text", nil, true},
		{"empty binary", nil, false},
		{"1 MiB binary", large, false},
		{"text after binary", []byte("again"), true},
	} {
		t.Run(tc.name, func(t *testing.T) { checkEcho(t, ws, tc.msg, tc.text) })
	}
}

// A message sent in several frames (and a text one cut inside a UTF-8 sequence) comes back whole,
// with its type.
func TestEchoFragmented(t *testing.T) {
	srv := startServer(t)
	ws := newClients(t).dial(srv.addr, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		parts []string
		text  bool
	}{
		{"text", []string{"frag", "ment", "ed ü", ""}, true},
		{"text cut inside a character", []string{"gr\xc3", "\xbc\xc3", "\x9fe"}, true},
		{"binary", []string{"\x00\x01", "\xff", "\xfe\xfd"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.text {
				ws.SetText()
			} else {
				ws.SetBinary()
			}
			var want []byte
			for i, p := range tc.parts {
				if _, err := ws.WriteSome(ctx, i == len(tc.parts)-1, []byte(p)); err != nil {
					t.Fatalf("write part %d: %v", i, err)
				}
				want = append(want, p...)
			}
			var got net.FlatBuffer
			if _, err := ws.Read(ctx, &got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want) || ws.GotText() != tc.text {
				t.Fatalf("got %q (text %v), want %q (text %v)", got.Bytes(), ws.GotText(), want, tc.text)
			}
		})
	}
}

// The read limit is 16 MiB: a message of that size is echoed, and a larger one is refused with
// 1009 (message too big) before its payload is read.
func TestEchoMessageLimit(t *testing.T) {
	srv := startServer(t)
	c := newClients(t)
	const limit = 16 << 20
	opts := &websocket.Options{ReadMessageMax: limit + 1} // the client reads what it sends
	msg := make([]byte, limit)
	for i := range msg {
		msg[i] = byte(i)
	}
	checkEcho(t, c.dial(srv.addr, opts), msg, false)

	ws := c.dial(srv.addr, opts)
	ws.SetBinary()
	var wrote sync.WaitGroup
	// The server refuses the message at its frame header, and the write may end early or not,
	// depending on when the server's close frame reaches the client's read: its error is not
	// what the test is about.
	wrote.Go(func() { _ = ws.Write(context.Background(), append(msg, 0)) })
	reason := readClosed(t, ws)
	wrote.Wait()
	if reason.Code != websocket.CloseTooBig {
		t.Errorf("close code %v, want %v", reason.Code, websocket.CloseTooBig)
	}
}

// A ping is answered with a pong carrying its payload, by the read the server has pending.
func TestPingAnswered(t *testing.T) {
	srv := startServer(t)
	ws := newClients(t).dial(srv.addr, nil)
	var pongs []string
	ws.SetControlCallback(func(kind websocket.FrameType, payload []byte) {
		if kind == websocket.FramePong {
			pongs = append(pongs, string(payload))
		}
	})
	ctx := context.Background()
	for _, p := range []string{"first", ""} {
		if err := ws.Ping(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	// The pongs arrive before the echo of a message sent after the pings, so the read of the echo
	// meets them first.
	checkEcho(t, ws, []byte("after the pings"), true)
	if want := []string{"first", ""}; len(pongs) != 2 || pongs[0] != want[0] || pongs[1] != want[1] {
		t.Fatalf("pongs %q, want %q", pongs, want)
	}
}

// The client's close is answered with its own code (1000 for a close frame with no code), and the
// server goes on serving other connections.
func TestCloseFromClient(t *testing.T) {
	srv := startServer(t)
	c := newClients(t)
	for _, tc := range []struct {
		name string
		send websocket.CloseReason
		want websocket.CloseCode
	}{
		{"normal", websocket.CloseReason{Code: websocket.CloseNormal, Reason: "done"}, websocket.CloseNormal},
		{"private code", websocket.CloseReason{Code: 4321, Reason: "bye"}, 4321},
		{"going away", websocket.CloseReason{Code: websocket.CloseGoingAway}, websocket.CloseGoingAway},
		{"no code", websocket.CloseReason{}, websocket.CloseNormal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := c.dial(srv.addr, nil)
			checkEcho(t, ws, []byte(tc.name), true)
			if err := ws.Close(context.Background(), tc.send); err != nil {
				t.Fatalf("close: %v", err)
			}
			if got := ws.Reason().Code; got != tc.want {
				t.Fatalf("server answered %v, want %v", got, tc.want)
			}
		})
	}
}

// Invalid UTF-8 in a text message is answered with 1007 (invalid payload data), whether it is in
// one frame or ends a fragmented message.
func TestInvalidUTF8(t *testing.T) {
	srv := startServer(t)
	c := newClients(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		parts []string
	}{
		{"one frame", []string{"ok \xff not ok"}},
		{"fragmented", []string{"fine so far ", "then \xc3\x28"}},
		{"truncated character at the end", []string{"gr\xc3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := c.dial(srv.addr, nil)
			checkEcho(t, ws, []byte("valid first"), true)
			ws.SetText()
			for i, p := range tc.parts {
				if _, err := ws.WriteSome(ctx, i == len(tc.parts)-1, []byte(p)); err != nil {
					t.Fatalf("write part %d: %v", i, err)
				}
			}
			if got := readClosed(t, ws).Code; got != websocket.CloseInvalidPayload {
				t.Fatalf("close code %v, want %v", got, websocket.CloseInvalidPayload)
			}
		})
	}
}

// With two goroutines running the IOContext, concurrent connections each get their own messages
// back in order (the race detector checks that each session's handlers never overlap).
func TestTwoThreads(t *testing.T) {
	srv := startServer(t, "-threads", "2")
	c := newClients(t)
	const conns, msgs = 6, 40
	streams := make([]*websocket.Stream, conns)
	for i := range streams {
		streams[i] = c.dial(srv.addr, nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i, ws := range streams {
		wg.Go(func() {
			ctx := context.Background()
			for j := range msgs {
				msg := bytes.Repeat([]byte{byte(i), byte(j)}, 1+j*50)
				ws.SetBinary()
				if err := ws.Write(ctx, msg); err != nil {
					errs <- err
					return
				}
				var got net.FlatBuffer
				if _, err := ws.Read(ctx, &got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got.Bytes(), msg) || ws.GotText() {
					errs <- errors.New("an echo differs from its message")
					return
				}
			}
			errs <- ws.Close(ctx, websocket.CloseReason{Code: websocket.CloseNormal})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// wss://: the server serves TLS with the certificate and key it is given.
func TestTLS(t *testing.T) {
	cert := exampletest.SelfSigned(t)
	srv := startServer(t, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile, "-threads", "2")
	c := newClients(t)
	ws := c.dialTLS(srv.addr, cert.Roots)
	checkEcho(t, ws, []byte("over TLS"), true)
	checkEcho(t, ws, bytes.Repeat([]byte{0xab}, 100_000), false)
	if err := ws.Close(context.Background(), websocket.CloseReason{Code: 4000, Reason: "tls bye"}); err != nil {
		t.Fatal(err)
	}
	if got := ws.Reason().Code; got != 4000 {
		t.Fatalf("server answered %v, want 4000", got)
	}
	// A connection left open is closed with 1001 when the server shuts down, over TLS too.
	open := c.dialTLS(srv.addr, cert.Roots)
	checkEcho(t, open, []byte("still here"), true)
	var reading sync.WaitGroup
	var reason websocket.CloseReason
	var readErr error
	reading.Go(func() { reason, readErr = awaitClose(open) })
	code := srv.stop()
	reading.Wait()
	if code != 0 || readErr != nil || reason.Code != websocket.CloseGoingAway {
		t.Fatalf("run returned %d; client: %v, close code %v, want %v", code, readErr, reason.Code, websocket.CloseGoingAway)
	}
}
