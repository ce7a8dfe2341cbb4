package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beastgo/beast/internal/benchcases"
)

// defaultRounds is how many times each case is measured. Five rounds give a median that one
// burst of load on a shared 2-core machine cannot move, and a range that shows how noisy the
// figure was. The rounds split -benchtime between them (see roundBenchtime), so the default run
// takes about as long as one measurement of -benchtime per case would: 200 ms per round still
// runs a handler of tens of nanoseconds millions of times and the slowest case (a GiB per op)
// about twenty times.
const defaultRounds = 5

// countRounds is the default number of rounds with a count (-benchtime Nx), as in the other
// tables: a count is a smoke run, such as CI's, in which a range would say nothing, and in which
// the cases whose op is a GiB take most of a second a round.
const countRounds = 1

// errBadRounds is the usage error of a -rounds below 1.
var errBadRounds = errors.New("bad -rounds: want 1 or more")

// chooseRounds is how many rounds each case runs: rounds when -rounds was given (set), and
// otherwise defaultRounds with a duration and countRounds with a count.
func chooseRounds(benchtime string, rounds int, set bool) int {
	if !set && strings.HasSuffix(benchtime, "x") {
		return countRounds
	}
	return rounds
}

// roundBenchtime is the benchtime of one round when each case runs benchtime in rounds rounds:
// a duration d is split evenly, d/rounds a round, so that more rounds cost no more time; a
// count Nx is kept, N iterations a round, because a count cannot be split without changing
// what each round measures.
func roundBenchtime(benchtime string, rounds int) (string, error) {
	if rounds < 1 {
		return "", errBadRounds
	}
	if n, ok := strings.CutSuffix(benchtime, "x"); ok {
		if count, err := strconv.Atoi(n); err != nil || count <= 0 {
			return "", fmt.Errorf("bad -benchtime %q", benchtime)
		}
		return benchtime, nil
	}
	d, err := time.ParseDuration(benchtime)
	if err != nil || d <= 0 {
		return "", fmt.Errorf("bad -benchtime %q", benchtime)
	}
	per := d / time.Duration(rounds)
	if per <= 0 {
		return "", fmt.Errorf("bad -benchtime %q: less than a nanosecond in each of %d rounds", benchtime, rounds)
	}
	return per.String(), nil
}

// caseRunner measures one case once: benchmarkCase in the program, a stand-in in tests.
type caseRunner func(c benchcases.Case) testing.BenchmarkResult

// benchmarkCase measures c with testing.Benchmark, for the benchtime set with setBenchtime.
func benchmarkCase(c benchcases.Case) testing.BenchmarkResult {
	return testing.Benchmark(c.Bench)
}

// measureCases measures every case rounds times and returns one result per case, in the order
// of cases, and whether any case failed. The cases of a group are measured round by round: each
// case of the group once, in an order rotated by one each round, then all again. A burst of load
// on the machine so falls on all of a group's cases alike rather than on one case's rounds, and
// each ratio to the group's baseline divides measurements taken side by side. The groups run
// one after the other. A case that fails is left out of the later rounds and reported failed.
// Progress gets a line per measurement.
func measureCases(cases []benchcases.Case, rounds int, bench caseRunner, progress io.Writer) ([]result, bool) {
	samples := make([][]result, len(cases))
	failed := make([]bool, len(cases))
	for _, group := range groupIndices(cases) {
		for r := range rounds {
			for k := range group {
				i := group[(k+r)%len(group)]
				if failed[i] {
					continue
				}
				c := cases[i]
				fmt.Fprintf(progress, "[%d/%d] %s: %s, round %d/%d ... ", i+1, len(cases), c.Group, c.Name, r+1, rounds)
				s := newResult(c, bench(c))
				if s.Failed {
					failed[i] = true
					// testing.Benchmark discards the benchmark's log, so point at where it can be seen.
					fmt.Fprintln(progress, "FAILED (the case called b.Fatal or b.Skip; run it under go test -bench to see why)")
					continue
				}
				fmt.Fprintf(progress, "%s ns/%s\n", formatNs(s.NsPerOp), s.Unit)
				samples[i] = append(samples[i], s)
			}
		}
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		if failed[i] {
			results[i] = newResult(c, testing.BenchmarkResult{})
			continue
		}
		results[i] = medianRound(samples[i])
	}
	return results, slices.Contains(failed, true)
}

// groupIndices lists the indexes of cases by group, the groups in the order they first appear.
func groupIndices(cases []benchcases.Case) [][]int {
	var groups [][]int
	at := make(map[string]int)
	for i, c := range cases {
		g, ok := at[c.Group]
		if !ok {
			g = len(groups)
			at[c.Group] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// medianRound is one case's result over its rounds (at least one, in the order measured): the
// figures of its median round by ns/op (of an even count, the faster of the middle two, so that
// every figure of the row comes from one measurement), with the range of ns/op over all rounds
// and each round's ns/op.
func medianRound(rounds []result) result {
	sorted := slices.Clone(rounds)
	slices.SortStableFunc(sorted, func(a, b result) int {
		switch {
		case a.NsPerOp < b.NsPerOp:
			return -1
		case a.NsPerOp > b.NsPerOp:
			return 1
		}
		return 0
	})
	r := sorted[(len(sorted)-1)/2]
	r.Rounds = len(rounds)
	r.NsPerOpMin = sorted[0].NsPerOp
	r.NsPerOpMax = sorted[len(sorted)-1].NsPerOp
	r.NsPerOpRounds = make([]float64, len(rounds))
	for i, s := range rounds {
		r.NsPerOpRounds[i] = s.NsPerOp
	}
	return r
}

// nsSpread is r's ns/op over its rounds. A report written before the rounds has no range: its
// one figure is the whole spread.
func nsSpread(r result) spread {
	if r.Rounds == 0 {
		return spread{Median: r.NsPerOp, Min: r.NsPerOp, Max: r.NsPerOp}
	}
	return spread{Median: r.NsPerOp, Min: r.NsPerOpMin, Max: r.NsPerOpMax}
}

// describeRounds is the table's line on how long each case ran: benchtime split into rounds.
func describeRounds(benchtime string, rounds int) string {
	switch rounds {
	case 0: // a report written before the rounds
		return benchtime + " per case"
	case 1:
		return benchtime + " per case, one round"
	}
	per, err := roundBenchtime(benchtime, rounds)
	if err != nil {
		return fmt.Sprintf("%s per case in %s", benchtime, plural(rounds, "round"))
	}
	if strings.HasSuffix(benchtime, "x") {
		return fmt.Sprintf("%s per case and round, %s, each group's cases interleaved", benchtime, plural(rounds, "round"))
	}
	return fmt.Sprintf("%s per case, in %s of %s, each group's cases interleaved", benchtime, plural(rounds, "round"), per)
}
