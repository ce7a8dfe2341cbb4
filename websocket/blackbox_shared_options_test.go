package websocket_test

// Black-box tests, from docs/websocket.md and the package documentation only, of a stream's
// Options: "Options are fixed at NewStream", "Streams made with equal Options hold one copy between
// them; a stream that changes its own (SetTimeout) takes another", and NetConn lifting
// ReadMessageMax "since it never holds a message whole" for its own stream. Many streams share one
// Options value; changing the caller's struct afterwards, or one stream's timeouts, must change
// nothing for any other stream.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// soOpen runs the opening handshake of pairs made by newBBPair, all at once on their contexts.
func soOpen(t *testing.T, pairs []*bbPair) {
	t.Helper()
	for i, p := range pairs {
		acc := startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncAccept(nil, h) })
		hs := startErr(p.ioc, func(h completion.Handler[error]) { p.client.AsyncHandshake("example.com", "/", nil, h) })
		p.runUntil(func() bool { return acc.done() && hs.done() })
		if acc.err() != nil || hs.err() != nil {
			t.Fatalf("pair %d: opening handshake: accept %v, handshake %v", i, acc.err(), hs.err())
		}
	}
}

// soFrameSizes writes msg on s and returns the payload sizes of the frames that reach its peer's
// end, which the test reads as raw bytes (the peer stream is not reading).
func soFrameSizes(t *testing.T, p *bbPair, s *websocket.Stream, peer *nettest.Stream, msg []byte) []int {
	t.Helper()
	w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
	p.runUntil(w.done)
	if w.err() != nil || w.n() != len(msg) {
		t.Fatalf("write: %d, %v", w.n(), w.err())
	}
	fs := sentFrames(t, peer)
	var sizes []int
	for _, f := range fs {
		sizes = append(sizes, len(f.payload))
	}
	if !bytes.Equal(dataPayload(fs), msg) {
		t.Fatalf("the frames %v do not carry the message", fs)
	}
	return sizes
}

// soWantSizes is the frame sizes a message of n bytes is written in, cut at max bytes.
func soWantSizes(n, max int) []int {
	var out []int
	for n > max {
		out = append(out, max)
		n -= max
	}
	return append(out, n)
}

