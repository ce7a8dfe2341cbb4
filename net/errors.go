package net

import "errors"

// ErrInProgress is the error of a read (or write) started while another read (or write) of the
// same object is pending: each direction takes one operation at a time, as a WebSocket stream
// needs and as keeps every operation allocation-free.
var ErrInProgress = errors.New("net: operation already in progress")

// ErrNotConnected is the error of an operation on a socket that was never connected or an
// acceptor that is not listening.
var ErrNotConnected = errors.New("net: socket is not connected")

// ErrListening is the error of Listen on an acceptor that is already listening.
var ErrListening = errors.New("net: acceptor is already listening")
