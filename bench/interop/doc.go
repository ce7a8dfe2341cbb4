// Package interop proves beastgo's websocket.Stream against WebSocket peers written elsewhere:
// gorilla/websocket and coder/websocket (in process), the npm package ws (a Node.js script in
// testdata), and headless Chromium (a page whose script talks to the Stream). It holds tests
// only; docs/interop.md in the repository lists the peers, how each one is run, and what each
// case proves.
//
// Every peer runs the same catalogue of cases, as a client of a Stream serving on loopback TCP
// and, where it can serve, as a server the Stream connects to: messages of the sizes where the
// frame header changes form, fragmented messages, pings both ways, close codes and reasons
// both ways, a peer that drops the connection, and invalid UTF-8 from the peer. The Go peers
// run the catalogue over TLS too.
package interop
