//go:build linux && !beastgo_portable

// The measurement is of the epoll reactor's sockets, which hold no goroutine per connection; on
// the portable path each socket has two goroutines, whose stacks are not heap.

package websocket

import (
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/net"
)

// idleConns is how many connections TestIdleConnectionMemory opens at once: enough that the
// per-connection figures are not lost in the noise of the runtime's own allocations.
const idleConns = 1000

// TestIdleConnectionMemory measures the heap held by idle WebSocket connections over loopback
// TCP, 1000 at a time, and logs it per connection end: a TCP socket alone, a socket with a read
// pending, and a server and a client Stream after the handshake with a read pending. It also
// logs the sizes of Stream and of the operation states it embeds, field by field. The figures are
// for people (go test -run IdleConnectionMemory -v ./websocket/); what the test checks is that the
// measurement holds together: each Stream is a heap object of at least unsafe.Sizeof(Stream{})
// bytes, and an idle connection holds no goroutine.
func TestIdleConnectionMemory(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < 2*idleConns+100 {
		t.Skipf("the open file limit %d is too low for %d connections", lim.Cur, idleConns)
	}
	ioc := executor.NewIOContext()
	acc := net.NewTCPAcceptor(ioc)
	if err := acc.Listen(netip.MustParseAddrPort("127.0.0.1:0"), 0); err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	m := &idleMeter{t: t, ioc: ioc, acc: acc}
	// Made before any measurement, so that none of them counts the test's own bookkeeping.
	m.clients = make([]*net.TCPSocket, idleConns)
	m.servers = make([]*net.TCPSocket, idleConns)
	m.cStreams = make([]*Stream, idleConns)
	m.sStreams = make([]*Stream, idleConns)
	m.bufs = make([]*net.FlatBuffer, 2*idleConns)
	for i := range m.bufs {
		m.bufs[i] = net.NewFlatBuffer(0)
	}
	m.scratch = make([]byte, idleConns)

	// A first round grows what the reactor keeps per descriptor number (its table of
	// descriptors), so that the rounds measured count only what each connection adds; the
	// kernel gives the same numbers out again.
	m.connect()
	m.closeAll()

	before := m.heap()
	m.connect()
	socket := m.perEnd(before, 2)
	m.closeAll()

	before = m.heap()
	m.connect()
	var rawRead [1]byte // no byte ever arrives: every read stays pending until the close
	noop := completion.Callback(func(net.IOResult) {})
	for i := range idleConns {
		m.clients[i].AsyncReadSome(rawRead[:], noop)
		m.servers[i].AsyncReadSome(rawRead[:], noop)
	}
	pendingSocket := m.perEnd(before, 2)
	m.closeAll()

	// Server Streams alone: the client ends are bare sockets that write an upgrade request and
	// read the response, so that what is left per connection is two sockets and one Stream.
	before = m.heap()
	m.connect()
	m.acceptRaw()
	for i, s := range m.sStreams {
		s.AsyncRead(m.bufs[i], noop)
	}
	serverPair := m.perEnd(before, 1)
	m.closeAll()

	// Both ends Streams, opened by their handshakes.
	before = m.heap()
	m.connect()
	m.handshake()
	for i := range idleConns {
		m.sStreams[i].AsyncRead(m.bufs[i], noop)
		m.cStreams[i].AsyncRead(m.bufs[idleConns+i], noop)
	}
	bothPair := m.perEnd(before, 1)
	goroutines := runtime.NumGoroutine()
	m.closeAll()

	// The same after a message each way: what a connection that has been used keeps while idle.
	before = m.heap()
	m.connect()
	m.handshake()
	m.exchange()
	for i := range idleConns {
		m.sStreams[i].AsyncRead(m.bufs[i], noop)
		m.cStreams[i].AsyncRead(m.bufs[idleConns+i], noop)
	}
	usedPair := m.perEnd(before, 1)
	m.closeAll()

	serverStream := serverPair.heap - 2*socket.heap
	clientStream := bothPair.heap - serverPair.heap
	t.Logf("heap per connection end, %d connections over loopback TCP, %s/%s, %s:", idleConns, runtime.GOOS, runtime.GOARCH, runtime.Version())
	t.Logf("  TCP socket, idle:                          %5.0f B", socket.heap)
	t.Logf("  TCP socket, read pending:                  %5.0f B", pendingSocket.heap)
	t.Logf("  server Stream, read pending (no socket):   %5.0f B", serverStream)
	t.Logf("  client Stream, read pending (no socket):   %5.0f B", clientStream)
	t.Logf("  server end (socket + Stream):              %5.0f B", socket.heap+serverStream)
	t.Logf("  client end (socket + Stream):              %5.0f B", socket.heap+clientStream)
	t.Logf("  after a message each way, both ends:      +%5.0f B per connection", usedPair.heap-bothPair.heap)
	t.Logf("  stack per connection end (no goroutines):  %5.0f B", bothPair.stack/2)
	t.Logf("  (the read's destination, an empty FlatBuffer of %d B per Stream, is the caller's and not counted)", unsafe.Sizeof(net.FlatBuffer{}))
	logLayout(t, reflect.TypeFor[Stream]())
	logLayout(t, reflect.TypeFor[readOp]())
	logLayout(t, reflect.TypeFor[writeOp]())
	logLayout(t, reflect.TypeFor[composed.Op[net.IOResult]]())
	logLayout(t, reflect.TypeFor[handshakeState]())

	// Each Stream is a heap object of its own: a measurement that finds less than its size per
	// Stream has measured something else.
	size := float64(unsafe.Sizeof(Stream{}))
	if serverStream < size || clientStream < size {
		t.Errorf("measured %.0f B per server Stream and %.0f B per client Stream, below unsafe.Sizeof(Stream{}) = %.0f B", serverStream, clientStream, size)
	}
	// What an idle connection holds that its use does not free (the iovec array of a gather
	// write, a write's or a read's state) would show here.
	if usedPair.heap > bothPair.heap+64 {
		t.Errorf("a connection that sent a message each way holds %.0f B more per connection than one that did not", usedPair.heap-bothPair.heap)
	}
	// The idle server end's budget (docs/websocket.md): a Stream must stay within the 240-byte
	// size class for a server's idle connection to stay under 1 KiB. A field added to Stream past
	// that has to move something else out of it (into a state made on first use).
	if unsafe.Sizeof(Stream{}) > 240 && unsafe.Sizeof(uintptr(0)) == 8 {
		t.Errorf("unsafe.Sizeof(Stream{}) = %d B, over the 240 B that keeps a server's idle connection under 1 KiB", unsafe.Sizeof(Stream{}))
	}
	if goroutines > runtime.NumGoroutine()+idleConns/10 {
		t.Errorf("%d goroutines with %d idle connections open, %d after they closed: a goroutine per connection", goroutines, idleConns, runtime.NumGoroutine())
	}
}

