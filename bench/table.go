package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/beastgo/beast/internal/benchcases"
)

// result is one case's measurement, per op of its benchmark: a handler, a composed operation, a
// round trip, as Unit says. Over several rounds (measureCases), Iterations to BytesPerOp are the
// median round's (medianRound), and the NsPerOp fields after them give the range.
type result struct {
	Group       string  `json:"group"`
	Name        string  `json:"name"`
	Unit        string  `json:"unit"`
	Baseline    bool    `json:"baseline"`
	Iterations  int     `json:"iterations"`
	NsPerOp     float64 `json:"ns_per_op"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	// Rounds is how many rounds measured the case; NsPerOpMin and NsPerOpMax are the fastest
	// and slowest round's ns/op, and NsPerOpRounds each round's, in the order measured. All are
	// zero in a single measurement (newResult) and in reports written before the rounds.
	Rounds        int       `json:"rounds,omitempty"`
	NsPerOpMin    float64   `json:"ns_per_op_min,omitempty"`
	NsPerOpMax    float64   `json:"ns_per_op_max,omitempty"`
	NsPerOpRounds []float64 `json:"ns_per_op_rounds,omitempty"`
	// Ratio is NsPerOp divided by the group baseline's NsPerOp: below 1 is faster than the
	// baseline. It is null when it cannot be computed (no single baseline, or a failed case).
	Ratio  *float64 `json:"ratio"`
	Failed bool     `json:"failed,omitempty"`
}

// report is everything one run prints, as a table or as JSON.
type report struct {
	Machine   machine `json:"machine"`
	Benchtime string  `json:"benchtime"`
	// Rounds is how many rounds each case ran, benchtime split between them (roundBenchtime).
	Rounds  int      `json:"rounds"`
	Results []result `json:"results"`
	// WebSocket is the comparison with the Go WebSocket libraries; absent when it did not run.
	WebSocket *wsReport `json:"websocket,omitempty"`
}

// newResult turns testing's totals into per-op figures. It divides itself instead of using
// BenchmarkResult.NsPerOp and AllocsPerOp because those truncate to integers, which erases the
// difference between a 3.4 ns and a 3.9 ns handler and hides amortised allocations below one.
func newResult(c benchcases.Case, r testing.BenchmarkResult) result {
	res := result{Group: c.Group, Name: c.Name, Unit: unitOf(c), Baseline: c.Baseline, Iterations: r.N}
	if r.N <= 0 {
		// testing.Benchmark returns a zero result when the benchmark failed or skipped.
		res.Failed = true
		return res
	}
	n := float64(r.N)
	res.NsPerOp = float64(r.T.Nanoseconds()) / n
	if res.NsPerOp > 0 { // a case that stopped its timer throughout would divide by zero
		res.OpsPerSec = 1e9 / res.NsPerOp
	}
	res.AllocsPerOp = float64(r.MemAllocs) / n
	res.BytesPerOp = float64(r.MemBytes) / n
	return res
}

// unitOf is what one op of c's benchmark is: a handler unless the case says otherwise.
func unitOf(c benchcases.Case) string {
	if c.Unit == "" {
		return "handler"
	}
	return c.Unit
}

// setRatios fills in each result's Ratio against its group's baseline. A group without exactly
// one usable baseline gets no ratios: dividing by a guess would be worse than a blank.
func setRatios(results []result) {
	baselines := make(map[string][]float64)
	for _, r := range results {
		if r.Baseline {
			ns := r.NsPerOp
			if r.Failed {
				ns = 0
			}
			baselines[r.Group] = append(baselines[r.Group], ns)
		}
	}
	for i := range results {
		r := &results[i]
		b := baselines[r.Group]
		r.Ratio = nil
		if len(b) != 1 || b[0] <= 0 || r.Failed {
			continue
		}
		ratio := r.NsPerOp / b[0]
		r.Ratio = &ratio
	}
}

// writeJSON prints rep as indented JSON, for scripts and for keeping runs to compare later.
func writeJSON(w io.Writer, rep report) error {
	if rep.Results == nil {
		rep.Results = []result{} // "results": [] reads better to a script than null
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// ratioHeader names the ratio column; ratioLegend, printed under the table, says which way the
// division goes, because "2x" alone could mean either twice as fast or twice as slow.
// roundsLegend, printed above it, says where the figures of a row come from.
const (
	ratioHeader  = "time vs baseline"
	roundsLegend = "ns/op: the median of the rounds [fastest-slowest]; ops/s, allocs/op: the median round's.\n"
	ratioLegend  = "per: what one op is. time vs baseline: the case's median ns/op divided by its group baseline's.\n" +
		"0.50x = half the baseline's time (2x faster); 2.00x = twice the baseline's time (2x slower)."
)

// writeTable prints rep for a person: the machine first, then one aligned row per case, with
// text columns left-aligned and numbers right-aligned so their magnitudes line up.
func writeTable(w io.Writer, rep report) error {
	var b strings.Builder
	m := rep.Machine
	cpu := m.CPUModel
	if cpu == "" {
		cpu = "unknown CPU model"
	}
	fmt.Fprintf(&b, "machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", m.GOOS, m.GOARCH, m.NumCPU, m.GOMAXPROCS, cpu)
	fmt.Fprintf(&b, "go:      %s\n", m.GoVersion)
	rounds := rep.Rounds
	if len(rep.Results) == 0 {
		rounds = 0 // the rounds are the case table's; the other tables say how they measured
	}
	fmt.Fprintf(&b, "benchtime: %s\n\n", describeRounds(rep.Benchtime, rounds))

	if len(rep.Results) == 0 && rep.WebSocket == nil {
		b.WriteString("no cases ran\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	if len(rep.Results) > 0 {
		writeCaseTable(&b, rep.Results)
	}
	if rep.WebSocket != nil {
		writeWSTables(&b, rep.WebSocket)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCaseTable prints the cases' results, one aligned row each, and the legend.
func writeCaseTable(b *strings.Builder, results []result) {
	rows := [][]string{{"group", "case", "per", "ns/op", "ops/s", "allocs/op", ratioHeader}}
	for _, r := range results {
		if r.Failed {
			rows = append(rows, []string{r.Group, r.Name, r.Unit, "FAILED", "-", "-", "-"})
			continue
		}
		rows = append(rows, []string{
			r.Group, r.Name, r.Unit, formatSpread(nsSpread(r)), formatRate(r.OpsPerSec),
			formatAllocs(r.AllocsPerOp), formatRatio(r),
		})
	}
	alignRows(b, rows, []bool{false, false, false, true, true, true, true})
	b.WriteString("\n")
	if slices.ContainsFunc(results, func(r result) bool { return r.Rounds > 1 }) {
		b.WriteString(roundsLegend)
	}
	b.WriteString(ratioLegend + "\n")
}

// alignRows writes rows as columns two spaces apart, padding each cell to its column's width on
// the right (rightAlign false) or the left (true). The last column carries no trailing spaces.
func alignRows(b *strings.Builder, rows [][]string, rightAlign []bool) {
	widths := make([]int, len(rightAlign))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i > 0 {
				line.WriteString("  ")
			}
			if rightAlign[i] {
				line.WriteString(pad + cell)
			} else {
				line.WriteString(cell + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

// formatNs prints a duration in ns with about three significant digits: enough to tell cases
// apart, not so many that run-to-run noise looks meaningful.
func formatNs(ns float64) string {
	switch {
	case ns < 10:
		return strconv.FormatFloat(ns, 'f', 2, 64)
	case ns < 100:
		return strconv.FormatFloat(ns, 'f', 1, 64)
	default:
		return strconv.FormatFloat(ns, 'f', 0, 64)
	}
}

// formatRate prints a per-second rate with a k, M or G suffix, so that 24.9M reads at a glance
// where 24912345 would need counting digits.
func formatRate(perSec float64) string {
	switch {
	case perSec >= 1e9:
		return strconv.FormatFloat(perSec/1e9, 'f', 1, 64) + "G"
	case perSec >= 1e6:
		return strconv.FormatFloat(perSec/1e6, 'f', 1, 64) + "M"
	case perSec >= 1e3:
		return strconv.FormatFloat(perSec/1e3, 'f', 1, 64) + "k"
	default:
		return strconv.FormatFloat(perSec, 'f', 1, 64)
	}
}

// formatAllocs prints allocations per op. Whole numbers print bare, like go test's
// allocs/op; fractions keep two decimals because an amortised 0.25 allocation per op is
// worth seeing; and a tiny non-zero count prints "<0.01" rather than a misleading "0.00".
func formatAllocs(a float64) string {
	switch {
	case a == 0:
		return "0"
	case a < 0.01:
		return "<0.01"
	case a == float64(int64(a)):
		return strconv.FormatInt(int64(a), 10)
	default:
		return strconv.FormatFloat(a, 'f', 2, 64)
	}
}

// formatRatio prints a result's ratio column: "baseline" for the baseline itself, "-" where
// there is no ratio, and otherwise the time ratio with an x.
func formatRatio(r result) string {
	switch {
	case r.Ratio == nil:
		return "-"
	case r.Baseline:
		return "baseline"
	default:
		return strconv.FormatFloat(*r.Ratio, 'f', 2, 64) + "x"
	}
}
