package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beastgo/beast/internal/benchcases"
)

// scriptedRunner is a stand-in for benchmarkCase: it records the order in which cases are
// measured and answers the k-th measurement of a case with its script's k-th result (a zero
// result, as testing.Benchmark gives for a failed case, once the script runs out).
type scriptedRunner struct {
	scripts map[string][]testing.BenchmarkResult
	calls   []string
}

func (s *scriptedRunner) run(c benchcases.Case) testing.BenchmarkResult {
	id := caseID(c)
	s.calls = append(s.calls, id)
	script := s.scripts[id]
	if len(script) == 0 {
		return testing.BenchmarkResult{}
	}
	s.scripts[id] = script[1:]
	return script[0]
}

// rounds is a script of one result per ns/op given, 100 iterations each, with allocs
// allocations per op in each round: allocs[i] in round i.
func rounds(ns []float64, allocs []uint64) []testing.BenchmarkResult {
	out := make([]testing.BenchmarkResult, len(ns))
	for i := range ns {
		out[i] = testing.BenchmarkResult{N: 100 + i, T: time.Duration(ns[i] * float64(100+i)), MemAllocs: allocs[i] * uint64(100+i)}
	}
	return out
}

// same is a script of n identical rounds.
func same(n int) []testing.BenchmarkResult {
	return rounds(slices.Repeat([]float64{10}, n), make([]uint64, n))
}

func TestMeasureCasesInterleavesEachGroup(t *testing.T) {
	cases := []benchcases.Case{
		{Group: "a", Name: "1", Baseline: true}, {Group: "a", Name: "2"}, {Group: "a", Name: "3"},
		{Group: "b", Name: "1", Baseline: true}, {Group: "b", Name: "2"},
		{Group: "a", Name: "4"}, // out of place: measured with its group, reported where it stands
	}
	r := &scriptedRunner{scripts: map[string][]testing.BenchmarkResult{}}
	for _, c := range cases {
		r.scripts[caseID(c)] = same(3)
	}
	var progress bytes.Buffer
	results, failed := measureCases(cases, 3, r.run, &progress)
	if failed {
		t.Errorf("measureCases reports a failure:\n%s", progress.String())
	}
	want := []string{
		"a/1", "a/2", "a/3", "a/4", // round 1 of group a
		"a/2", "a/3", "a/4", "a/1", // round 2, the order rotated by one
		"a/3", "a/4", "a/1", "a/2", // round 3
		"b/1", "b/2", // then group b, its rounds rotated the same way
		"b/2", "b/1",
		"b/1", "b/2",
	}
	if !slices.Equal(r.calls, want) {
		t.Errorf("measured in the order\n%q\nwant\n%q", r.calls, want)
	}
	var got []string
	for _, res := range results {
		got = append(got, res.Group+"/"+res.Name)
		if res.Rounds != 3 || len(res.NsPerOpRounds) != 3 {
			t.Errorf("%s/%s: %d rounds, ns/op %v; want 3 rounds", res.Group, res.Name, res.Rounds, res.NsPerOpRounds)
		}
	}
	if ids := []string{"a/1", "a/2", "a/3", "b/1", "b/2", "a/4"}; !slices.Equal(got, ids) {
		t.Errorf("results in the order %q, want the cases' %q", got, ids)
	}
	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d progress lines, want one per measurement (%d):\n%s", len(lines), len(want), progress.String())
	}
	for i, first := range []string{"[1/6] a: 1, round 1/3 ... 10.0 ns/handler", "[6/6] a: 4, round 1/3 ... ", "[3/6] a: 3, round 3/3 ... "} {
		if at := []int{0, 3, 8}[i]; !strings.HasPrefix(lines[at], first) {
			t.Errorf("progress line %d = %q, want it to start %q", at, lines[at], first)
		}
	}
}

