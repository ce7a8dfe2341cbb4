package main

import (
	"bytes"
	"context"
	"crypto/tls"
	stdnet "net"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// The tests run the client with run() in the test process against small servers made from the
// library (startPeer), each behaving in one way: echoing, echoing wrong, closing with an error.
// process_test.go runs the built client, and the client against the built echo-server.

// peer is what a test server does with each WebSocket connection once it is open.
type peer func(ws *websocket.Stream)

// startPeer serves WebSocket connections on a loopback port until the test ends, over TLS when
// cfg is not nil, and returns its address. The server is written as goroutines over the blocking
// methods, one goroutine per connection: the test wants it short, not scalable.
func startPeer(t *testing.T, cfg *tls.Config, p peer) string {
	t.Helper()
	ioc := executor.NewIOContext()
	guard := executor.MakeWorkGuard(ioc)
	var running, conns sync.WaitGroup
	running.Go(func() { ioc.Run() })
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	var accepting sync.WaitGroup
	accepting.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				next := net.FromConn(conn, ioc)
				defer next.Close()
				ws := websocket.NewStream(next, nil)
				if ws.Accept(context.Background(), nil) == nil {
					p(ws)
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		accepting.Wait()
		conns.Wait()
		guard.Reset()
		running.Wait()
	})
	return ln.Addr().String()
}

// echoPeer echoes every message with its type until the connection ends, and sends what it
// read last (the client's close frame, once the read has answered it) on closes, when not nil.
func echoPeer(closes chan<- websocket.CloseReason) peer {
	return func(ws *websocket.Stream) {
		ctx := context.Background()
		for {
			var msg net.FlatBuffer
			if _, err := ws.Read(ctx, &msg); err != nil {
				if closes != nil {
					closes <- ws.Reason()
				}
				return
			}
			setType(ws, ws.GotText())
			if ws.Write(ctx, msg.Bytes()) != nil {
				return
			}
		}
	}
}

// setType makes the next message written text or binary.
func setType(ws *websocket.Stream, text bool) {
	if text {
		ws.SetText()
	} else {
		ws.SetBinary()
	}
}

// badEchoPeer echoes each message changed by change(payload, text) into another payload and type.
func badEchoPeer(change func([]byte, bool) ([]byte, bool)) peer {
	return func(ws *websocket.Stream) {
		ctx := context.Background()
		for {
			var msg net.FlatBuffer
			if _, err := ws.Read(ctx, &msg); err != nil {
				return
			}
			payload, text := change(msg.Bytes(), ws.GotText())
			setType(ws, text)
			if ws.Write(ctx, payload) != nil {
				return
			}
		}
	}
}

// closingPeer echoes the first message, then answers the second with a close frame.
func closingPeer(reason websocket.CloseReason) peer {
	return func(ws *websocket.Stream) {
		ctx := context.Background()
		var msg net.FlatBuffer
		for i := 0; ; i++ {
			if _, err := ws.Read(ctx, &msg); err != nil {
				return
			}
			if i == 1 {
				_ = ws.Close(ctx, reason) // the client's exit code tells whether it saw the frame
				return
			}
			setType(ws, ws.GotText())
			if ws.Write(ctx, msg.Bytes()) != nil {
				return
			}
			msg.Consume(msg.Size())
		}
	}
}

// result is what a run of the client printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runClient runs the client with args.
func runClient(ctx context.Context, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

var (
	echoLine  = regexp.MustCompile(`(?m)^echo ([0-9]+): ([0-9]+) bytes in [0-9.]+[nµm]?s$`)
	closeLine = regexp.MustCompile(`(?m)^close: ([0-9]+) (".*")$`)
)

// checkOutput checks that the client printed an echo line for each of n messages of size bytes,
// in order, then a close line with code and reason, and nothing else.
func checkOutput(t *testing.T, r result, n, size int, code websocket.CloseCode, reason string) {
	t.Helper()
	echoes := echoLine.FindAllStringSubmatch(r.stdout, -1)
	closes := closeLine.FindAllStringSubmatch(r.stdout, -1)
	lines := bytes.Count([]byte(r.stdout), []byte("\n"))
	if len(echoes) != n || len(closes) != 1 || lines != n+1 {
		t.Fatalf("stdout:\n%s\nwant %d echo lines and a close line", r.stdout, n)
	}
	for i, m := range echoes {
		if m[1] != strconv.Itoa(i+1) || m[2] != strconv.Itoa(size) {
			t.Errorf("line %q: want echo %d of %d bytes", m[0], i+1, size)
		}
	}
	if want := strconv.Quote(reason); closes[0][1] != strconv.Itoa(int(code)) || closes[0][2] != want {
		t.Errorf("line %q: want close: %d %s", closes[0][0], code, want)
	}
}
