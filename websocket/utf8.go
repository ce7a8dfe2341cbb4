package websocket

import "unicode/utf8"

// utf8Checker validates a text message as UTF-8 while its bytes arrive, frame by frame and read by
// read (Beast's detail::utf8_checker), so that a read fails with ErrBadFramePayload at the first
// byte that can no longer begin valid UTF-8 rather than after the whole message has been buffered.
// Autobahn's cases 6.x expect that early failure: an overlong form, a surrogate or a code point
// above U+10FFFF is refused at the byte that decides it, not when the sequence ends.
//
// The state is the sequence cut by the end of the last write: how many continuation bytes it
// still needs and the range the next one must fall in (narrower than 0x80..0xBF only right after
// E0, ED, F0 and F4, which is where overlongs, surrogates and code points above U+10FFFF are
// decided). The zero value is ready for a message's first bytes. A checker is owned by the read
// side of one stream and is not safe for concurrent use.
type utf8Checker struct {
	need   uint8 // continuation bytes the cut sequence still needs, 0 to 3
	lo, hi uint8 // the range the next continuation byte must fall in while need > 0
	bad    bool  // an invalid byte was seen; sticky until reset
}

// write checks b as the next bytes of the message. It returns false as soon as the bytes so far
// cannot be the beginning of valid UTF-8, and keeps returning false until reset. A sequence cut
// by the end of b is carried into the next write.
func (c *utf8Checker) write(b []byte) bool {
	if c.bad {
		return false
	}
	b = c.continueSequence(b)
	if c.bad {
		return false
	}
	// The whole of b but a sequence cut by its end goes to utf8.Valid, whose ASCII path reads
	// four words of eight bytes at a time: most text on the wire is ASCII.
	cut := incompleteTail(b)
	if !utf8.Valid(b[:cut]) {
		c.bad = true
		return false
	}
	// What is left is a lead byte and fewer continuation bytes than it needs: checked byte by
	// byte so that a prefix that can never complete (E0 80, ED A0, F4 90) fails now.
	for _, x := range b[cut:] {
		if !c.step(x) {
			return false
		}
	}
	return true
}

// finish reports whether the message, now complete, was valid UTF-8: false after an invalid byte
// or when the message ended inside a sequence. It does not clear the state; call reset before the
// next message.
func (c *utf8Checker) finish() bool {
	return !c.bad && c.need == 0
}

// reset makes the checker ready for a new message.
func (c *utf8Checker) reset() {
	*c = utf8Checker{}
}

// continueSequence feeds the leading bytes of b to the sequence the last write left incomplete,
// and returns the rest of b.
func (c *utf8Checker) continueSequence(b []byte) []byte {
	for c.need > 0 && len(b) > 0 {
		if !c.step(b[0]) {
			return nil
		}
		b = b[1:]
	}
	return b
}

// step advances the state by one byte, the slow path used only at the edges of a write. It
// returns false, and marks the checker bad, when x cannot follow the bytes before it.
func (c *utf8Checker) step(x byte) bool {
	if c.need > 0 {
		if x < c.lo || x > c.hi {
			c.bad = true
			return false
		}
		c.need--
		c.lo, c.hi = 0x80, 0xBF
		return true
	}
	switch {
	case x < 0x80:
		return true
	case x >= 0xC2 && x <= 0xDF:
		c.need, c.lo, c.hi = 1, 0x80, 0xBF
	case x == 0xE0: // below A0 the three bytes would encode a code point under U+0800: overlong
		c.need, c.lo, c.hi = 2, 0xA0, 0xBF
	case x == 0xED: // from A0 the code point would be a surrogate, U+D800..U+DFFF
		c.need, c.lo, c.hi = 2, 0x80, 0x9F
	case x >= 0xE1 && x <= 0xEF:
		c.need, c.lo, c.hi = 2, 0x80, 0xBF
	case x == 0xF0: // below 90 the four bytes would encode a code point under U+10000: overlong
		c.need, c.lo, c.hi = 3, 0x90, 0xBF
	case x >= 0xF1 && x <= 0xF3:
		c.need, c.lo, c.hi = 3, 0x80, 0xBF
	case x == 0xF4: // from 90 the code point would be above U+10FFFF
		c.need, c.lo, c.hi = 3, 0x80, 0x8F
	default: // a lone continuation byte, C0 and C1 (always overlong), F5 and above
		c.bad = true
		return false
	}
	return true
}

// incompleteTail returns where the sequence cut by the end of b begins, or len(b) when b does not
// end inside one. Only the last three bytes need looking at: a sequence is at most four bytes
// long. A byte that cannot lead a sequence is left to utf8.Valid or step to refuse.
func incompleteTail(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
		x := b[i]
		if x < 0x80 {
			return len(b) // ASCII ends any sequence before it
		}
		if x < 0xC0 {
			continue // a continuation byte: the lead byte is further back
		}
		if len(b)-i < sequenceLen(x) {
			return i
		}
		return len(b)
	}
	return len(b)
}

// sequenceLen returns how many bytes a sequence with lead byte x claims to have, judged from its
// high bits alone; 1 for bytes that cannot lead one, which makes incompleteTail leave them alone.
func sequenceLen(x byte) int {
	switch {
	case x >= 0xF8:
		return 1
	case x >= 0xF0:
		return 4
	case x >= 0xE0:
		return 3
	case x >= 0xC0:
		return 2
	}
	return 1
}
