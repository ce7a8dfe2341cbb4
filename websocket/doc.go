// Package websocket is RFC 6455 over any beastgo stream: Beast's websocket::stream in Go.
//
// This package holds the protocol's frame layer, usable and testable without a socket: the
// close codes ([CloseCode]) and the protocol violations ([ErrProtocol] and the errors under it).
package websocket