// TestBBOptionsCopiedAtNewStream: many streams made from one *Options, whose fields the caller
// then changes: every stream keeps what the struct held at NewStream: the fragment size and
// AutoFragment of its writes, its ReadMessageMax, no idle or handshake timeout, and an hour's close
// timeout (a close against a silent peer stays pending while the context runs, and completes once
// the peer answers).
func TestBBOptionsCopiedAtNewStream(t *testing.T) {
	const n = 8
	opts := &websocket.Options{ReadMessageMax: 100, AutoFragment: true, WriteBufferBytes: 10, CloseTimeout: time.Hour}
	pairs := make([]*bbPair, n)
	for i := range pairs {
		pairs[i] = newBBPair(t, nettest.Options{}, nettest.Options{}, opts, opts)
	}
	// Everything the caller could change, changed.
	*opts = websocket.Options{ReadMessageMax: 5, AutoFragment: false, WriteBufferBytes: 1000,
		Timeout: websocket.Timeout{Idle: time.Millisecond, KeepAlivePings: true}, CloseTimeout: time.Millisecond}
	soOpen(t, pairs)
	msg := []byte(strings.Repeat("abcdefg", 5)) // 35 bytes: 4 frames of at most 10
	for i, p := range pairs {
		for _, role := range roles {
			s, _, peer := p.ends(role)
			if got, want := soFrameSizes(t, p, s, peer, msg), soWantSizes(len(msg), 10); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pair %d %s: frames of %v, want %v (AutoFragment with 10-byte frames, as at NewStream)", i, roleName(role), got, want)
			}
		}
	}
	// Reads pending on both sides of every pair, and the context run for several of the
	// millisecond timeouts written into the struct after NewStream: none may fire.
	type reads struct{ c, s *rec[net.IOResult] }
	var rs []reads
	cbufs := make([]net.FlatBuffer, n)
	sbufs := make([]net.FlatBuffer, n)
	for i, p := range pairs {
		// The frames of the raw checks above wait unread: each end has one 35-byte message.
		r := reads{
			c: startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(&cbufs[i], h) }),
			s: startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&sbufs[i], h) }),
		}
		p.runUntil(func() bool { return r.c.done() && r.s.done() })
		if r.c.err() != nil || r.s.err() != nil || cbufs[i].Size() != len(msg) || sbufs[i].Size() != len(msg) {
			t.Fatalf("pair %d: the 35-byte messages read as %v %d, %v %d", i, r.c.err(), cbufs[i].Size(), r.s.err(), sbufs[i].Size())
		}
		cbufs[i].Consume(cbufs[i].Size())
		sbufs[i].Consume(sbufs[i].Size())
		rs = append(rs, reads{
			c: startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(&cbufs[i], h) }),
			s: startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&sbufs[i], h) }),
		})
	}
	for _, p := range pairs {
		p.wait(t, 20*time.Millisecond)
	}
	for i, r := range rs {
		if r.c.done() || r.s.done() {
			t.Fatalf("pair %d: a read ended (%v, %v) though the streams were made with no idle timeout", i, r.c.err(), r.s.err())
		}
	}
	// The limit of 100 from NewStream, not the 5 written later: a 100-byte message is read whole
	// on every stream.
	big := bytes.Repeat([]byte("x"), 100)
	for i, p := range pairs {
		wc := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(big, h) })
		ws := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncWrite(big, h) })
		r := rs[i]
		p.runUntil(func() bool { return wc.done() && ws.done() && r.c.done() && r.s.done() })
		if r.c.err() != nil || r.s.err() != nil || r.c.n() != 100 || r.s.n() != 100 {
			t.Fatalf("pair %d: 100-byte messages read as %d %v, %d %v, want both whole", i, r.c.n(), r.c.err(), r.s.n(), r.s.err())
		}
	}
	// Half the pairs: a 101-byte message is over the limit. The other half: a close against a peer
	// that is not reading stays pending (an hour's close timeout), then completes when it reads.
	for i, p := range pairs {
		if i%2 == 0 {
			role := roles[i/2%2]
			s, _, _ := p.ends(role)
			other := p.other(role)
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
			w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { other.AsyncWrite(append(big, 'y'), h) })
			// The peer reads, so that it answers the 1009 and the teardown ends.
			ord := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { other.AsyncRead(net.NewFlatBuffer(0), h) })
			p.runUntil(func() bool { return rd.done() && w.done() && ord.done() })
			if !errors.Is(rd.err(), websocket.ErrMessageTooBig) {
				t.Fatalf("pair %d %s: a 101-byte message read as %d %v, want ErrMessageTooBig", i, roleName(role), rd.n(), rd.err())
			}
			if !errors.Is(ord.err(), websocket.ErrClosed) || other.Reason().Code != websocket.CloseTooBig {
				t.Fatalf("pair %d: the writer's read %v, Reason %+v; want ErrClosed with 1009", i, ord.err(), other.Reason())
			}
			continue
		}
		reason := websocket.CloseReason{Code: websocket.CloseCode(4000 + i), Reason: fmt.Sprintf("bye %d", i)}
		cl := startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncClose(reason, h) })
		p.wait(t, 20*time.Millisecond)
		if cl.done() {
			t.Fatalf("pair %d: the close ended (%v) before the peer answered: the close timeout is not the hour given at NewStream", i, cl.err())
		}
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
		p.runUntil(func() bool { return cl.done() && rd.done() })
		cl.check(t, "close")
		if cl.err() != nil || !errors.Is(rd.err(), websocket.ErrClosed) || p.client.Reason() != reason {
			t.Fatalf("pair %d: close %v, peer's read %v with Reason %+v, want nil, ErrClosed and %+v", i, cl.err(), rd.err(), p.client.Reason(), reason)
		}
	}
}

