// Package websocket is RFC 6455 over any beastgo stream: Beast's websocket::stream in Go.
//
// This package holds the protocol's frame layer, usable and testable without a socket: frame
// headers (encoded in their shortest form and parsed with every check of RFC 6455 section 5),
// masking in place, UTF-8 checked as a text message's bytes arrive, close payloads
// ([CloseReason], [CloseCode]), and the protocol violations ([ErrProtocol] and the errors under
// it, each with the close code that answers it).
package websocket
