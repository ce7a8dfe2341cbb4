package net

import (
	"bytes"
	"testing"
)

// indexSeq must find what bytes.Index finds in the concatenation, wherever the slices split it.
func TestIndexSeq(t *testing.T) {
	tests := []struct {
		name  string
		seq   []string
		delim string
		from  int
		want  int
	}{
		{"empty sequence", nil, "\n", 0, -1},
		{"one slice", []string{"ab\ncd"}, "\n", 0, 2},
		{"in the second slice", []string{"abc", "de\n"}, "\n", 0, 5},
		{"across two slices", []string{"ab\r", "\ncd"}, "\r\n", 0, 2},
		{"across three slices", []string{"ab\r", "\n", "\r\ncd"}, "\r\n\r\n", 0, 2},
		{"across an empty slice", []string{"ab\r", "", "\ncd"}, "\r\n", 0, 2},
		{"runs off the end", []string{"ab\r", "\n\r"}, "\r\n\r\n", 0, -1},
		{"first of two", []string{"x\r", "\ny\r\n"}, "\r\n", 0, 1},
		{"inside beats later straddle", []string{"\r\nx\r", "\n"}, "\r\n", 0, 0},
		{"from skips earlier matches", []string{"a\nb", "\nc"}, "\n", 2, 3},
		{"from inside a straddle's first slice", []string{"ab\r", "\n"}, "\r\n", 2, 2},
		{"from past a straddle's start", []string{"ab\r", "\n"}, "\r\n", 3, -1},
		{"from in a later slice", []string{"\n\n", "ab\n"}, "\n", 3, 4},
		{"from past the end", []string{"a\n"}, "\n", 5, -1},
		{"overlapping prefixes", []string{"aaa", "ab"}, "aab", 0, 2},
		{"delimiter longer than a slice", []string{"x", "a", "b", "c", "y"}, "abc", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := make([][]byte, len(tt.seq))
			for i, s := range tt.seq {
				seq[i] = []byte(s)
			}
			if got := indexSeq(seq, []byte(tt.delim), tt.from); got != tt.want {
				t.Fatalf("indexSeq(%q, %q, %d) = %d, want %d", tt.seq, tt.delim, tt.from, got, tt.want)
			}
		})
	}
}

// FuzzIndexSeq checks indexSeq against bytes.Index over the joined slices, for any split.
func FuzzIndexSeq(f *testing.F) {
	f.Add([]byte("ab\r\ncd\r\n"), []byte("\r\n"), []byte{3, 1, 2}, uint8(0))
	f.Add([]byte("aaaab"), []byte("aab"), []byte{1, 1, 1, 1}, uint8(1))
	f.Fuzz(func(t *testing.T, data, delim, cuts []byte, from uint8) {
		if len(delim) == 0 {
			return
		}
		var seq [][]byte
		rest := data
		for _, c := range cuts {
			k := min(int(c), len(rest))
			seq = append(seq, rest[:k])
			rest = rest[k:]
		}
		seq = append(seq, rest)
		want := -1
		if f := int(from); f <= len(data) {
			if i := bytes.Index(data[f:], delim); i >= 0 {
				want = f + i
			}
		}
		if got := indexSeq(seq, delim, int(from)); got != want {
			t.Fatalf("indexSeq(%q, %q, %d) = %d, want %d", seq, delim, from, got, want)
		}
	})
}