func TestMeasureCasesTakesTheMedianRound(t *testing.T) {
	tests := []struct {
		name          string
		ns            []float64
		allocs        []uint64
		wantNs        float64
		wantMin       float64
		wantMax       float64
		wantAllocs    float64
		wantIteration int
	}{
		{
			name: "odd count: the middle round, every figure from it",
			ns:   []float64{30, 10, 20}, allocs: []uint64{3, 1, 2},
			wantNs: 20, wantMin: 10, wantMax: 30, wantAllocs: 2, wantIteration: 102,
		},
		{
			name: "even count: the faster of the middle two",
			ns:   []float64{40, 10, 30, 20}, allocs: []uint64{4, 1, 3, 2},
			wantNs: 20, wantMin: 10, wantMax: 40, wantAllocs: 2, wantIteration: 103,
		},
		{
			name: "one round: no range",
			ns:   []float64{50}, allocs: []uint64{1},
			wantNs: 50, wantMin: 50, wantMax: 50, wantAllocs: 1, wantIteration: 100,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := benchcases.Case{Group: "g", Name: "n", Baseline: true}
			r := &scriptedRunner{scripts: map[string][]testing.BenchmarkResult{"g/n": rounds(tt.ns, tt.allocs)}}
			results, failed := measureCases([]benchcases.Case{c}, len(tt.ns), r.run, new(bytes.Buffer))
			if failed || len(results) != 1 {
				t.Fatalf("measureCases = %+v, failed %v", results, failed)
			}
			got := results[0]
			if got.NsPerOp != tt.wantNs || got.NsPerOpMin != tt.wantMin || got.NsPerOpMax != tt.wantMax ||
				got.AllocsPerOp != tt.wantAllocs || got.Iterations != tt.wantIteration || got.OpsPerSec != 1e9/tt.wantNs {
				t.Errorf("result = %+v, want ns/op %v [%v-%v], %v allocs/op, %d iterations, ops/s from the same round",
					got, tt.wantNs, tt.wantMin, tt.wantMax, tt.wantAllocs, tt.wantIteration)
			}
			if !slices.Equal(got.NsPerOpRounds, tt.ns) {
				t.Errorf("ns/op of the rounds = %v, want %v in the order measured", got.NsPerOpRounds, tt.ns)
			}
		})
	}
}

func TestMeasureCasesDropsAFailedCase(t *testing.T) {
	cases := []benchcases.Case{{Group: "g", Name: "base", Baseline: true}, {Group: "g", Name: "flaky"}}
	r := &scriptedRunner{scripts: map[string][]testing.BenchmarkResult{
		"g/base":  same(3),
		"g/flaky": same(1), // measures once, then fails in its second round
	}}
	var progress bytes.Buffer
	results, failed := measureCases(cases, 3, r.run, &progress)
	if !failed {
		t.Error("measureCases does not report the failure")
	}
	want := []string{"g/base", "g/flaky", "g/flaky", "g/base", "g/base"}
	if !slices.Equal(r.calls, want) {
		t.Errorf("measured %q, want %q: a failed case runs no more", r.calls, want)
	}
	if !results[1].Failed || results[1].NsPerOp != 0 || results[1].Rounds != 0 {
		t.Errorf("failed case = %+v, want failed without figures", results[1])
	}
	if results[0].Failed || results[0].Rounds != 3 {
		t.Errorf("the other case = %+v, want its 3 rounds", results[0])
	}
	if !strings.Contains(progress.String(), "[2/2] g: flaky, round 2/3 ... FAILED") {
		t.Errorf("progress does not flag the failure:\n%s", progress.String())
	}
}

func TestRoundBenchtime(t *testing.T) {
	tests := []struct {
		benchtime string
		rounds    int
		want      string
		wantErr   string
	}{
		{"1s", 5, "200ms", ""},
		{"1s", 3, "333.333333ms", ""},
		{"2s", 1, "2s", ""},
		{"20x", 5, "20x", ""}, // a count is per round
		{"1s", 0, "", errBadRounds.Error()},
		{"soon", 5, "", "bad -benchtime"},
		{"0x", 5, "", "bad -benchtime"},
		{"-1s", 5, "", "bad -benchtime"},
		{"1ns", 2, "", "less than a nanosecond"},
	}
	for _, tt := range tests {
		got, err := roundBenchtime(tt.benchtime, tt.rounds)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("roundBenchtime(%q, %d) = %q, %v; want %q", tt.benchtime, tt.rounds, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("roundBenchtime(%q, %d) = %q, %v; want an error with %q", tt.benchtime, tt.rounds, got, err, tt.wantErr)
		}
	}
	if _, err := roundBenchtime("1s", -1); !errors.Is(err, errBadRounds) {
		t.Errorf("negative rounds: %v, want errBadRounds", err)
	}
}

