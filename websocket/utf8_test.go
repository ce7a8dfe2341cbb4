package websocket

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// utf8Case is one text message: its bytes, whether it is valid UTF-8, and for an invalid one the
// length of its longest prefix that could still begin valid UTF-8, which is where the checker
// must fail (Autobahn 6.x fails the connection at that byte, not at the message's end). A
// message that is invalid only because it is cut short has failAt == len(in): write accepts it
// all and finish refuses it.
type utf8Case struct {
	name   string
	in     string
	valid  bool
	failAt int
}

// utf8Cases follows Autobahn's family 6 (UTF-8 handling) and Markus Kuhn's stress test it is
// drawn from.
var utf8Cases = []utf8Case{
	// 6.1, 6.2: empty and ordinary text.
	{name: "empty", in: "", valid: true},
	{name: "ascii", in: "Hello-µ@ßöäüàá-UTF-8!!", valid: true},
	{name: "kosme", in: "κόσμε", valid: true},
	{name: "long ascii", in: strings.Repeat("abcdefgh", 9) + "x", valid: true},
	// 6.5 and 6.7: the first sequence of each length.
	{name: "U+0000", in: "\x00", valid: true},
	{name: "U+0080", in: "\xc2\x80", valid: true},
	{name: "U+0800", in: "\xe0\xa0\x80", valid: true},
	{name: "U+10000", in: "\xf0\x90\x80\x80", valid: true},
	// 6.8: the last sequence of each length, and the edges around the surrogates.
	{name: "U+007F", in: "\x7f", valid: true},
	{name: "U+07FF", in: "\xdf\xbf", valid: true},
	{name: "U+FFFF", in: "\xef\xbf\xbf", valid: true},
	{name: "U+D7FF", in: "\xed\x9f\xbf", valid: true},
	{name: "U+E000", in: "\xee\x80\x80", valid: true},
	{name: "U+FFFD", in: "\xef\xbf\xbd", valid: true},
	{name: "U+10FFFF", in: "\xf4\x8f\xbf\xbf", valid: true},
	// 6.22: noncharacters are valid UTF-8.
	{name: "U+FFFE", in: "\xef\xbf\xbe", valid: true},
	{name: "U+1FFFF", in: "\xf0\x9f\xbf\xbf", valid: true},
	{name: "U+10FFFE", in: "\xf4\x8f\xbf\xbe", valid: true},
	{name: "mixed", in: "a\u00e9\u4e16\U0001F600z", valid: true},

	// 6.6 and 6.3: valid text followed by one code point above U+10FFFF (F4 90 80 80).
	{name: "kosme then U+110000", in: "κόσμε\xf4\x90\x80\x80x", failAt: len("κόσμε\xf4")},
	// 6.8.1, 6.8.2: five- and six-byte forms, never valid.
	{name: "five bytes", in: "\xf8\x88\x80\x80\x80", failAt: 0},
	{name: "six bytes", in: "\xfc\x84\x80\x80\x80\x80", failAt: 0},
	{name: "U+110000", in: "\xf4\x90\x80\x80", failAt: 1},
	{name: "U+13FFFF", in: "\xf4\xbf\xbf\xbf", failAt: 1},
	{name: "F5 lead", in: "\xf5\x80\x80\x80", failAt: 0},
	{name: "FF", in: "\xff", failAt: 0},
	{name: "FE", in: "a\xfe", failAt: 1},
	// 6.9, 6.10: lone continuation bytes, first, last, several.
	{name: "lone 80", in: "\x80", failAt: 0},
	{name: "lone BF", in: "ab\xbf", failAt: 2},
	{name: "two continuations", in: "\x80\xbf", failAt: 0},
	{name: "continuation after complete 2-byte", in: "\xc2\x80\x80", failAt: 2},
	{name: "continuation after complete 4-byte", in: "\xf0\x90\x80\x80\x80", failAt: 4},
	// 6.11, 6.12: a lead byte followed by a space, or by another lead.
	{name: "C0 space", in: "\xc0 ", failAt: 0},
	{name: "C2 space", in: "\xc2 ", failAt: 1},
	{name: "E1 space", in: "\xe1 ", failAt: 1},
	{name: "E1 80 space", in: "\xe1\x80 ", failAt: 2},
	{name: "F1 80 80 space", in: "\xf1\x80\x80 ", failAt: 3},
	{name: "C2 then C2", in: "\xc2\xc2\x80", failAt: 1},
	{name: "E1 then E1", in: "\xe1\xe1\x80\x80", failAt: 1},
	// 6.14, 6.15: truncated sequences, alone and concatenated.
	{name: "truncated 2", in: "\xdf", failAt: 1},
	{name: "truncated 3 of 1", in: "\xef", failAt: 1},
	{name: "truncated 3 of 2", in: "\xef\xbf", failAt: 2},
	{name: "truncated 4 of 1", in: "\xf4", failAt: 1},
	{name: "truncated 4 of 3", in: "\xf4\x8f\xbf", failAt: 3},
	{name: "truncated after text", in: "κόσμε\xe0\xa0", failAt: len("κόσμε\xe0\xa0")},
	{name: "concatenated truncations", in: "\xc0\xe0\x80\xf0\x80\x80", failAt: 0},
	// 6.16: bytes that never appear.
	{name: "FE FF", in: "\xfe\xff", failAt: 0},
	{name: "FE FE FF FF", in: "\xfe\xfe\xff\xff", failAt: 0},
	// 6.17, 6.18, 6.19: overlong forms, of '/' (2F), of the largest code point each length
	// cannot hold, and of U+0000.
	{name: "overlong / in 2", in: "\xc0\xaf", failAt: 0},
	{name: "overlong / in 3", in: "\xe0\x80\xaf", failAt: 1},
	{name: "overlong / in 4", in: "\xf0\x80\x80\xaf", failAt: 1},
	{name: "overlong U+007F in 2", in: "\xc1\xbf", failAt: 0},
	{name: "overlong U+07FF in 3", in: "\xe0\x9f\xbf", failAt: 1},
	{name: "overlong U+FFFF in 4", in: "\xf0\x8f\xbf\xbf", failAt: 1},
	{name: "overlong NUL in 2", in: "\xc0\x80", failAt: 0},
	{name: "overlong NUL in 3", in: "\xe0\x80\x80", failAt: 1},
	{name: "overlong NUL in 4", in: "\xf0\x80\x80\x80", failAt: 1},
	// 6.20, 6.21: single and paired UTF-16 surrogates, refused at their second byte.
	{name: "U+D800", in: "\xed\xa0\x80", failAt: 1},
	{name: "U+DB7F", in: "\xed\xad\xbf", failAt: 1},
	{name: "U+DB80", in: "\xed\xae\x80", failAt: 1},
	{name: "U+DBFF", in: "\xed\xaf\xbf", failAt: 1},
	{name: "U+DC00", in: "\xed\xb0\x80", failAt: 1},
	{name: "U+DF80", in: "\xed\xbe\x80", failAt: 1},
	{name: "U+DFFF", in: "\xed\xbf\xbf", failAt: 1},
	{name: "U+D800 U+DC00", in: "\xed\xa0\x80\xed\xb0\x80", failAt: 1},
	{name: "U+DBFF U+DFFF", in: "\xed\xaf\xbf\xed\xbf\xbf", failAt: 1},
	{name: "surrogate after long ascii", in: strings.Repeat("x", 20) + "\xed\xa0\x80", failAt: 21},
}

