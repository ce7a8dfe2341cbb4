package websocket

// streamExtras is what a Stream keeps for its closing handshake and its control frames: most of
// a stream's life has no use for any of it, so it hangs off one pointer made on first use rather
// than taking four words of every Stream.
type streamExtras struct {
	cl      *closeOp                             // made by the first AsyncClose
	pp      *pingOp                              // made by the first ping or pong
	ka      *pingOp                              // the keep-alive ping's, made by the first
	control func(kind FrameType, payload []byte) // SetControlCallback's function, or nil
}

// extras returns the stream's streamExtras, making them on first use.
func (s *Stream) extras() *streamExtras {
	if s.x == nil {
		s.x = new(streamExtras)
	}
	return s.x
}
