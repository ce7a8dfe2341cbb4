package benchcases

import (
	"io"
	stdnet "net"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	beastnet "github.com/beastgo/beast/net"
)

// Net returns the network comparisons: 1 KiB round trips on 32 loopback connections, served by
// beastgo in three set-ups and by Go's net package with a goroutine per connection end, and 64 KiB
// writes streamed over one connection.
func Net() []Case {
	perCore := runtime.GOMAXPROCS(0)
	return []Case{
		{Group: "net-rtt", Name: "Go net, a goroutine per connection end", Unit: "round trip", Baseline: true, Bench: RoundTripsGoNet},
		{Group: "net-rtt", Name: "IOContext, one Run goroutine", Unit: "round trip", Bench: func(b *testing.B) { RoundTrips(b, 1) }},
		{Group: "net-rtt", Name: "IOContext, two Run goroutines", Unit: "round trip", Bench: func(b *testing.B) { RoundTrips(b, 2) }},
		{Group: "net-rtt", Name: "an IOContext per core", Unit: "round trip", Bench: func(b *testing.B) { RoundTripsPerContext(b, perCore) }},
		{Group: "net-stream", Name: "Go net", Unit: "64 KiB", Baseline: true, Bench: ThroughputGoNet},
		{Group: "net-stream", Name: "IOContext", Unit: "64 KiB", Bench: Throughput},
	}
}

var loopback = netip.MustParseAddrPort("127.0.0.1:0")

const (
	rttConns = 32
	rttSize  = 1 << 10
	// rttReadBuf is the read buffer of both sides, in both implementations: larger than a message,
	// as a server's is when it does not know what its peers send.
	rttReadBuf = 4 << 10
)

// loopGate shares b.Loop between the chains of callbacks that drive a benchmark: once it has said
// no, it keeps saying no (b.Loop must not be called after it returned false).
type loopGate struct {
	b    *testing.B
	mu   sync.Mutex
	done bool
}

func (g *loopGate) next() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done || !g.b.Loop() {
		g.done = true
		return false
	}
	return true
}

// echoer echoes what it reads on s, a message at a time, until an error.
type echoer struct {
	s     *beastnet.TCPSocket
	buf   []byte
	read  completion.Func[beastnet.IOResult]
	wrote completion.Func[beastnet.IOResult]
	n, w  int
}

func startEcho(s *beastnet.TCPSocket, size int) {
	e := &echoer{s: s, buf: make([]byte, size)}
	e.read = func(r beastnet.IOResult) {
		if r.Err != nil {
			return
		}
		e.n, e.w = r.N, 0
		e.s.AsyncWriteSome(e.buf[:e.n], e.wrote)
	}
	e.wrote = func(r beastnet.IOResult) {
		if r.Err != nil {
			return
		}
		if e.w += r.N; e.w < e.n {
			e.s.AsyncWriteSome(e.buf[e.w:e.n], e.wrote)
			return
		}
		e.s.AsyncReadSome(e.buf, e.read)
	}
	s.AsyncReadSome(e.buf, e.read)
}

// pinger sends a message and reads its echo back, once per iteration of the gate.
type pinger struct {
	s         *beastnet.TCPSocket
	msg, back []byte
	got, sent int
	gate      *loopGate
	onWrite   completion.Func[beastnet.IOResult]
	onRead    completion.Func[beastnet.IOResult]
	finished  func()
}

func (p *pinger) round() {
	if !p.gate.next() {
		p.finished()
		return
	}
	p.sent, p.got = 0, 0
	p.s.AsyncWriteSome(p.msg, p.onWrite)
}

func newPinger(s *beastnet.TCPSocket, gate *loopGate, finished func()) *pinger {
	p := &pinger{s: s, msg: make([]byte, rttSize), back: make([]byte, rttReadBuf), gate: gate, finished: finished}
	p.onWrite = func(r beastnet.IOResult) {
		if r.Err != nil {
			gate.b.Error(r.Err)
			return
		}
		if p.sent += r.N; p.sent < len(p.msg) {
			p.s.AsyncWriteSome(p.msg[p.sent:], p.onWrite)
			return
		}
		p.s.AsyncReadSome(p.back, p.onRead)
	}
	p.onRead = func(r beastnet.IOResult) {
		if r.Err != nil {
			gate.b.Error(r.Err)
			return
		}
		if p.got += r.N; p.got < len(p.msg) {
			p.s.AsyncReadSome(p.back[p.got:], p.onRead)
			return
		}
		p.round()
	}
	return p
}

// RoundTrips measures 1 KiB round trips over 32 loopback connections served by one IOContext run
// by runners goroutines; ns/op is per round trip.
func RoundTrips(b *testing.B, runners int) {
	gate := &loopGate{b: b}
	b.ReportAllocs()
	b.SetBytes(2 * rttSize)
	ctx := executor.NewIOContext()
	roundTrips(b, ctx, rttConns, gate, runners)
}

// RoundTripsPerContext splits the same connections over contexts IOContexts, each run by one
// goroutine: Asio's io_context-per-core way to use several cores.
func RoundTripsPerContext(b *testing.B, contexts int) {
	gate := &loopGate{b: b}
	b.ReportAllocs()
	b.SetBytes(2 * rttSize)
	var wg sync.WaitGroup
	for i := range contexts {
		conns := rttConns / contexts
		if i < rttConns%contexts {
			conns++
		}
		wg.Go(func() { roundTrips(b, executor.NewIOContext(), conns, gate, 1) })
	}
	wg.Wait()
}