// TestUTF8CheckerCases feeds each case whole, then one byte at a time, and checks both the verdict
// and, byte by byte, that the checker fails exactly where the input stops being a valid prefix.
func TestUTF8CheckerCases(t *testing.T) {
	for _, tc := range utf8Cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := utf8.ValidString(tc.in); got != tc.valid {
				t.Fatalf("table error: utf8.ValidString = %v, case says %v", got, tc.valid)
			}
			var c utf8Checker
			got := c.write([]byte(tc.in)) && c.finish()
			if got != tc.valid {
				t.Errorf("whole: got %v, want %v", got, tc.valid)
			}

			c.reset()
			for i := range len(tc.in) {
				ok := c.write([]byte{tc.in[i]})
				if wantOK := tc.valid || i < tc.failAt; ok != wantOK {
					t.Fatalf("byte %d (%#02x): write = %v, want %v", i, tc.in[i], ok, wantOK)
				}
			}
			if got := c.finish(); got != tc.valid {
				t.Errorf("byte by byte: finish = %v, want %v", got, tc.valid)
			}
		})
	}
}

// TestUTF8CheckerSplits splits every case at every pair of points into three writes, so that
// each multi-byte sequence is cut at each of its boundaries, in the slow path and after an ASCII
// run long enough for the fast path.
func TestUTF8CheckerSplits(t *testing.T) {
	prefixes := []string{"", "0123456789abcdef"}
	for _, tc := range utf8Cases {
		for _, prefix := range prefixes {
			in := []byte(prefix + tc.in)
			for i := 0; i <= len(in); i++ {
				for j := i; j <= len(in); j++ {
					var c utf8Checker
					got := c.write(in[:i])
					got = c.write(in[i:j]) && got
					got = c.write(in[j:]) && got
					got = c.finish() && got
					if got != tc.valid {
						t.Errorf("%s: %q split at %d, %d: got %v, want %v", tc.name, in, i, j, got, tc.valid)
					}
				}
			}
		}
	}
}

