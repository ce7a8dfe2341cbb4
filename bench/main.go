// Command bench is beastgo's demo and benchmark program. From the repository root:
//
//	go -C bench run .              # every case, then a table on stdout
//	go -C bench run . -json        # the same results as JSON
//	go -C bench run . -run Strand  # only the cases whose group/name matches
//	go -C bench run . -list        # list the cases without running them
//	go -C bench run . -only websocket -full -svg ../docs/benchmarks  # the WebSocket peers, long
//
// It runs each case of package internal/benchcases with testing.Benchmark in several rounds, a
// group's cases interleaved, reports progress on stderr, and prints the median ns per op with
// its range over the rounds, ops per second and allocations per op (an op is what the case
// measures: a handler, a composed operation, a round trip), plus each case's time relative to
// its group's baseline. Then it compares beastgo's WebSocket with gorilla/websocket, coder/websocket, gobwas/ws
// and lesismal/nbio: echo servers in child processes (this program run again), one client for all,
// and their memory per idle connection (see docs/benchmarks.md). Last, two comparisons with Asio,
// whose C++ programs (bench/asio) it compiles with g++ -O2 into a cache directory when it runs: the
// executor group's shapes beside Asio's io_context and strand, and the net-echo group's TCP echo
// servers (beastgo, Go's net package, Asio) in child processes. It lives in its own module so
// that the libraries it compares against never enter the library's go.mod.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/beastgo/beast/internal/benchcases"
)

// defaultBenchtime is how long each case runs in all, split between its rounds (defaultRounds).
// One second keeps a ten-case comparison well under a minute on a 2-core machine
// (testing.Benchmark's ramp-up adds a fraction on top) while still giving stable nanosecond
// figures for handlers that take tens of nanoseconds.
const defaultBenchtime = "1s"

func main() {
	if isChild() {
		// A server child speaks to its parent on stdout; whatever a library prints there goes to
		// stderr instead.
		proto := os.Stdout
		os.Stdout = os.Stderr
		os.Exit(childMain(os.Args[1:], os.Stdin, proto, os.Stderr))
	}
	sides = realSides()
	os.Exit(run(os.Args[1:], allCases(), runWebSocket, os.Stdout, os.Stderr))
}

// wsRunner runs the websocket comparison: runWebSocket, or a stand-in in tests.
type wsRunner func(cfg wsConfig, progress io.Writer) (*wsReport, error)

// families are the names -only accepts: a case group belongs to the family its name starts with
// ("net-rtt" to net), and ws-* to websocket.
var families = []string{"executor", "composed", "timer", "net", wsGroup}

// familyOf is the -only family of a case group.
func familyOf(group string) string {
	if strings.HasPrefix(group, "ws-") {
		return wsGroup
	}
	f, _, _ := strings.Cut(group, "-")
	return f
}

// wsParts are the websocket comparison's tables as -run and -list name them.
const (
	wsEchoID   = wsGroup + "/echo servers in child processes"
	wsMemoryID = wsGroup + "/idle memory per connection"
)

// allCases is every case the program knows, in the order the table prints them. New groups
// (websocket, ...) are appended here as their packages land.
func allCases() []benchcases.Case {
	var cases []benchcases.Case
	cases = append(cases, benchcases.Executor()...)
	cases = append(cases, benchcases.Composed()...)
	cases = append(cases, benchcases.Timer()...)
	cases = append(cases, benchcases.Net()...)
	return append(cases, benchcases.WebSocket()...)
}

