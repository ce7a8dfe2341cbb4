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
// The stream interfaces [AsyncReadStream], [AsyncWriteStream] and [AsyncStream] are what the
// composed helpers ([AsyncRead], [AsyncWrite], [AsyncReadUntil]) and the websocket package layer
// over; [FromConn] turns any net.Conn (crypto/tls, net.Pipe) into one, and package nettest gives
// tests an in-memory pair with fault injection.
package net