// TestUTF8CheckerSticky checks that a failure is not forgotten by a later valid write, and that
// reset forgets it.
func TestUTF8CheckerSticky(t *testing.T) {
	var c utf8Checker
	if c.write([]byte("\xc0\xaf")) {
		t.Fatal("overlong accepted")
	}
	if c.write([]byte("abc")) || c.finish() {
		t.Fatal("a valid write after a failure succeeded")
	}
	c.reset()
	if !c.write([]byte("abc")) || !c.finish() {
		t.Fatal("reset did not clear the failure")
	}
}

// TestUTF8CheckerAgreesWithValid builds random byte strings, biased towards UTF-8-like bytes so
// that valid and nearly valid inputs are common, feeds each in random pieces, and compares the
// verdict with utf8.Valid.
func TestUTF8CheckerAgreesWithValid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := [][]byte{
		[]byte("a"), []byte("hello, world"), []byte("é"), []byte("世"), []byte("😀"),
		{0x80}, {0xbf}, {0xc0}, {0xc2}, {0xe0}, {0xed}, {0xf0}, {0xf4}, {0xf5}, {0xff},
		{0xa0}, {0x90}, {0x8f},
	}
	var valid, invalid int
	for range 20000 {
		var in []byte
		for range rng.IntN(12) {
			if rng.IntN(4) == 0 {
				in = append(in, byte(rng.Uint32()))
			} else {
				in = append(in, pieces[rng.IntN(len(pieces))]...)
			}
		}
		want := utf8.Valid(in)
		if want {
			valid++
		} else {
			invalid++
		}
		var c utf8Checker
		got := true
		for rest := in; len(rest) > 0; {
			n := 1 + rng.IntN(len(rest))
			got = c.write(rest[:n]) && got
			rest = rest[n:]
		}
		if got = c.finish() && got; got != want {
			t.Fatalf("%q: checker says %v, utf8.Valid says %v", in, got, want)
		}
	}
	// Without both kinds in numbers the comparison would say little.
	if valid < 1000 || invalid < 1000 {
		t.Fatalf("poor mix: %d valid, %d invalid", valid, invalid)
	}
}

// TestUTF8CheckerAllocs checks that checking text costs no allocation: it runs for every
// received text frame.
func TestUTF8CheckerAllocs(t *testing.T) {
	text := []byte(strings.Repeat("héllo wörld 世界 ", 64))
	var c utf8Checker
	if n := testing.AllocsPerRun(100, func() {
		c.reset()
		c.write(text[:100])
		c.write(text[100:])
		c.finish()
	}); n != 0 {
		t.Errorf("%v allocations per message, want 0", n)
	}
}

// BenchmarkUTF8Checker measures the checker on pure ASCII, where the fast path should decide
// everything, and on mixed text, in writes of a read's usual sizes; utf8.Valid over the same
// bytes gives the ceiling.
func BenchmarkUTF8Checker(b *testing.B) {
	texts := map[string][]byte{
		"ascii": bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 2000),
		"mixed": bytes.Repeat([]byte("Ünïcödé text: 世界, Κόσμε, 😀 and some ASCII between them. "), 1500),
	}
	for _, name := range []string{"ascii", "mixed"} {
		text := texts[name]
		for _, size := range []int{4096, 65536} {
			b.Run(fmt.Sprintf("%s/write=%dKiB", name, size/1024), func(b *testing.B) {
				b.SetBytes(int64(len(text)))
				b.ReportAllocs()
				var c utf8Checker
				for b.Loop() {
					c.reset()
					for rest := text; len(rest) > 0; {
						n := min(size, len(rest))
						if !c.write(rest[:n]) {
							b.Fatal("valid text refused")
						}
						rest = rest[n:]
					}
					if !c.finish() {
						b.Fatal("valid text refused at the end")
					}
				}
			})
		}
		b.Run(name+"/utf8.Valid", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				if !utf8.Valid(text) {
					b.Fatal("valid text refused")
				}
			}
		})
	}
}
