package websocket

import (
	"sync/atomic"
	"time"
)

// Options configure a Stream. The zero value is useful: messages of up to 16 MiB are read, a
// message is written as one frame, and a client masks through a 4 KiB buffer.
type Options struct {
	// ReadMessageMax is the largest message a read accepts, in bytes; a bigger one fails the read
	// with ErrMessageTooBig as soon as a frame header announces it. 0 means the default, 16 MiB;
	// a negative value means no limit, for a peer trusted not to exhaust memory.
	ReadMessageMax int

	// AutoFragment splits every message written into frames of at most WriteBufferBytes
	// payload bytes, so that control frames (a pong, later a close) can take turns between them
	// instead of waiting for a large message to leave. When false a write sends one frame.
	AutoFragment bool

	// WriteBufferBytes is the size of the buffer a client masks its payload in (a copy, so the
	// caller's bytes are never changed) and the fragment size of AutoFragment. 0 or less means the
	// default, 4096.
	WriteBufferBytes int

	// Timeout sets the handshake and idle timeouts; the zero value has none (see Timeout and
	// SuggestedTimeout). Stream.SetTimeout changes it later.
	Timeout Timeout

	// CloseTimeout bounds the closing handshake when Timeout.Handshake is zero: a peer that never
	// answers a close frame, or never ends its side of the connection after it, cannot keep the
	// stream (and its socket) for ever. 0 or less means the default, 5 s.
	CloseTimeout time.Duration
}

// Defaults of Options' zero fields.
const (
	defaultReadMessageMax   = 16 << 20
	defaultWriteBufferBytes = 4096
	defaultCloseTimeout     = 5 * time.Second
)

// closeTimeout returns the close timeout in effect.
func (o *Options) closeTimeout() time.Duration {
	if o.CloseTimeout <= 0 {
		return defaultCloseTimeout
	}
	return o.CloseTimeout
}

// readLimit returns the message size limit in effect: the largest uint64 when there is none.
func (o *Options) readLimit() uint64 {
	switch {
	case o.ReadMessageMax == 0:
		return defaultReadMessageMax
	case o.ReadMessageMax < 0:
		return 1<<64 - 1
	}
	return uint64(o.ReadMessageMax)
}

// writeBufferBytes returns the write buffer size in effect.
func (o *Options) writeBufferBytes() int {
	if o.WriteBufferBytes <= 0 {
		return defaultWriteBufferBytes
	}
	return o.WriteBufferBytes
}

// zeroOptions is the Options of a Stream made with none, shared by all of them; never changed.
var zeroOptions Options

// lastOptions is the copy of Options that shareOptions made last.
var lastOptions atomic.Pointer[Options]

// shareOptions returns a copy of o for a Stream to keep, one that other streams may share: the
// copy made last is handed out again while the options asked for equal it, so the many streams of
// a server made with the same options (or given the same SetTimeout) hold one copy between them,
// a word of each Stream rather than 56 bytes. Nothing changes a copy once made; a stream that
// changes its options asks for another.
func shareOptions(o Options) *Options {
	if o == (Options{}) {
		return &zeroOptions
	}
	if p := lastOptions.Load(); p != nil && *p == o {
		return p
	}
	p := &o
	lastOptions.Store(p)
	return p
}
