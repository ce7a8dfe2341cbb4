package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/beastgo/beast/internal/benchcases"
)

// TestMain fails the package if any test leaves a goroutine behind; testing.Benchmark runs each
// case on a goroutine of its own, so run must not leak one per case.
//
// The websocket comparison's tests start echo servers as this test binary run again with
// childEnv set: such a process is a server child, not a test run.
func TestMain(m *testing.M) {
	if isChild() {
		proto := os.Stdout
		os.Stdout = os.Stderr
		os.Exit(childMain(os.Args[1:], os.Stdin, proto, os.Stderr))
	}
	// nbio starts its package-level task pool's goroutines when the package initialises, before
	// any test: those are not leaks of a test.
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// sink and escape keep the fake cases' work from being optimised away.
var (
	sink   int
	escape []byte
)

// fakeCases is a tiny comparison with two groups, cheap enough to run under -race.
func fakeCases() []benchcases.Case {
	loop := func(b *testing.B) {
		for range b.N {
			sink++
		}
	}
	alloc := func(b *testing.B) {
		for range b.N {
			escape = make([]byte, 64) // stored in a global, so it must be heap-allocated
		}
	}
	return []benchcases.Case{
		{Group: "g1", Name: "base", Baseline: true, Bench: loop},
		{Group: "g1", Name: "other", Bench: alloc},
		{Group: "g2", Name: "only", Baseline: true, Bench: loop},
	}
}

func ptr(f float64) *float64 { return &f }

func TestNewResult(t *testing.T) {
	c := benchcases.Case{Group: "g", Name: "n", Baseline: true}
	tests := []struct {
		name string
		in   testing.BenchmarkResult
		want result
	}{
		{
			name: "fractions are kept",
			in:   testing.BenchmarkResult{N: 4, T: 10 * time.Nanosecond, MemAllocs: 1, MemBytes: 6},
			want: result{Group: "g", Name: "n", Baseline: true, Iterations: 4,
				NsPerOp: 2.5, OpsPerSec: 4e8, AllocsPerOp: 0.25, BytesPerOp: 1.5},
		},
		{
			name: "zero result means failed",
			in:   testing.BenchmarkResult{},
			want: result{Group: "g", Name: "n", Baseline: true, Failed: true},
		},
		{
			name: "zero time gives no rate rather than +Inf",
			in:   testing.BenchmarkResult{N: 10},
			want: result{Group: "g", Name: "n", Baseline: true, Iterations: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newResult(c, tt.in)
			if got.Unit != "handler" {
				t.Errorf("Unit = %q, want handler for a case that names none", got.Unit)
			}
			if got.Failed != tt.want.Failed || got.Iterations != tt.want.Iterations ||
				got.NsPerOp != tt.want.NsPerOp || got.OpsPerSec != tt.want.OpsPerSec ||
				got.AllocsPerOp != tt.want.AllocsPerOp || got.BytesPerOp != tt.want.BytesPerOp {
				t.Errorf("newResult = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSetRatios(t *testing.T) {
	tests := []struct {
		name string
		in   []result
		want []*float64
	}{
		{
			name: "ratio is case time over baseline time, per group",
			in: []result{
				{Group: "a", Baseline: true, NsPerOp: 10},
				{Group: "a", NsPerOp: 5},
				{Group: "a", NsPerOp: 40},
				{Group: "b", Baseline: true, NsPerOp: 3},
				{Group: "b", NsPerOp: 6},
			},
			want: []*float64{ptr(1), ptr(0.5), ptr(4), ptr(1), ptr(2)},
		},
		{
			name: "no baseline leaves the group blank",
			in:   []result{{Group: "a", NsPerOp: 5}, {Group: "a", NsPerOp: 7}},
			want: []*float64{nil, nil},
		},
		{
			name: "two baselines leave the group blank",
			in: []result{
				{Group: "a", Baseline: true, NsPerOp: 5},
				{Group: "a", Baseline: true, NsPerOp: 7},
				{Group: "a", NsPerOp: 7},
			},
			want: []*float64{nil, nil, nil},
		},
		{
			name: "failed baseline leaves the group blank",
			in: []result{
				{Group: "a", Baseline: true, Failed: true},
				{Group: "a", NsPerOp: 7},
			},
			want: []*float64{nil, nil},
		},
		{
			name: "failed case gets no ratio, others still do",
			in: []result{
				{Group: "a", Baseline: true, NsPerOp: 2},
				{Group: "a", Failed: true},
				{Group: "a", NsPerOp: 3},
			},
			want: []*float64{ptr(1), nil, ptr(1.5)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setRatios(tt.in)
			for i, r := range tt.in {
				switch w := tt.want[i]; {
				case w == nil && r.Ratio != nil:
					t.Errorf("result %d: ratio = %v, want none", i, *r.Ratio)
				case w != nil && r.Ratio == nil:
					t.Errorf("result %d: no ratio, want %v", i, *w)
				case w != nil && math.Abs(*r.Ratio-*w) > 1e-12:
					t.Errorf("result %d: ratio = %v, want %v", i, *r.Ratio, *w)
				}
			}
		})
	}
}

func TestFormatters(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ns below 10", formatNs(3.456), "3.46"},
		{"ns below 100", formatNs(52.14), "52.1"},
		{"ns from 100", formatNs(1234.5), "1234"},
		{"rate giga", formatRate(1.25e9), "1.2G"},
		{"rate mega", formatRate(19.18e6), "19.2M"},
		{"rate kilo", formatRate(850_000), "850.0k"},
		{"rate small", formatRate(12.34), "12.3"},
		{"allocs zero", formatAllocs(0), "0"},
		{"allocs tiny", formatAllocs(0.0004), "<0.01"},
		{"allocs whole", formatAllocs(2), "2"},
		{"allocs amortised", formatAllocs(0.25), "0.25"},
		{"ratio baseline", formatRatio(result{Baseline: true, Ratio: ptr(1)}), "baseline"},
		{"ratio faster", formatRatio(result{Ratio: ptr(0.4242)}), "0.42x"},
		{"ratio slower", formatRatio(result{Ratio: ptr(3)}), "3.00x"},
		{"ratio none", formatRatio(result{}), "-"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestCPUModel(t *testing.T) {
	tests := []struct {
		name, cpuinfo, want string
	}{
		{"x86", "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n", "Intel(R) Xeon(R) Processor"},
		{"riscv prefers uarch over isa-less fields", "processor\t: 0\nisa\t\t: rv64imafdc\nuarch\t\t: sifive,u74-mc\n", "sifive,u74-mc"},
		{"arm board", "processor\t: 0\nCPU part\t: 0xd08\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi 4\n", "BCM2835"},
		{"arm64 server with only part codes", "processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd0c\n", ""},
		{"empty value is skipped", "model name\t:\nmodel name\t: Real\n", "Real"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := cpuModel(strings.NewReader(tt.cpuinfo)); got != tt.want {
			t.Errorf("%s: cpuModel = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSelectCases(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{"", []string{"g1/base", "g1/other", "g2/only"}},
		{"other", []string{"g1/base", "g1/other"}}, // the baseline comes along
		{"^g2/", []string{"g2/only"}},
		{"Nothing", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range selectCases(fakeCases(), regexp.MustCompile(tt.expr)) {
			got = append(got, caseID(c))
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("-run %q selected %q, want %q", tt.expr, got, tt.want)
		}
	}
}

func TestCheckBaselines(t *testing.T) {
	cases := []benchcases.Case{
		{Group: "ok", Baseline: true}, {Group: "ok"},
		{Group: "none"},
		{Group: "two", Baseline: true}, {Group: "two", Baseline: true},
	}
	got := checkBaselines(cases)
	if len(got) != 2 || !strings.Contains(got[0], `"none" has 0`) || !strings.Contains(got[1], `"two" has 2`) {
		t.Errorf("checkBaselines = %q, want warnings for groups none and two", got)
	}
	if got := checkBaselines(fakeCases()); len(got) != 0 {
		t.Errorf("checkBaselines(fakeCases) = %q, want none", got)
	}
}

func sampleReport() report {
	return report{
		Machine:   machine{GOOS: "linux", GOARCH: "amd64", NumCPU: 2, GOMAXPROCS: 2, CPUModel: "Test CPU", GoVersion: "go1.26.0"},
		Benchtime: "1s",
		Rounds:    5,
		Results: []result{
			{Group: "executor", Name: "IOContext post-then-run", Unit: "handler", Baseline: true, Iterations: 100, NsPerOp: 100, OpsPerSec: 1e7, Ratio: ptr(1),
				Rounds: 5, NsPerOpMin: 98, NsPerOpMax: 110.4, NsPerOpRounds: []float64{110.4, 100, 98, 101, 99}},
			{Group: "executor", Name: "Strand chain", Unit: "handler", Iterations: 100, NsPerOp: 52.1, OpsPerSec: 19.19e6, AllocsPerOp: 0.5, Ratio: ptr(0.521),
				Rounds: 5, NsPerOpMin: 52.1, NsPerOpMax: 52.1, NsPerOpRounds: []float64{52.1, 52.1, 52.1, 52.1, 52.1}},
			{Group: "executor", Name: "broken", Unit: "handler", Failed: true},
		},
	}
}

func TestWriteTable(t *testing.T) {
	var out bytes.Buffer
	if err := writeTable(&out, sampleReport()); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"machine: linux/amd64, 2 CPUs (GOMAXPROCS 2), Test CPU",
		"go:      go1.26.0",
		"benchtime: 1s per case, in 5 rounds of 200ms, each group's cases interleaved",
		roundsLegend + ratioLegend,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	lines := strings.Split(text, "\n")
	var table []string
	for _, l := range lines {
		if strings.HasPrefix(l, "group") || strings.HasPrefix(l, "executor") {
			table = append(table, l)
		}
	}
	if len(table) != 4 {
		t.Fatalf("want a header and 3 rows, got %d lines:\n%s", len(table), text)
	}
	wantRows := [][]string{
		{"group", "case", "per", "ns/op", "ops/s", "allocs/op", "time", "vs", "baseline"},
		{"executor", "IOContext", "post-then-run", "handler", "100", "[98.0-110]", "10.0M", "0", "baseline"},
		{"executor", "Strand", "chain", "handler", "52.1", "19.2M", "0.50", "0.52x"}, // rounds that agree show no range
		{"executor", "broken", "handler", "FAILED", "-", "-", "-"},
	}
	for i, l := range table {
		if got := strings.Fields(l); strings.Join(got, " ") != strings.Join(wantRows[i], " ") {
			t.Errorf("row %d = %q, want fields %q", i, l, wantRows[i])
		}
	}
	// Numbers are right-aligned: every numeric cell in the ns/op column ends where its header
	// does.
	end := strings.Index(table[0], "ns/op") + len("ns/op")
	for _, l := range table[1:3] {
		if l[end-1] == ' ' || l[end] != ' ' {
			t.Errorf("ns/op not right-aligned at column %d in %q", end, l)
		}
	}

	out.Reset()
	rep := sampleReport()
	rep.Results = nil
	if err := writeTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "no cases ran") || !strings.Contains(out.String(), "benchtime: 1s per case\n") {
		t.Errorf("empty table = %q, want a note that no cases ran and no word of the case table's rounds", out.String())
	}
}

// TestWriteTableOfAnOldReport prints a report saved before the rounds (-from): one figure per
// case, no range and no legend for it.
func TestWriteTableOfAnOldReport(t *testing.T) {
	rep := sampleReport()
	rep.Rounds = 0
	for i := range rep.Results {
		rep.Results[i].Rounds, rep.Results[i].NsPerOpMin, rep.Results[i].NsPerOpMax, rep.Results[i].NsPerOpRounds = 0, 0, 0, nil
	}
	var out bytes.Buffer
	if err := writeTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if !strings.Contains(text, "benchtime: 1s per case\n") || strings.Contains(text, "[") || strings.Contains(text, roundsLegend) {
		t.Errorf("an old report's table:\n%s", text)
	}
	if !strings.Contains(text, "  100  ") {
		t.Errorf("an old report's ns/op lost:\n%s", text)
	}
}

func TestWriteJSON(t *testing.T) {
	var out bytes.Buffer
	if err := writeJSON(&out, sampleReport()); err != nil {
		t.Fatal(err)
	}
	// Decode into plain maps so that the test pins the field names scripts depend on.
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out.String())
	}
	m := got["machine"].(map[string]any)
	for _, k := range []string{"goos", "goarch", "num_cpu", "gomaxprocs", "cpu_model", "go_version"} {
		if _, ok := m[k]; !ok {
			t.Errorf("machine lacks %q: %v", k, m)
		}
	}
	results := got["results"].([]any)
	if len(results) != 3 {
		t.Fatalf("got %d results, want 3", len(results))
	}
	strand := results[1].(map[string]any)
	for k, want := range map[string]any{
		"group": "executor", "name": "Strand chain", "unit": "handler", "ns_per_op": 52.1, "ops_per_sec": 19.19e6,
		"allocs_per_op": 0.5, "bytes_per_op": 0.0, "ratio": 0.521, "baseline": false,
		"rounds": 5.0, "ns_per_op_min": 52.1, "ns_per_op_max": 52.1,
	} {
		if strand[k] != want {
			t.Errorf("results[1][%q] = %v, want %v", k, strand[k], want)
		}
	}
	// ns_per_op stays the figure scripts read: the median, between the range's ends.
	base := results[0].(map[string]any)
	if base["ns_per_op"] != 100.0 || base["ns_per_op_min"] != 98.0 || base["ns_per_op_max"] != 110.4 || len(base["ns_per_op_rounds"].([]any)) != 5 {
		t.Errorf("results[0] = %v, want ns_per_op 100 in [98, 110.4] and 5 rounds' figures", base)
	}
	if got["rounds"] != 5.0 {
		t.Errorf("report's rounds = %v, want 5", got["rounds"])
	}
	if broken := results[2].(map[string]any); broken["ratio"] != nil || broken["failed"] != true {
		t.Errorf("failed result = %v, want ratio null and failed true", broken)
	}

	out.Reset()
	rep := sampleReport()
	rep.Results = nil
	if err := writeJSON(&out, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"results": []`) {
		t.Errorf("empty results encode as %s, want []", out.String())
	}
}

// TestRun runs the whole program on the fake cases with a fixed iteration count, so it checks
// plumbing, not speed.
func TestRun(t *testing.T) {
	before := flag.CommandLine.Lookup("test.benchtime").Value.String()

	var stdout, stderr bytes.Buffer
	if code := run([]string{"-json", "-benchtime", "20x", "-rounds", "3"}, fakeCases(), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("run = %d, want 0; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout.String())
	}
	if len(rep.Results) != 3 || rep.Benchtime != "20x" || rep.Rounds != 3 {
		t.Fatalf("report = %+v, want 3 results at benchtime 20x in 3 rounds", rep)
	}
	for i, r := range rep.Results {
		if r.Iterations != 20 || r.Failed || r.Ratio == nil {
			t.Errorf("result %d = %+v, want 20 iterations, not failed, with a ratio", i, r)
		}
		if r.Rounds != 3 || len(r.NsPerOpRounds) != 3 || r.NsPerOpMin > r.NsPerOp || r.NsPerOp > r.NsPerOpMax {
			t.Errorf("result %d = %+v, want 3 rounds with the median in their range", i, r)
		}
	}
	if *rep.Results[0].Ratio != 1 || *rep.Results[2].Ratio != 1 {
		t.Errorf("baselines' ratios = %v, %v, want 1", *rep.Results[0].Ratio, *rep.Results[2].Ratio)
	}
	for _, want := range []string{"[1/3] g1: base, round 1/3 ... ", "[3/3] g2: only, round 3/3 ... ", " ns/handler\n"} { // fake cases have no Unit
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, stderr.String())
		}
	}
	if n := strings.Count(stderr.String(), "\n"); n != 3*3 {
		t.Errorf("%d progress lines, want one per case and round:\n%s", n, stderr.String())
	}
	if after := flag.CommandLine.Lookup("test.benchtime").Value.String(); after != before {
		t.Errorf("run left test.benchtime at %q, want it restored to %q", after, before)
	}
}

func TestRunTable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-benchtime", "5x", "-run", "other"}, fakeCases(), nil, &stdout, &stderr); code != 0 {
		t.Fatalf("run = %d, want 0; stderr:\n%s", code, stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{"machine: ", "ns/op", "handler", "g1  ", "base", "other", ratioLegend} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "g2") {
		t.Errorf("-run other ran group g2:\n%s", text)
	}
}

func TestRunFailedCase(t *testing.T) {
	cases := append(fakeCases(), benchcases.Case{
		Group: "g2", Name: "broken", Bench: func(b *testing.B) { b.Fatal("deliberate") },
	})
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-json", "-benchtime", "5x"}, cases, nil, &stdout, &stderr); code != 1 {
		t.Fatalf("run = %d, want 1 for a failed case; stderr:\n%s", code, stderr.String())
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("a failed case must still print the report: %v\n%s", err, stdout.String())
	}
	if last := rep.Results[len(rep.Results)-1]; !last.Failed || last.Ratio != nil {
		t.Errorf("broken case = %+v, want failed without a ratio", last)
	}
	if !strings.Contains(stderr.String(), "[4/4] g2: broken, round 1/1 ... FAILED") || strings.Count(stderr.String(), "g2: broken") != 1 {
		t.Errorf("progress does not flag the failure once:\n%s", stderr.String())
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		code        int
		stdout      string // substring, "" for empty
		stderrHas   string
		emptyStdout bool
	}{
		{name: "list", args: []string{"-list"}, stdout: "g1/base (baseline)\ng1/other\ng2/only (baseline)\n"},
		{name: "list with run", args: []string{"-list", "-run", "^g2"}, stdout: "g2/only (baseline)\n"},
		{name: "no match", args: []string{"-run", "Nothing"}, stdout: "no cases ran", stderrHas: `no cases match -run "Nothing"`},
		{name: "bad regexp", args: []string{"-run", "("}, code: 2, stderrHas: "bad -run", emptyStdout: true},
		{name: "bad benchtime", args: []string{"-benchtime", "soon"}, code: 2, stderrHas: "bad -benchtime", emptyStdout: true},
		{name: "bad rounds", args: []string{"-rounds", "0"}, code: 2, stderrHas: "bad -rounds", emptyStdout: true},
		{name: "rounds", args: []string{"-rounds", "2", "-benchtime", "3x", "-run", "^g2"}, stdout: "3x per case and round, 2 rounds", stderrHas: "[1/1] g2: only, round 2/2 ... "},
		{name: "a count runs one round", args: []string{"-benchtime", "3x", "-run", "^g2"}, stdout: "benchtime: 3x per case, one round\n", stderrHas: "[1/1] g2: only, round 1/1 ... "},
		{name: "unknown flag", args: []string{"-nope"}, code: 2, stderrHas: "usage:", emptyStdout: true},
		{name: "stray argument", args: []string{"extra"}, code: 2, stderrHas: "unexpected arguments", emptyStdout: true},
		{name: "help", args: []string{"-h"}, code: 0, stderrHas: "-rounds n", emptyStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, fakeCases(), nil, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if tt.emptyStdout && stdout.Len() != 0 {
				t.Errorf("stdout = %q, want empty", stdout.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderrHas) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderrHas)
			}
		})
	}
}

// TestAllCases checks the real case list against the rule the ratio column relies on.
func TestAllCases(t *testing.T) {
	cases := allCases()
	if len(cases) == 0 {
		t.Fatal("allCases is empty")
	}
	for _, w := range checkBaselines(cases) {
		t.Error(w)
	}
	for _, c := range cases {
		if c.Group == "" || c.Name == "" || c.Bench == nil {
			t.Errorf("incomplete case %+v", c)
		}
		if newResult(c, testing.BenchmarkResult{N: 1}).Unit == "" {
			t.Errorf("case %s has no unit", caseID(c))
		}
	}
}