// idleMeter opens and closes the connections TestIdleConnectionMemory measures.
type idleMeter struct {
	t                  *testing.T
	ioc                *executor.IOContext
	acc                *net.TCPAcceptor
	clients, servers   []*net.TCPSocket
	cStreams, sStreams []*Stream
	bufs               []*net.FlatBuffer
	scratch            []byte // a byte per connection for exchange's reads
}

// usage is heap and stack in use, per connection end once perEnd has divided it.
type usage struct{ heap, stack float64 }

// heap returns the live heap and the stacks in use, after collecting everything else.
func (m *idleMeter) heap() usage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{float64(ms.HeapAlloc), float64(ms.StackInuse)}
}

// perEnd returns what was added since before, per connection divided by ends.
func (m *idleMeter) perEnd(before usage, ends int) usage {
	after := m.heap()
	n := float64(idleConns * ends)
	return usage{(after.heap - before.heap) / n, (after.stack - before.stack) / n}
}

// run runs the context until it is out of work, failing the test on an error kept in errs.
func (m *idleMeter) run(what string, errs []error) {
	m.ioc.Run()
	m.ioc.Restart()
	for i, err := range errs {
		if err != nil {
			m.t.Fatalf("%s %d: %v", what, i, err)
		}
	}
}

// connect opens idleConns loopback connections.
func (m *idleMeter) connect() {
	errs := make([]error, 2)
	for i := range idleConns {
		m.clients[i] = net.NewTCPSocket(m.ioc)
		m.clients[i].AsyncConnect(m.acc.Addr(), completion.Callback(func(err error) { errs[0] = err }))
		m.acc.AsyncAccept(nil, completion.Callback(func(r net.AcceptResult) { m.servers[i], errs[1] = r.Socket, r.Err }))
		m.run("connection", errs)
	}
}