func TestChooseRounds(t *testing.T) {
	tests := []struct {
		benchtime string
		rounds    int
		set       bool
		want      int
	}{
		{"1s", defaultRounds, false, defaultRounds},
		{"100x", defaultRounds, false, countRounds}, // a smoke run
		{"100x", 3, true, 3},
		{"2s", 7, true, 7},
		{"1s", 0, true, 0}, // left for roundBenchtime to refuse
	}
	for _, tt := range tests {
		if got := chooseRounds(tt.benchtime, tt.rounds, tt.set); got != tt.want {
			t.Errorf("chooseRounds(%q, %d, %v) = %d, want %d", tt.benchtime, tt.rounds, tt.set, got, tt.want)
		}
	}
}

func TestDescribeRounds(t *testing.T) {
	tests := []struct {
		benchtime string
		rounds    int
		want      string
	}{
		{"1s", 5, "1s per case, in 5 rounds of 200ms, each group's cases interleaved"},
		{"20x", 3, "20x per case and round, 3 rounds, each group's cases interleaved"},
		{"100x", 1, "100x per case, one round"},
		{"1s", 0, "1s per case"}, // a report from before the rounds
	}
	for _, tt := range tests {
		if got := describeRounds(tt.benchtime, tt.rounds); got != tt.want {
			t.Errorf("describeRounds(%q, %d) = %q, want %q", tt.benchtime, tt.rounds, got, tt.want)
		}
	}
}

func TestCaseCharts(t *testing.T) {
	rep := report{Results: []result{
		{Group: "g", Name: "spread", Unit: "handler", NsPerOp: 20, Rounds: 3, NsPerOpMin: 10, NsPerOpMax: 40},
		{Group: "g", Name: "old report", Unit: "handler", NsPerOp: 30},
		{Group: "m", Name: "mask", Unit: "GiB", NsPerOp: 1e8, OpsPerSec: 10, Rounds: 3, NsPerOpMin: 5e7, NsPerOpMax: 2e8},
	}}
	charts := reportCharts(rep)
	if len(charts) != 2 {
		t.Fatalf("%d charts, want one per group", len(charts))
	}
	g, m := charts[0], charts[1]
	wantG := []bar{
		{Label: "spread", Value: 20, Min: 10, Max: 40, Text: "20.0 ns"},
		{Label: "old report", Value: 30, Min: 30, Max: 30, Text: "30.0 ns"},
	}
	if !slices.Equal(g.Sections[0].Bars, wantG) {
		t.Errorf("bars of g = %+v, want %+v", g.Sections[0].Bars, wantG)
	}
	// A rate's whisker turns over: the slowest round is the lowest rate.
	wantM := []bar{{Label: "mask", Value: 10, Min: 5, Max: 20, Text: "10.0 GiB/s"}}
	if !slices.Equal(m.Sections[0].Bars, wantM) {
		t.Errorf("bars of m = %+v, want %+v", m.Sections[0].Bars, wantM)
	}
	if !strings.Contains(m.Axis, "GiB/s; median of the rounds, whisker min-max (higher is better)") {
		t.Errorf("m's axis = %q", m.Axis)
	}
	// The whisker is drawn for the case with a range and not for the other.
	svg := string(renderSVG(g))
	if n := strings.Count(svg, `stroke="#333"`); n != 1 {
		t.Errorf("g's chart has %d whiskers, want 1:\n%s", n, svg)
	}
}