// TestBBSetTimeoutOnlyItsOwnStream: servers made with one Options value (the same pointer for half
// of them, an equal copy for the rest) with an idle timeout. One group keeps it; a second clears
// it with SetTimeout before its handshake; a third clears it too and, once open, sets a handshake
// timeout with SetTimeout, which bounds its close. Only the first group's reads time out; only the
// third group's closes time out against a silent peer; the second group's closes wait for the
// peer's answer (an hour's close timeout); and every stream keeps its fragmenting and its limit.
func TestBBSetTimeoutOnlyItsOwnStream(t *testing.T) {
	const n = 12
	shared := &websocket.Options{Timeout: websocket.Timeout{Idle: idle}, CloseTimeout: time.Hour, AutoFragment: true, WriteBufferBytes: 10, ReadMessageMax: 100}
	copyOf := *shared
	pairs := make([]*bbPair, n)
	for i := range pairs {
		o := shared
		if i%2 == 1 {
			o = &copyOf
		}
		pairs[i] = newBBPair(t, nettest.Options{}, nettest.Options{}, nil, o)
		if i%3 != 0 {
			pairs[i].server.SetTimeout(websocket.Timeout{})
		}
	}
	soOpen(t, pairs)
	for i, p := range pairs {
		if i%3 == 2 {
			p.server.SetTimeout(websocket.Timeout{Handshake: idle})
		}
	}
	reads := make([]*rec[net.IOResult], n)
	bufs := make([]net.FlatBuffer, n)
	for i, p := range pairs {
		reads[i] = startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(&bufs[i], h) })
	}
	for i, p := range pairs {
		if i%3 == 0 {
			p.runBounded(t, fmt.Sprintf("pair %d idle timeout", i), reads[i].done)
			if !errors.Is(reads[i].err(), websocket.ErrTimeout) {
				t.Fatalf("pair %d: read %v, want ErrTimeout (the idle timeout of its Options)", i, reads[i].err())
			}
		}
	}
	for i, p := range pairs {
		if i%3 != 0 {
			p.wait(t, 2*idle)
			if reads[i].done() {
				t.Fatalf("pair %d: read ended with %v though SetTimeout cleared its idle timeout", i, reads[i].err())
			}
		}
	}
	msg := []byte(strings.Repeat("0123456789", 4) + "xyz")
	for i, p := range pairs {
		if i%3 == 0 {
			continue
		}
		w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
		p.runUntil(func() bool { return w.done() && reads[i].done() })
		if reads[i].err() != nil || !bytes.Equal(bufs[i].Bytes(), msg) {
			t.Fatalf("pair %d: read %v %q, want the message", i, reads[i].err(), bufs[i].Bytes())
		}
		if got, want := soFrameSizes(t, p, p.server, p.cEnd, msg), soWantSizes(len(msg), 10); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pair %d: after SetTimeout the server writes frames of %v, want %v", i, got, want)
		}
	}
	closes := make([]*rec[error], n)
	for i, p := range pairs {
		if i%3 == 0 {
			continue
		}
		// The client's end holds the frames of the raw check: read them away by reading the
		// message, so that the client is not reading when the close frame comes.
		var m net.FlatBuffer
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(&m, h) })
		p.runUntil(rd.done)
		if rd.err() != nil || !bytes.Equal(m.Bytes(), msg) {
			t.Fatalf("pair %d: client read %v %q", i, rd.err(), m.Bytes())
		}
		reason := websocket.CloseReason{Code: websocket.CloseCode(4000 + i), Reason: fmt.Sprintf("bye %d", i)}
		closes[i] = startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncClose(reason, h) })
	}
	for i, p := range pairs {
		if i%3 == 2 {
			p.runBounded(t, fmt.Sprintf("pair %d close", i), closes[i].done)
			if !errors.Is(closes[i].err(), websocket.ErrTimeout) {
				t.Fatalf("pair %d: close %v, want ErrTimeout (the handshake timeout set after open)", i, closes[i].err())
			}
		}
	}
	for i, p := range pairs {
		if i%3 != 1 {
			continue
		}
		p.wait(t, 2*idle)
		if closes[i].done() {
			t.Fatalf("pair %d: close ended with %v before the peer answered, though its close timeout is an hour", i, closes[i].err())
		}
		rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
		p.runUntil(func() bool { return rd.done() && closes[i].done() })
		want := websocket.CloseReason{Code: websocket.CloseCode(4000 + i), Reason: fmt.Sprintf("bye %d", i)}
		if closes[i].err() != nil || !errors.Is(rd.err(), websocket.ErrClosed) || p.client.Reason() != want {
			t.Fatalf("pair %d: close %v, client read %v Reason %+v; want nil, ErrClosed, %+v", i, closes[i].err(), rd.err(), p.client.Reason(), want)
		}
	}
	if *shared != copyOf {
		t.Fatalf("SetTimeout changed the caller's Options: %+v, was %+v", *shared, copyOf)
	}
}

