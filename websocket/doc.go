// Package websocket is RFC 6455 over any beastgo stream: Beast's websocket::stream in Go.
//
// [Stream] carries messages over a next layer (any net.AsyncStream: a TCPSocket, a ConnStream over
// crypto/tls, a nettest pair): [Stream.AsyncWrite] and [Stream.AsyncWriteSome] write a message or
// a frame of one, [Stream.AsyncRead] and [Stream.AsyncReadSome] read them, checking every rule of
// RFC 6455 section 5 and UTF-8 in text messages as the bytes arrive, answering pings and reporting
// the peer's close frame with [ErrClosed] and [Stream.Reason]. Each operation is a composed
// operation over the next layer's AsyncReadSome and AsyncWriteSome, whose handler is never called
// inside the call that starts it.
//
// A Stream opens with the opening handshake: [Stream.AsyncHandshake] as a client,
// [Stream.AsyncAccept] or [Stream.AsyncAcceptRequest] as a server, or [Upgrade] from a net/http
// handler (through Hijack), each failure under [ErrHandshake] and a refused request answered with
// its status (400, 426, 403, 431). The close handshake (AsyncClose), pings sent by the user,
// timeouts and permessage-deflate are not built yet.
//
// Beneath both is the frame layer, usable and testable without a socket: frame headers, masking
// in place, UTF-8 checked incrementally, close payloads ([CloseReason], [CloseCode]), and the
// protocol violations ([ErrProtocol] and the errors under it, each with the close code that
// answers it).
package websocket
