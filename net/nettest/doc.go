// Package nettest is an in-memory connection for tests of code written over beastgo's streams:
// Beast's test::stream. [NewPair] returns the two ends of a connection; each is a
// net.AsyncStream, so a composed operation, a websocket stream or a user's protocol runs over it
// as over a TCP socket, and the test decides what the network does:
//
//   - [FailCount] fails the Nth read or write started (and every one after it) with a chosen
//     error, so a test can walk an operation through every failure point;
//   - Options.ReadSize and Options.WriteSize cut each read or write to at most that many bytes
//     (1: one byte at a time), to exercise the loops that reassemble data; a gather write
//     (AsyncWriteSomeBuffers, net.AsyncBuffersWriteStream) is one write, cut to WriteSize across
//     its buffers and counted once by a FailCount;
//   - Options.Mode chooses whether an operation that can complete at once does so during the
//     initiating call (posted, as a socket's speculative read) or from a later step of the
//     executor (dispatched, as a socket's read woken by the reactor);
//   - Close on either end: the other end reads what was sent and then io.EOF;
//   - Shutdown(net.ShutdownWrite) half-closes an end, as a closing handshake ends: the other end
//     reads io.EOF after what was sent, and the two can still talk the other way. With Close it
//     is what net.AsyncTeardown uses to tear an end down.
//
// The ends keep the rules every beastgo I/O object keeps: each operation completes exactly once,
// on its handler's associated executor, never inside the call that started it; while it is
// pending it counts outstanding work on the executor, so IOContext.Run waits for it; a handler's
// context (completion.WithContext) cancels it. Nothing in the package starts a goroutine: a
// pending operation is finished by a handler posted to the executor when the peer writes or
// closes, or when its context ends.
package nettest
