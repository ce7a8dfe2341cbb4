package websocket

import (
	"bufio"
	"bytes"
	"net/http"
	"sync"

	"github.com/beastgo/beast/net"
)

// serverBuffers are a server handshake's scratch memory: the request as read, the reader that
// parses it, and the response as written. None of it outlives the handshake, so it comes from a
// pool and goes back when the handshake ends. A server accepting many connections would otherwise
// make about 5 KiB of garbage per connection (the parser's 4 KiB bufio.Reader the most), and
// the collector lets the heap, and the process's RSS, grow by that garbage before it collects:
// what an idle connection costs in memory is what it keeps plus a share of what its handshake
// threw away.
type serverBuffers struct {
	req    net.FlatBuffer // the request, when the limit is the default one
	parsed http.Request   // the request as parseUpgradeHead reads it
	src    bytes.Reader
	br     *bufio.Reader // reads src, for http.ReadRequest
	resp   []byte
}

// serverBuffersKeep is the most storage a request or response buffer may hold to go back to the
// pool: a rare large request should not pin its memory in every pooled set.
const serverBuffersKeep = 4 << 10

var serverBuffersPool = sync.Pool{New: func() any {
	b := &serverBuffers{req: *net.NewFlatBuffer(hsDefaultMaxRequestBytes)}
	b.parsed.Header = make(http.Header, len(keptHeaders))
	b.br = bufio.NewReaderSize(&b.src, 4096)
	return b
}}

// getServerBuffers takes a set from the pool.
func getServerBuffers() *serverBuffers { return serverBuffersPool.Get().(*serverBuffers) }

// release empties b and gives it back to the pool, unless a large request or response grew it.
func (b *serverBuffers) release() {
	if b.req.Cap() > serverBuffersKeep || cap(b.resp) > serverBuffersKeep {
		return
	}
	b.req.Consume(b.req.Size())
	b.resp = b.resp[:0]
	serverBuffersPool.Put(b)
}

// parseRequest parses head, an HTTP request head read whole: an ordinary upgrade request into
// b's own http.Request (parseUpgradeHead), valid until b is released, and any other with
// http.ReadRequest and b's reader. The request's body, if it declared one, is cut off
// (http.NoBody): it would read from b after b is reused, and the handshake never reads it.
func (b *serverBuffers) parseRequest(head []byte) (*http.Request, error) {
	if parseUpgradeHead(head, &b.parsed) {
		return &b.parsed, nil
	}
	b.src.Reset(head)
	b.br.Reset(&b.src)
	req, err := http.ReadRequest(b.br)
	b.br.Reset(&b.src)
	b.src.Reset(nil)
	if req != nil {
		req.Body = http.NoBody
	}
	return req, err
}
