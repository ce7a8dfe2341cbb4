package websocket

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

// TestRoundTrip sends messages of every length class both ways, text and binary, whole and cut
// into frames, over ends that move all at once or one byte at a time.
func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 1 << 20}
	for _, size := range sizes {
		for _, binary := range []bool{false, true} {
			for _, frag := range []bool{false, true} {
				for _, oneByte := range []bool{false, true} {
					if oneByte && size > 65536 {
						continue // a byte at a time, 1 MiB takes minutes and proves nothing more
					}
					name := fmt.Sprintf("size=%d/binary=%v/autofragment=%v/onebyte=%v", size, binary, frag, oneByte)
					t.Run(name, func(t *testing.T) {
						o := nettest.Options{}
						if oneByte {
							o = nettest.Options{ReadSize: 1, WriteSize: 1}
						}
						p := newPair(t, o, o, &Options{AutoFragment: frag, WriteBufferBytes: 1000})
						msg := bytes.Repeat([]byte("é"), size/2)
						if size%2 == 1 {
							msg = append(msg, 'x')
						}
						for _, dir := range [][2]*Stream{{p.client, p.server}, {p.server, p.client}} {
							w, r := dir[0], dir[1]
							if binary {
								w.SetBinary()
							}
							var buf net.FlatBuffer
							wr := start(t, func(h completion.Handler[net.IOResult]) { w.AsyncWrite(msg, h) })
							rr := start(t, func(h completion.Handler[net.IOResult]) { r.AsyncRead(&buf, h) })
							p.run()
							if wr.r != (net.IOResult{N: size}) || rr.r != (net.IOResult{N: size}) {
								t.Fatalf("write %+v, read %+v; want %d bytes each", wr.r, rr.r, size)
							}
							if !bytes.Equal(buf.Bytes(), msg) {
								t.Fatal("the message read differs from the one written")
							}
							if r.GotBinary() != binary || r.GotText() == binary || !r.IsMessageDone() {
								t.Fatalf("GotBinary %v GotText %v IsMessageDone %v", r.GotBinary(), r.GotText(), r.IsMessageDone())
							}
						}
					})
				}
			}
		}
	}
}

// TestWriteSomeFragments writes a text message in pieces that cut a multibyte character, and reads
// it piece by piece with AsyncReadSome.
func TestWriteSomeFragments(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	msg := []byte("a€b") // € is E2 82 AC
	parts := [][]byte{msg[:2], msg[2:3], {}, msg[3:]}
	for i, part := range parts {
		w := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWriteSome(i == len(parts)-1, part, h) })
		p.run()
		if w.r != (net.IOResult{N: len(part)}) {
			t.Fatalf("part %d: %+v", i, w.r)
		}
	}
	var got []byte
	for !got2done(p, &got, t) {
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("read %q, want %q", got, msg)
	}
}

// got2done reads once with AsyncReadSome into a small buffer, appends what came, and reports
// whether the message ended.
func got2done(p *wsPair, got *[]byte, t *testing.T) bool {
	b := make([]byte, 2)
	r := start(t, func(h completion.Handler[net.IOResult]) { p.server.AsyncReadSome(b, h) })
	p.run()
	if r.r.Err != nil {
		t.Fatal(r.r.Err)
	}
	*got = append(*got, b[:r.r.N]...)
	return p.server.IsMessageDone()
}

// TestWriteMasksACopy checks that a client never changes the caller's bytes and that its frames
// carry a mask, a different key each frame.
func TestWriteMasksACopy(t *testing.T) {
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	msg := []byte("unchanged payload")
	orig := bytes.Clone(msg)
	for range 2 {
		start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
		p.run()
	}
	if !bytes.Equal(msg, orig) {
		t.Fatal("the caller's bytes were modified")
	}
	wire := p.sEnd.Unread()
	f1, n1, err1 := parseHeader(wire, roleServer, false)
	f2, _, err2 := parseHeader(wire[n1+len(msg):], roleServer, false)
	if err1 != nil || err2 != nil || !f1.masked || f1.key == f2.key {
		t.Fatalf("frames %+v %+v (%v %v): want masked frames with fresh keys", f1, f2, err1, err2)
	}
}

// TestWriteFault fails the Nth operation of the writer's end, for every N the write needs.
func TestWriteFault(t *testing.T) {
	msg := bytes.Repeat([]byte("x"), 5000)
	for n := 1; ; n++ {
		fc := nettest.NewFailCount(n, nil)
		p := newPair(t, nettest.Options{Fail: fc, WriteSize: 1500}, nettest.Options{}, &Options{AutoFragment: true})
		w := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
		p.run()
		if !w.done {
			t.Fatalf("n=%d: the write never completed", n)
		}
		if w.r.Err == nil {
			if n < 3 {
				t.Fatalf("n=%d: succeeded in fewer writes than the frames need", n)
			}
			return
		}
		if !errors.Is(w.r.Err, nettest.ErrInjected) || p.client.IsOpen() {
			t.Fatalf("n=%d: %v, open %v; want ErrInjected and a failed stream", n, w.r.Err, p.client.IsOpen())
		}
		again := start(t, func(h completion.Handler[net.IOResult]) { p.client.AsyncWrite(msg, h) })
		p.run()
		if !errors.Is(again.r.Err, nettest.ErrInjected) {
			t.Fatalf("n=%d: the write after the fault got %v", n, again.r.Err)
		}
	}
}

// TestWriteAllocs checks that a message written and read in steady state allocates nothing.
func TestWriteAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops at random under the race detector: counted in the build without it")
	}
	p := newPair(t, nettest.Options{}, nettest.Options{}, nil)
	msg := bytes.Repeat([]byte("a"), 1024)
	buf := net.NewFlatBuffer(0)
	var w, r net.IOResult
	wh := completion.Callback(func(x net.IOResult) { w = x })
	rh := completion.Callback(func(x net.IOResult) { r = x })
	once := func() {
		buf.Consume(buf.Size())
		p.client.AsyncWrite(msg, wh)
		p.server.AsyncRead(buf, rh)
		p.run()
	}
	once()
	// IOContext.Run allocates per call, by design; the message must add nothing to that.
	runOnly := testing.AllocsPerRun(100, p.run)
	allocs := testing.AllocsPerRun(100, once)
	switch {
	case gid.Known && allocs != runOnly:
		t.Errorf("%v allocations per message and Run, against %v for Run alone; want the same", allocs, runOnly)
	case !gid.Known && allocs > runOnly+8:
		// Without goroutine identity (beastgo_nogid) an inner operation's completion cannot be known
		// to run on the step executor, so it is posted as a closure: about one allocation per
		// operation on the next layer, a handful per message, never more.
		t.Errorf("%v allocations per message and Run without goroutine identity, against %v for Run alone; want at most 8 more", allocs, runOnly)
	}
	if w.Err != nil || r.Err != nil || r.N != len(msg) {
		t.Fatalf("write %+v read %+v", w, r)
	}
}
