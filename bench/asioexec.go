package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/beastgo/beast/internal/benchcases"
)

// The executor group's comparison with Asio: each shape of the executor group that Asio has too,
// run by beastgo (the group's own benchmark body, through testing.Benchmark) and by
// bench/asio/executor.cpp with io_context's default concurrency hint and with hint 1, in rounds
// that interleave the three, so that the machine's load falls on all of them alike.

// asioExecID is the comparison's name for -run and -list.
const asioExecID = "executor/beside Asio"

// asioShape is one shape of the comparison.
type asioShape struct {
	Shape string           // the name executor.cpp knows it by
	Label string           // what the table shows
	Beast func(*testing.B) // beastgo's body of the same shape, from the executor group
}

// asioShapes are the comparison's shapes, in the order the table prints them.
var asioShapes = []asioShape{
	{"post-then-run", "post from outside, then run (bursts of 1024)", benchcases.IOContextPostThenRun},
	{"post-to-runner", "post to a goroutine/thread in run", benchcases.IOContextPostToRunner},
	{"chain", "chain: each handler posts the next", benchcases.IOContextChain},
	{"strand-chain", "strand chain", benchcases.StrandChain},
	{"strand-post-then-run", "strand: post from outside, then run", benchcases.StrandPostThenRun},
	{"strand-post-to-runner", "strand: post to a goroutine/thread in run", benchcases.StrandPostToRunner},
}

// asioHints are the io_context set-ups each shape runs in: executor.cpp's second argument.
var asioHints = []string{"1", "default"}

// asioExecConfig is how much the comparison measures.
type asioExecConfig struct {
	Rounds   int           `json:"rounds"`
	Duration time.Duration `json:"duration_ns"` // each measurement at least this long (0 with Count)
	Count    int           `json:"count"`       // handlers per measurement instead of Duration
}

// newAsioExecConfig derives the comparison's size from -benchtime: with a duration d, 5 rounds
// of d/10 per measurement; with Nx, one round of N handlers.
func newAsioExecConfig(benchtime string) (asioExecConfig, error) {
	if n, ok := strings.CutSuffix(benchtime, "x"); ok {
		count, err := strconv.Atoi(n)
		if err != nil || count <= 0 {
			return asioExecConfig{}, fmt.Errorf("bad -benchtime %q", benchtime)
		}
		return asioExecConfig{Rounds: 1, Count: count}, nil
	}
	d, err := time.ParseDuration(benchtime)
	if err != nil || d <= 0 {
		return asioExecConfig{}, fmt.Errorf("bad -benchtime %q", benchtime)
	}
	return asioExecConfig{Rounds: 5, Duration: d / 10}, nil
}

// asioExecRow is one shape's line: ns per handler over the rounds.
type asioExecRow struct {
	Shape string `json:"shape"`
	Label string `json:"label"`
	Beast spread `json:"beastgo_ns_per_handler"`
	// Asio is each hint's ns per handler, by executor.cpp's hint argument ("1", "default").
	Asio map[string]spread `json:"asio_ns_per_handler"`
	// VsBestAsio is beastgo's median divided by the lower of Asio's medians: below 1 is faster
	// than Asio's best set-up. Null when either side failed.
	VsBestAsio *float64 `json:"vs_best_asio"`
	Err        string   `json:"error,omitempty"`
}

// asioExecReport is the comparison's part of the report.
type asioExecReport struct {
	Config asioExecConfig `json:"config"`
	Asio   string         `json:"asio,omitempty"`  // "Asio 1.22.1"
	Build  string         `json:"build,omitempty"` // "g++ -O2"
	Skip   string         `json:"skipped,omitempty"`
	Rows   []asioExecRow  `json:"rows,omitempty"`
}