// TestBBNetConnLiftsOnlyItsOwnLimit: servers made from one Options with ReadMessageMax 64. One of
// them becomes a NetConn, which reads a 1000-byte message; every other server, and one made after
// the NetConn from the same Options, still fails a 65-byte message with ErrMessageTooBig after
// reading a 64-byte one; and the caller's Options still say 64.
func TestBBNetConnLiftsOnlyItsOwnLimit(t *testing.T) {
	ioc := running(t)
	o := &websocket.Options{ReadMessageMax: 64}
	ctx := context.Background()
	type pair struct {
		client, server *websocket.Stream
	}
	var pairs []pair
	for range 4 {
		c, s, _, _ := openBlocking(t, ioc, nil, o)
		pairs = append(pairs, pair{c, s})
	}
	nc := websocket.NetConn(ctx, pairs[0].server, websocket.OpBinary)
	c, s, _, _ := openBlocking(t, ioc, nil, o)
	pairs = append(pairs, pair{c, s})

	big := bytes.Repeat([]byte("0123456789"), 100)
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		pairs[0].client.SetBinary()
		werr = pairs[0].client.Write(ctx, big)
	})
	got := make([]byte, len(big))
	if _, err := io.ReadFull(nc, got); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("NetConn read of a 1000-byte message: %v (equal %v)", err, bytes.Equal(got, big))
	}
	wg.Wait()
	if werr != nil {
		t.Fatalf("client write: %v", werr)
	}
	for i, p := range pairs[1:] {
		errs := make(chan error, 3)
		wg.Go(func() {
			p.client.SetBinary()
			errs <- p.client.Write(ctx, big[:64])
			errs <- p.client.Write(ctx, big[:65])
			// Reading, the client answers the server's 1009, so that its teardown ends.
			_, err := p.client.Read(ctx, net.NewFlatBuffer(0))
			errs <- err
		})
		var buf net.FlatBuffer
		if n, err := p.server.Read(ctx, &buf); err != nil || n != 64 {
			t.Fatalf("server %d: a 64-byte message read as %d, %v", i+1, n, err)
		}
		if _, err := p.server.Read(ctx, &buf); !errors.Is(err, websocket.ErrMessageTooBig) {
			t.Fatalf("server %d: a 65-byte message read with %v, want ErrMessageTooBig: the NetConn lifted another stream's limit", i+1, err)
		}
		wg.Wait()
		if err := <-errs; err != nil {
			t.Fatalf("client %d: write: %v", i+1, err)
		}
		<-errs // the second write may fail as the server tears the connection down
		if err := <-errs; !errors.Is(err, websocket.ErrClosed) || p.client.Reason().Code != websocket.CloseTooBig {
			t.Fatalf("client %d: read %v, Reason %+v; want ErrClosed with 1009", i+1, err, p.client.Reason())
		}
	}
	if o.ReadMessageMax != 64 {
		t.Fatalf("NetConn changed the caller's Options: ReadMessageMax %d", o.ReadMessageMax)
	}
	// The NetConn's close: the client reads the close frame and reports its code.
	rerr := make(chan error, 1)
	wg.Go(func() {
		_, err := pairs[0].client.Read(ctx, net.NewFlatBuffer(0))
		rerr <- err
	})
	if err := nc.Close(); err != nil {
		t.Fatalf("NetConn Close: %v", err)
	}
	wg.Wait()
	if err := <-rerr; !errors.Is(err, websocket.ErrClosed) || pairs[0].client.Reason().Code != websocket.CloseNormal {
		t.Fatalf("client read after the NetConn's Close: %v, Reason %+v; want ErrClosed and 1000", err, pairs[0].client.Reason())
	}
}

// TestBBSetTimeoutWhileOthersHandshake: streams made from one Options with no timeouts. While one
// server's opening handshake is pending (its client has not sent the request yet), another,
// already open, sets a handshake timeout; a third is made afterwards from the same Options. Only
// the stream that set it is bounded (its close against a silent peer fails with ErrTimeout); the
// other two handshakes wait as long as the context runs, and then complete.
func TestBBSetTimeoutWhileOthersHandshake(t *testing.T) {
	o := &websocket.Options{CloseTimeout: time.Hour}
	a := newBBPair(t, nettest.Options{}, nettest.Options{}, o, o)
	soOpen(t, []*bbPair{a})
	b := newBBPair(t, nettest.Options{}, nettest.Options{}, o, o)
	bAcc := startErr(b.ioc, func(h completion.Handler[error]) { b.server.AsyncAccept(nil, h) })
	for b.ioc.Poll() > 0 { // the handshake starts and waits for the request
	}
	b.ioc.Restart()
	a.server.SetTimeout(websocket.Timeout{Handshake: idle})
	c := newBBPair(t, nettest.Options{}, nettest.Options{}, o, o)
	cAcc := startErr(c.ioc, func(h completion.Handler[error]) { c.server.AsyncAccept(nil, h) })
	cl := startErr(a.ioc, func(h completion.Handler[error]) { a.server.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
	a.runBounded(t, "close of the stream that set a timeout", cl.done)
	if !errors.Is(cl.err(), websocket.ErrTimeout) {
		t.Fatalf("the close of the stream that set a handshake timeout: %v, want ErrTimeout", cl.err())
	}
	for _, x := range []struct {
		name string
		p    *bbPair
		acc  *rec[error]
	}{{"pending before SetTimeout", b, bAcc}, {"made after SetTimeout", c, cAcc}} {
		x.p.wait(t, 3*idle)
		if x.acc.done() {
			t.Fatalf("%s: the server's handshake ended (%v) with no request: another stream's timeout reached it", x.name, x.acc.err())
		}
		hs := startErr(x.p.ioc, func(h completion.Handler[error]) { x.p.client.AsyncHandshake("example.com", "/", nil, h) })
		x.p.runUntil(func() bool { return hs.done() && x.acc.done() })
		if hs.err() != nil || x.acc.err() != nil {
			t.Fatalf("%s: handshake %v, accept %v", x.name, hs.err(), x.acc.err())
		}
	}
}
