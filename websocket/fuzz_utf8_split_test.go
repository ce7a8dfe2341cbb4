package websocket

import (
	"sort"
	"testing"
	"unicode/utf8"
)

// FuzzUTF8CheckerSplit checks the UTF-8 checker against unicode/utf8 with the input cut at every
// position, byte by byte, and in three writes at fuzzed positions. The oracle is utf8.Valid for
// the whole input, and utf8Prefix (utf8.Valid of the cut sequence completed every possible way)
// for where the checker must first refuse: at the first byte after which no continuation can make
// the text valid (RFC 6455 section 8.1, and Beast's checker, fail the connection there).
func FuzzUTF8CheckerSplit(f *testing.F) {
	for _, s := range []string{
		"", "a", "κόσμε", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe0\x80\xaf", "\xc0\xaf",
		"0123456789abcdef0123456789abcdef\xf0\x9f\x98\x80", "0123456789abcdef0123456789abcde\xf0\x9f\x98\x80x",
		"ascii for thirty-two bytes......\xed\x9f\xbf\xee\x80\x80\xf4\x8f\xbf\xbf", "\xf0\x9f\x98", "a\x80", "\xf8\x88\x80\x80\x80",
	} {
		f.Add([]byte(s), uint8(len(s)/3), uint8(2*len(s)/3))
	}
	f.Fuzz(func(t *testing.T, in []byte, c1, c2 uint8) {
		valid := utf8.Valid(in)
		// The first bad byte: prefixes that can begin valid UTF-8 are closed under shortening,
		// so the first that cannot is found by binary search.
		bad := sort.Search(len(in), func(i int) bool { return !utf8Prefix(in[:i+1]) })
		if bad == len(in) {
			bad = -1
		}
		if valid && bad >= 0 {
			t.Fatalf("%q: valid, yet its prefix of %d bytes cannot begin valid UTF-8", in, bad+1)
		}
		refusedFrom := func(end int) bool { return bad >= 0 && bad < end } // a refusal is due within in[:end]

		var c utf8Checker
		for i := range in {
			if got := c.write(in[i : i+1]); got == refusedFrom(i+1) {
				t.Fatalf("%q one byte at a time: byte %d (%#x) accepted %v, first bad byte %d", in, i, in[i], got, bad)
			}
		}
		if c.finish() != valid {
			t.Fatalf("%q one byte at a time: finish %v, utf8.Valid %v", in, c.finish(), valid)
		}
		for cut := 0; cut <= len(in); cut++ {
			c.reset()
			first := c.write(in[:cut])
			second := c.write(in[cut:])
			if first == refusedFrom(cut) || second == (bad >= 0) || c.finish() != valid {
				t.Fatalf("%q cut at %d: writes %v %v, finish %v; first bad byte %d, utf8.Valid %v", in, cut, first, second, c.finish(), bad, valid)
			}
		}
		i, j := min(int(c1), len(in)), min(int(c2), len(in))
		if i > j {
			i, j = j, i
		}
		c.reset()
		w1, w2, w3 := c.write(in[:i]), c.write(in[i:j]), c.write(in[j:])
		if w1 == refusedFrom(i) || w2 == refusedFrom(j) || w3 == (bad >= 0) || c.finish() != valid {
			t.Fatalf("%q cut at %d and %d: writes %v %v %v, finish %v; first bad byte %d", in, i, j, w1, w2, w3, c.finish(), bad)
		}
	})
}
