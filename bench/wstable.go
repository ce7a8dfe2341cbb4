package main

import (
	"fmt"
	"strconv"
	"strings"
)

// wsLegend explains the websocket tables' columns under them.
const wsLegend = "Echo servers in child processes, one client for all; each figure is the median of the rounds, [min-max] beside it.\n" +
	"server CPU: the server process's user+system CPU time per round trip; client: the client's (this process), median.\n" +
	"MB/s: payload bytes both ways, 10^6 per second. " +
	"p50, p99: round-trip latency seen by the client.\nallocs/msg: the server's heap allocations per message echoed.\n" +
	"vs best peer: server CPU (memory: RSS) divided by that of the best of gorilla, coder, gobwas and nbio; below 1 is better."

// writeWSTables prints the websocket comparison's echo and memory tables.
func writeWSTables(b *strings.Builder, rep *wsReport) {
	cfg := rep.Config
	how := fmt.Sprintf("%d rounds of %v per server and case", cfg.Rounds, cfg.Duration)
	if cfg.Count > 0 {
		how = fmt.Sprintf("%d round(s) of %d round trips per connection", cfg.Rounds, cfg.Count)
	}
	fmt.Fprintf(b, "\nwebsocket echo (%s)\n\n", how)
	rows := [][]string{{"case", "server", "server CPU µs/rt", "client", "rt/s", "MB/s", "p50 µs", "p99 µs", "allocs/msg", "vs best peer"}}
	for i, r := range rep.Echo {
		name := r.Case.name()
		if i > 0 && rep.Echo[i-1].Case == r.Case {
			name = ""
		}
		if r.Err != "" && r.ServerCPU.Median == 0 {
			rows = append(rows, []string{name, r.Label, "FAILED", "-", "-", "-", "-", "-", "-", "-"})
			continue
		}
		rows = append(rows, []string{
			name, r.Label, formatSpread(r.ServerCPU), formatSig(r.ClientCPU.Median), formatRateSpread(r.RoundTrips),
			formatSig(r.MBps.Median), formatSpread(r.P50), formatSpread(r.P99),
			formatAllocs(r.Allocs.Median), formatVs(r.VsBestPeer),
		})
	}
	alignRows(b, rows, []bool{false, false, true, true, true, true, true, true, true, true})

	fmt.Fprintf(b, "\nwebsocket idle memory (%d connections, each after one 16 B echo; %d rounds, a fresh server each)\n\n", firstConns(rep.Memory), cfg.MemRounds)
	rows = [][]string{{"server", "RSS B/conn", "heap+stacks B/conn", "goroutines/conn", "vs best peer"}}
	for _, r := range rep.Memory {
		if r.Err != "" && r.HeapPerConn.Median == 0 {
			rows = append(rows, []string{r.Label, "FAILED", "-", "-", "-"})
			continue
		}
		rows = append(rows, []string{
			r.Label, formatSpread(r.RSSPerConn), formatSpread(r.HeapPerConn),
			strconv.FormatFloat(r.GoroutinesPer.Median, 'f', 2, 64), formatVs(r.VsBestPeer),
		})
	}
	alignRows(b, rows, []bool{false, true, true, true, true})
	b.WriteString("\n" + wsLegend + "\n")
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