// run is the whole program minus the process: it parses args, runs the selected cases and
// writes the report to stdout and progress and errors to stderr. It returns the exit code: 0 on
// success, 1 if a case failed, 2 for a usage error.
func run(args []string, cases []benchcases.Case, ws wsRunner, stdout, stderr io.Writer) int {
	// A flag set of our own keeps the testing package's -test.* flags out of -help.
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the results as JSON on stdout instead of a table")
	runExpr := fs.String("run", "", "run only the cases whose `group/name` matches this regexp\n(each selected group's baseline runs too, so ratios stay defined)")
	list := fs.Bool("list", false, "list the cases that would run, then exit")
	benchtime := fs.String("benchtime", defaultBenchtime, "run each case for `d` (e.g. 2s), d/rounds a round, or N times a round (e.g. 1000x);\n"+
		"the websocket comparison runs each echo measurement d/10 (d with -full),\nor N round trips per connection once, with few idle connections")
	rounds := fs.Int("rounds", defaultRounds, "measure each case `n` times, each group's cases interleaved, the order rotated each round;\n"+
		"the table shows the median and the range. With -benchtime Nx the default is 1.\n(The websocket and Asio comparisons have rounds of their own.)")
	only := fs.String("only", "", "run only the `group` named: "+strings.Join(families, ", "))
	full := fs.Bool("full", false, "the long websocket comparison: more sizes and connection counts,\nlonger measurements, 10,000 idle connections")
	svgDir := fs.String("svg", "", "also write one SVG bar chart per table into `dir`")
	from := fs.String("from", "", "run nothing: print the table (or with -svg, the charts) of the JSON report in `file`")
	profileDir := fs.String("serverprofile", "", "write a CPU profile of each websocket echo server into `dir` (SERVER.pprof)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go -C bench run . [flags]\n\n"+
			"Runs beastgo's benchmark comparison and prints a table (or JSON) on stdout.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}
	roundsSet := false
	fs.Visit(func(f *flag.Flag) { roundsSet = roundsSet || f.Name == "rounds" })
	*rounds = chooseRounds(*benchtime, *rounds, roundsSet)
	roundTime, err := roundBenchtime(*benchtime, *rounds)
	if err != nil && *from == "" {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	re, err := regexp.Compile(*runExpr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: bad -run: %v\n", err)
		return 2
	}
	for _, w := range checkBaselines(cases) {
		fmt.Fprintf(stderr, "bench: warning: %s\n", w)
	}

	if *from != "" {
		return replay(*from, *jsonOut, *svgDir, stdout, stderr)
	}
	if *only != "" && !slices.Contains(families, *only) {
		fmt.Fprintf(stderr, "bench: bad -only %q: want one of %s\n", *only, strings.Join(families, ", "))
		return 2
	}
	wsCfg, err := newWSConfig(*benchtime, *full)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	wsCfg.ProfileDir = *profileDir
	wanted := func(id string) bool {
		return ws != nil && (*only == "" || *only == wsGroup) && re.MatchString(id)
	}
	wsCfg.SkipEcho, wsCfg.SkipMemory = !wanted(wsEchoID), !wanted(wsMemoryID)
	sideReq := newSideRequest(*only, re, *benchtime, *profileDir)
	if err := sideReq.validate(); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}

	selected := selectCases(cases, re)
	if *only != "" {
		selected = slices.DeleteFunc(selected, func(c benchcases.Case) bool { return familyOf(c.Group) != *only })
	}
	if *list {
		for _, c := range selected {
			fmt.Fprintln(stdout, caseID(c)+baselineMark(c))
		}
		for _, id := range []string{wsEchoID, wsMemoryID} {
			if wanted(id) {
				fmt.Fprintln(stdout, id)
			}
		}
		for _, id := range sideReq.ids() {
			fmt.Fprintln(stdout, id)
		}
		return 0
	}
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o755); err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 2
		}
	}

	restore, err := setBenchtime(roundTime)
	if err != nil {
		fmt.Fprintf(stderr, "bench: bad -benchtime: %v\n", err)
		return 2
	}
	defer restore()

	if len(selected) == 0 && wsCfg.SkipEcho && wsCfg.SkipMemory && !sideReq.any() {
		// Like go test's "no tests to run": not an error, but say so where a person looks.
		fmt.Fprintf(stderr, "bench: no cases match -run %q\n", *runExpr)
	}
	results, failed := measureCases(selected, *rounds, benchmarkCase, stderr)
	setRatios(results)

	rep := report{Machine: currentMachine(), Benchtime: *benchtime, Rounds: *rounds, Results: results}
	if !wsCfg.SkipEcho || !wsCfg.SkipMemory {
		wsRep, err := ws(wsCfg, stderr)
		if err != nil {
			failed = true
			fmt.Fprintf(stderr, "bench: websocket: %v\n", err)
		}
		rep.WebSocket = wsRep
	}
	side, err := runSides(sideReq, stderr)
	if err != nil {
		failed = true
		fmt.Fprintf(stderr, "bench: %v\n", err)
	}
	all := fullReport{report: rep, sideReport: side}
	if *svgDir != "" {
		paths, err := writeCharts(*svgDir, rep)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench: wrote %d charts into %s\n", len(paths), *svgDir)
	}
	if *jsonOut {
		err = writeFullJSON(stdout, all)
	} else {
		err = writeFullTable(stdout, all)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// setBenchtime points testing.Benchmark at d (a duration or "Nx") and returns a function that
// puts the previous value back. The testing package only exposes the setting as a flag, so it
// has to be set through flag.CommandLine after testing.Init has registered it; restoring it
// keeps run free of lasting side effects when tests call it inside a test binary.
func setBenchtime(d string) (restore func(), err error) {
	testing.Init()
	f := flag.CommandLine.Lookup("test.benchtime")
	if f == nil {
		return nil, errors.New("testing package registered no test.benchtime flag")
	}
	old := f.Value.String()
	if err := f.Value.Set(d); err != nil {
		return nil, err
	}
	return func() { _ = f.Value.Set(old) }, nil
}

// caseID names a case as -run matches it: "group/name".
func caseID(c benchcases.Case) string {
	return c.Group + "/" + c.Name
}

// baselineMark is the suffix -list prints after a group's baseline.
func baselineMark(c benchcases.Case) string {
	if c.Baseline {
		return " (baseline)"
	}
	return ""
}

// selectCases returns, in their original order, the cases whose group/name matches re, plus the
// baseline of every group that has a selected case: a ratio without its baseline would be blank.
func selectCases(cases []benchcases.Case, re *regexp.Regexp) []benchcases.Case {
	groups := make(map[string]bool)
	for _, c := range cases {
		if re.MatchString(caseID(c)) {
			groups[c.Group] = true
		}
	}
	var out []benchcases.Case
	for _, c := range cases {
		if re.MatchString(caseID(c)) || (c.Baseline && groups[c.Group]) {
			out = append(out, c)
		}
	}
	return out
}

// checkBaselines reports every group that breaks benchcases' rule of exactly one baseline.
// Such a group still runs; setRatios leaves its ratios blank rather than guess.
func checkBaselines(cases []benchcases.Case) []string {
	count := make(map[string]int)
	var order []string
	for _, c := range cases {
		if _, seen := count[c.Group]; !seen {
			order = append(order, c.Group)
			count[c.Group] = 0 // so that a group without a baseline is reported too
		}
		if c.Baseline {
			count[c.Group]++
		}
	}
	var warnings []string
	for _, g := range order {
		if n := count[g]; n != 1 {
			warnings = append(warnings, fmt.Sprintf("group %q has %d baseline cases, want exactly 1; its ratios are left blank", g, n))
		}
	}
	return warnings
}

// replay prints a report saved with -json again, as a table or JSON, and writes its charts when
// svgDir is set: a long run's figures can be laid out again without running it again.
func replay(file string, jsonOut bool, svgDir string, stdout, stderr io.Writer) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	var rep fullReport
	if err := json.Unmarshal(data, &rep); err != nil {
		fmt.Fprintf(stderr, "bench: %s is not a report of -json: %v\n", file, err)
		return 2
	}
	if svgDir != "" {
		paths, err := writeCharts(svgDir, rep.report)
		if err != nil {
			fmt.Fprintf(stderr, "bench: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "bench: wrote %d charts into %s\n", len(paths), svgDir)
	}
	if jsonOut {
		err = writeFullJSON(stdout, rep)
	} else {
		err = writeFullTable(stdout, rep)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}
