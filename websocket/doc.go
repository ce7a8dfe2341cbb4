// Package websocket is RFC 6455 over any beastgo stream: Beast's websocket::stream in Go.
//
// A [Stream] runs over a next layer, any net.AsyncStream: a net.TCPSocket, a net.ConnStream over
// crypto/tls (net.FromConn), or a nettest pair in tests. [NewStream] makes one, configured by
// [Options], and the opening handshake opens it: [Stream.AsyncHandshake] as a client,
// [Stream.AsyncAccept] or [Stream.AsyncAcceptRequest] as a server, or [Upgrade] from a net/http
// handler. [HandshakeOptions] and [AcceptOptions] hold the subprotocols (the server's order
// wins), the decorators of the request and the response, and the server's Origin check, on by
// default. Every failure of the handshake matches [ErrHandshake], and a server answers a refused
// request with its status.
//
// [Stream.AsyncWrite] and [Stream.AsyncWriteSome] write a message or a part of one, text or binary
// ([Stream.SetText], [Stream.SetBinary]); [Stream.AsyncRead] and [Stream.AsyncReadSome] read them,
// checking every frame and the UTF-8 of text as the bytes arrive. One read and one write may be in
// flight at once; a second of a kind fails with [ErrOperationInProgress]. A read answers pings by
// itself, and answers a violation of the protocol by the peer with the violation's close code,
// then fails with an error under [ErrProtocol]. [Stream.AsyncPing], [Stream.AsyncPong] and
// [Stream.SetControlCallback] cover the other control frames.
//
// [Stream.AsyncClose] runs the closing handshake: it sends a close frame, waits for the peer's,
// and tears the next layer down. A read that receives the peer's close frame answers it in the
// same way and fails with [ErrClosed], as does every operation started once the closing handshake
// has begun; [Stream.Reason] holds the peer's close frame.
//
// A Stream keeps a timer of its own, as Beast's does: [Timeout] bounds the opening and closing
// handshakes and an idle connection, with keep-alive pings ([SuggestedTimeout] gives Beast's
// settings per role), and a close is bounded even without them, by Options.CloseTimeout (5 s by
// default). The first operation to see an expiry fails with [ErrTimeout].
//
// Every Async method is a composed operation: its handler is never called inside the call that
// starts it, and runs on its associated executor, else the stream's (its next layer's), where the
// operation's steps run too. That executor must run one handler at a time: a Strand, or an
// IOContext run by one goroutine. For code written as goroutines, the blocking methods
// ([Stream.Handshake], [Stream.Accept], [Stream.Read], [Stream.Write], [Stream.Close], ...) take
// a context and wait for the Async operation while another goroutine runs the executor, and
// [NetConn] carries the bytes of a net.Conn in messages.
//
// Permessage-deflate (RFC 7692) is not built yet. docs/websocket.md in the repository is the guide: the
// closing handshake drawn out, every Beast name beside its beastgo one, and where and why the
// package departs from Beast.
package websocket