// roundTrips connects conns pairs on ctx and runs round trips on them until the gate closes.
func roundTrips(b *testing.B, ctx *executor.IOContext, conns int, gate *loopGate, runners int) {
	a := beastnet.NewTCPAcceptor(ctx)
	if err := a.Listen(loopback, 0); err != nil {
		b.Fatal(err)
	}
	var clients, servers []*beastnet.TCPSocket
	for range conns {
		c := beastnet.NewTCPSocket(ctx)
		c.AsyncConnect(a.Addr(), completion.Callback(func(err error) {
			if err != nil {
				b.Fatal(err)
			}
		}))
		clients = append(clients, c)
		a.AsyncAccept(nil, completion.Callback(func(r beastnet.AcceptResult) { servers = append(servers, r.Socket) }))
		ctx.Run()
		ctx.Restart()
	}
	a.Close()
	for _, s := range servers {
		startEcho(s, rttReadBuf)
	}
	var live sync.WaitGroup
	live.Add(conns)
	for _, c := range clients {
		p := newPinger(c, gate, live.Done)
		ctx.Post(p.round)
	}
	go func() { // when every chain has stopped, close the sockets: the echoers end, Run returns
		live.Wait()
		ctx.Post(func() {
			for _, s := range append(clients, servers...) {
				s.Close()
			}
		})
	}()
	var wg sync.WaitGroup
	for range runners - 1 {
		wg.Go(func() { ctx.Run() })
	}
	ctx.Run()
	wg.Wait()
}

// RoundTripsGoNet is the same exchange written as a Go programmer would with the net package: a
// goroutine per connection on each side, blocking reads and writes.
func RoundTripsGoNet(b *testing.B) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var servers sync.WaitGroup
	conns := make([]stdnet.Conn, rttConns)
	for i := range conns {
		if conns[i], err = stdnet.Dial("tcp", ln.Addr().String()); err != nil {
			b.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		servers.Go(func() {
			buf := make([]byte, rttReadBuf)
			for {
				n, err := sc.Read(buf)
				if err != nil {
					sc.Close()
					return
				}
				if _, err := sc.Write(buf[:n]); err != nil {
					sc.Close()
					return
				}
			}
		})
	}
	ln.Close()
	b.ReportAllocs()
	b.SetBytes(2 * rttSize)
	next := make(chan int, rttConns)
	for i := range rttConns {
		next <- i
	}
	b.SetParallelism(rttConns / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		c := conns[<-next]
		msg, back := make([]byte, rttSize), make([]byte, rttReadBuf)
		for pb.Next() {
			if _, err := c.Write(msg); err != nil {
				b.Error(err)
				return
			}
			if _, err := io.ReadAtLeast(c, back, len(msg)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for _, c := range conns {
		c.Close()
	}
	servers.Wait()
}

const streamChunk = 64 << 10

// Throughput streams 64 KiB writes over one loopback connection to a reader with a 64 KiB buffer,
// both on one IOContext run by the benchmark goroutine; ns/op is per 64 KiB written and read.
func Throughput(b *testing.B) {
	ctx := executor.NewIOContext()
	a := beastnet.NewTCPAcceptor(ctx)
	if err := a.Listen(loopback, 0); err != nil {
		b.Fatal(err)
	}
	var server *beastnet.TCPSocket
	client := beastnet.NewTCPSocket(ctx)
	client.AsyncConnect(a.Addr(), completion.Callback(func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}))
	a.AsyncAccept(nil, completion.Callback(func(r beastnet.AcceptResult) { server = r.Socket }))
	ctx.Run()
	ctx.Restart()
	a.Close()

	b.ReportAllocs()
	b.SetBytes(streamChunk)
	msg, sink := make([]byte, streamChunk), make([]byte, streamChunk)
	var toRead int // bytes written and not yet read
	var onRead completion.Func[beastnet.IOResult]
	onRead = func(r beastnet.IOResult) {
		if r.Err != nil {
			return // the writer finished and closed
		}
		toRead -= r.N
		server.AsyncReadSome(sink, onRead)
	}
	server.AsyncReadSome(sink, onRead)
	sent := 0
	var onWrite completion.Func[beastnet.IOResult]
	onWrite = func(r beastnet.IOResult) {
		if r.Err != nil {
			b.Error(r.Err)
			return
		}
		toRead += r.N
		if sent += r.N; sent < len(msg) {
			client.AsyncWriteSome(msg[sent:], onWrite)
			return
		}
		sent = 0
		if b.Loop() {
			client.AsyncWriteSome(msg, onWrite)
			return
		}
		client.Close()
		server.Close()
	}
	if b.Loop() {
		client.AsyncWriteSome(msg, onWrite)
	}
	ctx.Run()
}

// ThroughputGoNet is Throughput with the net package, the reader on a goroutine of its own.
func ThroughputGoNet(b *testing.B) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c, err := stdnet.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	sc, err := ln.Accept()
	if err != nil {
		b.Fatal(err)
	}
	ln.Close()
	var reader sync.WaitGroup
	reader.Go(func() {
		sink := make([]byte, streamChunk)
		for {
			if _, err := sc.Read(sink); err != nil {
				return
			}
		}
	})
	b.ReportAllocs()
	b.SetBytes(streamChunk)
	msg := make([]byte, streamChunk)
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	reader.Wait()
	sc.Close()
}
