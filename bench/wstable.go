package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// wsLegend explains the websocket tables' columns under them.
const wsLegend = "Echo servers in child processes, one client for all; each figure is the median of the rounds, [min-max] beside it.\n" +
	"server CPU: the server process's user+system CPU time per round trip; client: the client's (this process), median.\n" +
	"MB/s: payload bytes both ways, 10^6 per second. " +
	"p50, p99: round-trip latency seen by the client.\nallocs/msg: the server's heap allocations per message echoed.\n" +
	"vs best peer: server CPU (memory: RSS) divided by that of the best of gorilla, coder, gobwas and nbio; below 1 is better."

// wsBeastLegend is added to wsLegend when Beast's server ran.
const wsBeastLegend = "vs Beast: the same over Boost.Beast's C++ server's (not among the peers above); below 1 is better.\n" +
	"n/a: Beast's server is not a Go program: it has no Go heap, goroutines or allocation count."

// writeWSTables prints the websocket comparison's echo and memory tables.
func writeWSTables(b *strings.Builder, rep *wsReport) {
	cfg := rep.Config
	how := fmt.Sprintf("%d rounds of %v per server and case", cfg.Rounds, cfg.Duration)
	if cfg.Count > 0 {
		how = fmt.Sprintf("%d round(s) of %d round trips per connection", cfg.Rounds, cfg.Count)
	}
	fmt.Fprintf(b, "\nwebsocket echo (%s)\n\n", how)
	echoVsBeast := slices.ContainsFunc(rep.Echo, func(r echoRow) bool { return r.VsBeast != nil })
	rows := [][]string{withBeast(echoVsBeast, []string{"case", "server", "server CPU µs/rt", "client", "rt/s", "MB/s", "p50 µs", "p99 µs", "allocs/msg", "vs best peer"}, "vs Beast")}
	for i, r := range rep.Echo {
		name := r.Case.name()
		if i > 0 && rep.Echo[i-1].Case == r.Case {
			name = ""
		}
		var row []string
		switch {
		case r.Skip != "":
			row = []string{name, r.Label, "skipped: " + r.Skip, "", "", "", "", "", "", ""}
		case !r.measured():
			row = []string{name, r.Label, "FAILED", "-", "-", "-", "-", "-", "-", "-"}
		default:
			allocs := "n/a"
			if r.Allocs != nil {
				allocs = formatAllocs(r.Allocs.Median)
			}
			row = []string{
				name, r.Label, formatSpread(r.ServerCPU), formatSig(r.ClientCPU.Median), formatRateSpread(r.RoundTrips),
				formatSig(r.MBps.Median), formatSpread(r.P50), formatSpread(r.P99),
				allocs, formatVs(r.VsBestPeer),
			}
		}
		rows = append(rows, withBeast(echoVsBeast, row, formatVs(r.VsBeast)))
	}
	alignRows(b, rows, withRight(echoVsBeast, []bool{false, false, true, true, true, true, true, true, true, true}))

	fmt.Fprintf(b, "\nwebsocket idle memory (%d connections, each after one 16 B echo; %d rounds, a fresh server each)\n\n", firstConns(rep.Memory), cfg.MemRounds)
	memVsBeast := slices.ContainsFunc(rep.Memory, func(r memRow) bool { return r.VsBeast != nil })
	rows = [][]string{withBeast(memVsBeast, []string{"server", "RSS B/conn", "heap+stacks B/conn", "goroutines/conn", "vs best peer"}, "vs Beast")}
	for _, r := range rep.Memory {
		var row []string
		switch {
		case r.Skip != "":
			row = []string{r.Label, "skipped: " + r.Skip, "", "", ""}
		case !r.measured():
			row = []string{r.Label, "FAILED", "-", "-", "-"}
		default:
			heap, gs := "n/a", "n/a"
			if r.HeapPerConn != nil {
				heap = formatSpread(*r.HeapPerConn)
			}
			if r.GoroutinesPer != nil {
				gs = strconv.FormatFloat(r.GoroutinesPer.Median, 'f', 2, 64)
			}
			row = []string{r.Label, formatSpread(r.RSSPerConn), heap, gs, formatVs(r.VsBestPeer)}
		}
		rows = append(rows, withBeast(memVsBeast, row, formatVs(r.VsBeast)))
	}
	alignRows(b, rows, withRight(memVsBeast, []bool{false, true, true, true, true}))
	b.WriteString("\n" + wsLegend + "\n")
	if rep.Beast != "" {
		b.WriteString(wsBeastLegend + "\nBeast: " + rep.Beast + ".\n")
	}
}

// withBeast is row with cell added as its last column when the table has a "vs Beast" column.
func withBeast(on bool, row []string, cell string) []string {
	if !on {
		return row
	}
	return append(row, cell)
}

// withRight is a table's alignment with the "vs Beast" column's, right-aligned, when it has one.
func withRight(on bool, right []bool) []bool {
	if !on {
		return right
	}
	return append(right, true)
}

// firstConns is the connection count of the memory table.
func firstConns(rows []memRow) int {
	if len(rows) == 0 {
		return 0
	}
	return rows[0].Conns
}

// formatSig prints x with about three significant digits, as formatNs does, and 0 bare.
func formatSig(x float64) string {
	if x == 0 {
		return "0"
	}
	return formatNs(x)
}

// formatSpread prints a spread as "median [min-max]", or just the median when the range is a
// single value.
func formatSpread(s spread) string {
	if s.Min == s.Max {
		return formatSig(s.Median)
	}
	return fmt.Sprintf("%s [%s-%s]", formatSig(s.Median), formatSig(s.Min), formatSig(s.Max))
}

// formatRateSpread is formatSpread for rates, with k and M suffixes.
func formatRateSpread(s spread) string {
	if s.Min == s.Max {
		return formatRate(s.Median)
	}
	return fmt.Sprintf("%s [%s-%s]", formatRate(s.Median), formatRate(s.Min), formatRate(s.Max))
}

// formatVs prints a ratio to the best peer, "-" when there is none.
func formatVs(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 2, 64) + "x"
}
