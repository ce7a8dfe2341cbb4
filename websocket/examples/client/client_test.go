package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	stdnet "net"
	"strings"
	"testing"

	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
	"github.com/beastgo/beast/websocket/examples/internal/exampletest"
)

// Against a server that echoes, the client prints an echo line per message and the server's
// close frame, and exits 0; the server saw the client's close code and reason.
func TestEcho(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		n     int
		size  int
		close websocket.CloseReason // sent
		reply websocket.CloseCode   // the server's reply
	}{
		{"binary", []string{"-n", "3", "-size", "100"}, 3, 100, websocket.CloseReason{Code: 1000}, 1000},
		{"text", []string{"-n", "2", "-size", "5000", "-text"}, 2, 5000, websocket.CloseReason{Code: 1000}, 1000},
		{"empty messages", []string{"-n", "2", "-size", "0"}, 2, 0, websocket.CloseReason{Code: 1000}, 1000},
		{"no message", []string{"-n", "0"}, 0, 0, websocket.CloseReason{Code: 1000}, 1000},
		{"close code and reason", []string{"-n", "1", "-close-code", "4001", "-close-reason", "bye now"}, 1, 32,
			websocket.CloseReason{Code: 4001, Reason: "bye now"}, 4001},
		{"close frame without a code", []string{"-n", "1", "-close-code", "0"}, 1, 32,
			websocket.CloseReason{Code: websocket.CloseNoStatus}, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closes := make(chan websocket.CloseReason, 1)
			addr := startPeer(t, nil, echoPeer(closes))
			r := runClient(context.Background(), append([]string{"-url", "ws://" + addr + "/echo?x=1"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
			}
			checkOutput(t, r, tc.n, tc.size, tc.reply, "") // the library's reply echoes the code alone
			if got := <-closes; got != tc.close {
				t.Errorf("the server got close frame %+v, want %+v", got, tc.close)
			}
		})
	}
}

// A server whose echo differs from the message, in its bytes or in its type, makes the client
// exit 1, saying which echo differed, after it has closed the connection as usual.
func TestEchoDiffers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		change func([]byte, bool) ([]byte, bool)
	}{
		{"a byte changed", nil, func(b []byte, text bool) ([]byte, bool) {
			b = bytes.Clone(b)
			b[len(b)/2] ^= 1
			return b, text
		}},
		{"a byte missing", nil, func(b []byte, text bool) ([]byte, bool) { return b[1:], text }},
		{"text for binary", nil, func(b []byte, text bool) ([]byte, bool) { return []byte("text"), true }},
		{"binary for text", []string{"-text"}, func(b []byte, text bool) ([]byte, bool) { return b, false }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := startPeer(t, nil, badEchoPeer(tc.change))
			r := runClient(context.Background(), append([]string{"-url", "ws://" + addr, "-n", "2", "-size", "64"}, tc.args...)...)
			if r.code != 1 || !strings.Contains(r.stderr, "echo 1 differs") {
				t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if !closeLine.MatchString(r.stdout) {
				t.Errorf("no close line in:\n%s", r.stdout)
			}
		})
	}
}