// runAsioExecutor builds executor.cpp and measures every shape, round by round. A machine that
// cannot build it gets a report that says why (Skip) and no error.
func runAsioExecutor(cfg asioExecConfig, ab *asioBuilder, progress io.Writer) (*asioExecReport, error) {
	rep := &asioExecReport{Config: cfg, Build: ab.describeBuild()}
	fmt.Fprintf(progress, "[executor] building bench/asio/executor.cpp ... ")
	bin, err := ab.build("executor")
	if reason, ok := skipReason(err); ok {
		fmt.Fprintf(progress, "skipped: %s\n", reason)
		rep.Skip = reason
		return rep, nil
	}
	if err != nil {
		fmt.Fprintln(progress, "FAILED")
		return rep, err
	}
	fmt.Fprintln(progress, "ok")

	beastTime := fmt.Sprintf("%dx", cfg.Count)
	if cfg.Count == 0 {
		beastTime = cfg.Duration.String()
	}
	restore, err := setBenchtime(beastTime)
	if err != nil {
		return rep, err
	}
	defer restore()

	type samples struct {
		beast []float64
		asio  map[string][]float64
		err   error
	}
	all := make([]samples, len(asioShapes))
	for i := range all {
		all[i].asio = make(map[string][]float64)
	}
	// Each measurement is one of beastgo or Asio with a hint; a round runs every shape's, in an
	// order rotated by one per round.
	runs := len(asioHints) + 1
	for r := range cfg.Rounds {
		fmt.Fprintf(progress, "[executor] beside Asio, round %d/%d\n", r+1, cfg.Rounds)
		for i, sh := range asioShapes {
			s := &all[i]
			for k := range runs {
				if s.err != nil {
					break
				}
				switch j := (k + r) % runs; j {
				case 0:
					res := testing.Benchmark(sh.Beast)
					if res.N <= 0 {
						s.err = fmt.Errorf("%s: beastgo's case failed (run it under go test -bench)", sh.Shape)
						continue
					}
					s.beast = append(s.beast, float64(res.T.Nanoseconds())/float64(res.N))
				default:
					hint := asioHints[j-1]
					ns, version, err := runAsioShape(bin, sh.Shape, hint, cfg)
					if err != nil {
						s.err = err
						continue
					}
					rep.Asio = version
					s.asio[hint] = append(s.asio[hint], ns)
				}
			}
		}
	}
	var errs []error
	for i, sh := range asioShapes {
		s := all[i]
		row := asioExecRow{Shape: sh.Shape, Label: sh.Label, Beast: newSpread(s.beast), Asio: make(map[string]spread)}
		best := 0.0
		for _, h := range asioHints {
			sp := newSpread(s.asio[h])
			row.Asio[h] = sp
			if sp.Median > 0 && (best == 0 || sp.Median < best) {
				best = sp.Median
			}
		}
		if s.err != nil {
			row.Err = s.err.Error()
			errs = append(errs, s.err)
		} else if best > 0 && row.Beast.Median > 0 {
			v := row.Beast.Median / best
			row.VsBestAsio = &v
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep, errors.Join(errs...)
}

// runAsioShape runs executor.cpp once for shape with hint and returns its ns per handler and the
// Asio it was built with.
func runAsioShape(bin, shape, hint string, cfg asioExecConfig) (ns float64, version string, err error) {
	amount := strconv.FormatFloat(float64(cfg.Duration)/float64(time.Millisecond), 'f', -1, 64)
	if cfg.Count > 0 {
		amount = "x" + strconv.Itoa(cfg.Count)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, shape, hint, amount)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, "", fmt.Errorf("executor %s %s %s: %w: %s", shape, hint, amount, err, strings.TrimSpace(stderr.String()))
	}
	return parseAsioExecOutput(out, shape, hint)
}

// parseAsioExecOutput reads executor.cpp's output: "asio NAME VERSION", then
// "SHAPE HINT NS_PER_HANDLER HANDLERS".
func parseAsioExecOutput(out []byte, shape, hint string) (ns float64, version string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 2 {
		return 0, "", fmt.Errorf("executor %s %s printed %q, want two lines", shape, hint, out)
	}
	version, ok := parseAsioVersion(lines[0])
	if !ok {
		return 0, "", fmt.Errorf("executor %s %s: first line %q names no Asio", shape, hint, lines[0])
	}
	f := strings.Fields(lines[1])
	if len(f) != 4 || f[0] != shape || f[1] != hint {
		return 0, "", fmt.Errorf("executor %s %s: result line %q", shape, hint, lines[1])
	}
	ns, err = strconv.ParseFloat(f[2], 64)
	if err != nil || ns <= 0 {
		return 0, "", fmt.Errorf("executor %s %s: result line %q: bad ns per handler", shape, hint, lines[1])
	}
	return ns, version, nil
}

// parseAsioVersion reads "asio NAME VERSION" into "NAME VERSION".
func parseAsioVersion(line string) (string, bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "asio" {
		return "", false
	}
	return f[1] + " " + f[2], true
}

// asioExecLegend explains the table under it.
const asioExecLegend = "ns per handler, median of the rounds [min-max]; beastgo's body is the executor group's case of the same shape.\n" +
	"Asio hint 1: io_context(1); default: io_context(). vs best Asio: beastgo's median over the lower of Asio's; below 1 is faster."

// writeAsioExecTable prints the comparison.
func writeAsioExecTable(b *strings.Builder, rep *asioExecReport) {
	cfg := rep.Config
	how := fmt.Sprintf("%s of at least %v per measurement, interleaved", plural(cfg.Rounds, "round"), cfg.Duration)
	if cfg.Count > 0 {
		how = fmt.Sprintf("%s of %d handlers", plural(cfg.Rounds, "round"), cfg.Count)
	}
	if rep.Skip != "" {
		fmt.Fprintf(b, "\nexecutor beside Asio: skipped: %s\n", rep.Skip)
		return
	}
	fmt.Fprintf(b, "\nexecutor beside %s (%s; %s)\n\n", rep.Asio, rep.Build, how)
	rows := [][]string{{"shape", "beastgo ns/handler", "Asio hint 1", "Asio default", "vs best Asio"}}
	for _, r := range rep.Rows {
		if r.Err != "" && r.VsBestAsio == nil {
			rows = append(rows, []string{r.Label, "FAILED", "-", "-", "-"})
			continue
		}
		rows = append(rows, []string{r.Label, formatSpread(r.Beast), formatSpread(r.Asio["1"]), formatSpread(r.Asio["default"]), formatVs(r.VsBestAsio)})
	}
	alignRows(b, rows, []bool{false, true, true, true, true})
	b.WriteString("\n" + asioExecLegend + "\n")
}

// plural is "1 round", "5 rounds".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