// rawUpgrade is a client's upgrade request, written by a bare socket.
const rawUpgrade = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// acceptRaw opens a server Stream on every server end, answering an upgrade request that the
// client end writes and whose response it reads as bare bytes.
func (m *idleMeter) acceptRaw() {
	errs := make([]error, 3*idleConns)
	for i := range idleConns {
		m.sStreams[i] = NewStream(m.servers[i], nil)
		m.sStreams[i].AsyncAccept(nil, completion.Callback(func(err error) { errs[3*i] = err }))
		c := m.clients[i]
		net.AsyncWrite(c, []byte(rawUpgrade), completion.Callback(func(r net.IOResult) {
			if errs[3*i+1] = r.Err; r.Err == nil {
				resp := net.NewFlatBuffer(4096)
				net.AsyncReadUntil(c, resp, []byte("\r\n\r\n"), completion.Callback(func(r net.IOResult) {
					errs[3*i+2] = r.Err
					if r.Err == nil && !strings.HasPrefix(string(resp.Bytes()), "HTTP/1.1 101") {
						errs[3*i+2] = fmt.Errorf("response %q", resp.Bytes())
					}
				}))
			}
		}))
	}
	m.run("raw handshake", errs)
}

// handshake opens a client and a server Stream on every connection with their handshakes.
func (m *idleMeter) handshake() {
	errs := make([]error, 2*idleConns)
	for i := range idleConns {
		m.sStreams[i] = NewStream(m.servers[i], nil)
		m.cStreams[i] = NewStream(m.clients[i], nil)
		m.sStreams[i].AsyncAccept(nil, completion.Callback(func(err error) { errs[2*i] = err }))
		m.cStreams[i].AsyncHandshake("localhost", "/", nil, completion.Callback(func(err error) { errs[2*i+1] = err }))
	}
	m.run("handshake", errs)
}

// exchange sends a one-byte message each way on every connection, read by AsyncReadSome into a
// byte of m.scratch, so that the Streams have done what a used connection has (a client's first
// masked write makes its write buffer) without the caller's buffers growing.
func (m *idleMeter) exchange() {
	errs := make([]error, 4*idleConns)
	msg := []byte("x")
	for i := range idleConns {
		m.sStreams[i].AsyncReadSome(m.scratch[i:i+1], completion.Callback(func(r net.IOResult) { errs[4*i] = r.Err }))
		m.cStreams[i].AsyncWrite(msg, completion.Callback(func(r net.IOResult) { errs[4*i+1] = r.Err }))
	}
	m.run("message from the client", errs)
	for i := range idleConns {
		m.cStreams[i].AsyncReadSome(m.scratch[i:i+1], completion.Callback(func(r net.IOResult) { errs[4*i+2] = r.Err }))
		m.sStreams[i].AsyncWrite(msg, completion.Callback(func(r net.IOResult) { errs[4*i+3] = r.Err }))
	}
	m.run("message from the server", errs)
}

// closeAll closes every socket, lets the pending reads complete, and forgets the connections.
func (m *idleMeter) closeAll() {
	for i := range idleConns {
		m.clients[i].Close()
		m.servers[i].Close()
	}
	m.ioc.Run()
	m.ioc.Restart()
	clear(m.clients)
	clear(m.servers)
	clear(m.cStreams)
	clear(m.sStreams)
	for _, b := range m.bufs {
		b.Consume(b.Size())
	}
}

// logLayout logs t's size and each field's offset and size.
func logLayout(t *testing.T, typ reflect.Type) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d B", typ, typ.Size())
	for f := range typ.Fields() {
		fmt.Fprintf(&b, "\n    %-12s %5d B  at %4d  %s", f.Name, f.Type.Size(), f.Offset, f.Type)
	}
	t.Log(b.String())
}
