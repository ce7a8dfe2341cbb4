// Package net is beastgo's I/O layer: non-blocking sockets and timers served by an epoll reactor
// that runs inside IOContext.Run, Asio-style, so one goroutine serves many connections with no
// goroutine per connection and none per pending operation.
//
// Every operation takes a completion.Handler and completes exactly once, on the handler's
// associated executor (the I/O object's executor when it has none), never inside the call that
// started it. Operations are tried at once (a speculative read or write); only when the kernel
// says EAGAIN do they wait in the reactor.
//
// Off Linux the same API works through a portable path over Go's net package, with goroutines
// that Close stops and waits for; the build tag beastgo_portable selects it on Linux too.
//
// # Streams
//
// The stream concepts are small interfaces, so that a websocket stream, a composed helper or a
// user's protocol layers over any of them: [TCPSocket], [FromConn] over any net.Conn (crypto/tls,
// net.Pipe), package nettest's in-memory pair, or another layer.
//
//   - [AsyncReadStream] reads (AsyncReadSome) and names the executor its operations complete on;
//     [AsyncRead] and [AsyncReadUntil] need nothing more, so a websocket's reading side needs no
//     writer.
//   - [AsyncWriteStream] writes (AsyncWriteSome) and names its executor; [AsyncWrite] writes all of
//     a buffer over one. [AsyncStream] is both.
//   - [AsyncBuffersWriteStream] adds a gather write (AsyncWriteSomeBuffers): several buffers in
//     one operation, one writev(2) on a socket, so a frame's header and payload leave together
//     without being copied into one buffer. [AsyncWriteBuffers] writes all of several buffers,
//     with gather writes when the stream has them and buffer after buffer when it does not.
//   - [AsyncTeardown] ends a connection as a websocket close ends: it shuts the sending side down
//     (a TCP FIN, TLS's close_notify), reads and discards until the peer's end of stream, and
//     closes, over any stream with Shutdown and Close; a stream with a teardown of its own
//     implements [AsyncTeardowner].
//
// Each stream takes one read and one write at a time; the composed helpers keep to that, and
// their steps run on the stream's executor.
package net
