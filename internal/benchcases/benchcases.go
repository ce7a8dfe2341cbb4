// Package benchcases holds the benchmark bodies that both the packages' own benchmarks (go test
// -bench) and the bench program (go -C bench run .) run, so the figures in the docs and in the
// program's table come from one piece of code.
package benchcases

import "testing"

// Case is one benchmark of the comparison; Bench reports ns/op per Unit.
type Case struct {
	Group    string // what is compared: "executor", "composed", "net", later "websocket"
	Name     string // what the row shows
	Unit     string // what one op of Bench is: "handler", "round trip"; empty means "handler"
	Baseline bool   // the case the ratio column divides by within its Group (exactly one per group)
	Bench    func(b *testing.B)
}