// A server that closes the connection with an error code before the echoes are done makes the
// client print its close frame and exit 1.
func TestServerCloses(t *testing.T) {
	addr := startPeer(t, nil, closingPeer(websocket.CloseReason{Code: websocket.CloseInternalError, Reason: "boom"}))
	r := runClient(context.Background(), "-url", "ws://"+addr, "-n", "3")
	if r.code != 1 || !strings.Contains(r.stderr, "closed the connection after 1 of 3 echoes") {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	checkOutput(t, r, 1, 32, websocket.CloseInternalError, "boom")
}

// A closing handshake that fails (here the server answers the close frame with a frame of a
// reserved opcode) makes the client exit 1, though every echo matched.
func TestCloseFails(t *testing.T) {
	addr := startPeer(t, nil, func(ws *websocket.Stream) {
		// The client's close frame (with -n 0, its first), read raw: no operation of ws is in
		// flight.
		conn := ws.NextLayer().(*net.ConnStream).Conn().(*stdnet.TCPConn)
		if _, err := io.ReadFull(conn, make([]byte, 2+4+2)); err != nil {
			return
		}
		if _, err := conn.Write([]byte{0x83, 0x00}); err != nil {
			return
		}
		conn.CloseWrite()         // a client's teardown waits for the server's end first
		io.Copy(io.Discard, conn) // then the client's
	})
	r := runClient(context.Background(), "-url", "ws://"+addr, "-n", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "close: websocket: reserved opcode") || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// wss:// checks the server's certificate: a self-signed one is refused, unless -insecure.
func TestTLS(t *testing.T) {
	cert := exampletest.SelfSigned(t)
	addr := startPeer(t, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, echoPeer(nil))
	url := "wss://" + addr + "/"

	r := runClient(context.Background(), "-url", url, "-insecure", "-n", "2", "-size", "70000", "-text")
	if r.code != 0 {
		t.Fatalf("-insecure: exit %d; stderr:\n%s", r.code, r.stderr)
	}
	checkOutput(t, r, 2, 70000, websocket.CloseNormal, "")

	r = runClient(context.Background(), "-url", url, "-n", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "certificate") || r.stdout != "" {
		t.Fatalf("without -insecure: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// A server that cannot be reached, or a handshake refused, ends the client with exit 1.
func TestConnectFails(t *testing.T) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	r := runClient(context.Background(), "-url", "ws://"+closed+"/")
	if r.code != 1 || !strings.Contains(r.stderr, "connect:") || r.stdout != "" {
		t.Fatalf("refused: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// An HTTP server that is not a WebSocket one.
	ln, err = stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.Read(make([]byte, 4096)) // the upgrade request
		conn.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
	}()
	r = runClient(context.Background(), "-url", "ws://"+ln.Addr().String()+"/")
	<-answered
	if r.code != 1 || !strings.Contains(r.stderr, "handshake:") || r.stdout != "" {
		t.Fatalf("404: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Cancelling run's context (what SIGINT does) ends the client with exit 1 while it waits for an
// echo that never comes.
func TestCancel(t *testing.T) {
	got := make(chan struct{})
	addr := startPeer(t, nil, func(ws *websocket.Stream) {
		// Read the message, never answer it, and wait for the connection to end.
		if _, err := ws.Read(context.Background(), new(net.FlatBuffer)); err == nil {
			close(got)
			ws.Read(context.Background(), new(net.FlatBuffer))
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-got
		cancel()
	}()
	r := runClient(ctx, "-url", "ws://"+addr, "-n", "1")
	if r.code != 1 || !strings.Contains(r.stderr, "read:") || !strings.Contains(r.stderr, "context canceled") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	r = runClient(ctx, "-url", "ws://"+addr) // already cancelled: the resolve is
	if r.code != 1 || !strings.Contains(r.stderr, "context canceled") {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// Bad command lines are refused with exit code 2 and a message naming the problem, before
// anything connects; -h prints the usage and exits 0.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"help", []string{"-h"}, 0, "-close-code"},
		{"http scheme", []string{"-url", "http://127.0.0.1:1/"}, 2, "scheme must be ws or wss"},
		{"no host", []string{"-url", "ws:///path"}, 2, "no host"},
		{"bad url", []string{"-url", "ws://[::1"}, 2, "-url"},
		{"negative count", []string{"-n", "-1"}, 2, "must not be negative"},
		{"negative size", []string{"-size", "-1"}, 2, "must not be negative"},
		{"code never sent", []string{"-close-code", "1005"}, 2, "-close-code 1005"},
		{"code out of range", []string{"-close-code", "70000"}, 2, "-close-code 70000"},
		{"argument", []string{"extra"}, 2, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runClient(context.Background(), tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.says) || r.stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and a mention of %q", r.code, r.stdout, r.stderr, tc.code, tc.says)
			}
		})
	}
}
