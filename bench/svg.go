package main

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// chart is a horizontal bar chart: sections of bars, one bar per figure, with the figure's
// min-max range drawn as a whisker across the bar's end.
type chart struct {
	File     string // the file name, without directory and extension
	Title    string
	Axis     string // what the bars measure, and which way is better
	Sections []chartSection
}

// chartSection is a titled run of bars: a case of a table.
type chartSection struct {
	Name string
	Bars []bar
}

// bar is one figure. Min and Max equal to Value draw no whisker.
type bar struct {
	Label     string
	Value     float64
	Min, Max  float64
	Highlight bool   // drawn in the accent colour: beastgo's rows
	Text      string // printed after the bar; formatSig(Value) when empty
}

// Chart geometry, in SVG user units (pixels).
const (
	svgWidth      = 820
	svgLabelWidth = 270 // the labels' column
	svgBarArea    = 430 // the bars' column; the rest is for the value text
	svgBarHeight  = 14
	svgRowHeight  = 20
	svgHeadHeight = 24
	svgTop        = 48
)

// renderSVG draws c as a self-contained SVG document. Each section has a scale of its own (its
// longest bar or whisker fills the bar column), so that a case of 30 µs and one of 3 ms can share
// a chart: bars compare within a section, the printed figures across them.
func renderSVG(c chart) []byte {
	rows := 0
	for _, s := range c.Sections {
		rows += len(s.Bars)
	}
	height := svgTop + len(c.Sections)*svgHeadHeight + rows*svgRowHeight + 16
	var w bytes.Buffer
	fmt.Fprintf(&w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, height, svgWidth, height)
	fmt.Fprintf(&w, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&w, `<text x="8" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(c.Title))
	fmt.Fprintf(&w, `<text x="8" y="36" fill="#555">%s</text>`+"\n", html.EscapeString(c.Axis))
	y := svgTop
	for _, s := range c.Sections {
		if s.Name != "" {
			fmt.Fprintf(&w, `<text x="8" y="%d" font-weight="bold">%s</text>`+"\n", y+16, html.EscapeString(s.Name))
		}
		y += svgHeadHeight
		scale := 0.0
		for _, b := range s.Bars {
			scale = max(scale, b.Value, b.Max)
		}
		if scale <= 0 {
			scale = 1
		}
		for _, b := range s.Bars {
			fill := "#8da0cb"
			if b.Highlight {
				fill = "#e5734a"
			}
			width := b.Value / scale * svgBarArea
			mid := y + svgBarHeight/2
			fmt.Fprintf(&w, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", svgLabelWidth-8, mid+4, html.EscapeString(b.Label))
			fmt.Fprintf(&w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", svgLabelWidth, y, width, svgBarHeight, fill)
			end := width
			if b.Max > b.Min {
				x0, x1 := svgLabelWidth+b.Min/scale*svgBarArea, svgLabelWidth+b.Max/scale*svgBarArea
				fmt.Fprintf(&w, `<path d="M%.1f %dH%.1fM%.1f %dV%dM%.1f %dV%d" stroke="#333" fill="none"/>`+"\n",
					x0, mid, x1, x0, mid-4, mid+4, x1, mid-4, mid+4)
				end = max(end, b.Max/scale*svgBarArea)
			}
			text := b.Text
			if text == "" {
				text = formatSig(b.Value)
			}
			fmt.Fprintf(&w, `<text x="%.1f" y="%d">%s</text>`+"\n", svgLabelWidth+end+6, mid+4, html.EscapeString(text))
			y += svgRowHeight
		}
	}
	w.WriteString("</svg>\n")
	return w.Bytes()
}

// unsafeFileChars are replaced in chart file names.
var unsafeFileChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// writeCharts writes every chart of rep into dir as NAME.svg and returns the files' paths.
func writeCharts(dir string, rep report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, c := range reportCharts(rep) {
		p := filepath.Join(dir, unsafeFileChars.ReplaceAllString(c.File, "_")+".svg")
		if err := os.WriteFile(p, renderSVG(c), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// reportCharts is one chart per table of rep: one per case group, and the websocket
// comparison's echo (server CPU and p99 latency) and idle-memory tables.
func reportCharts(rep report) []chart {
	var charts []chart
	var groups []string
	byGroup := make(map[string][]result)
	for _, r := range rep.Results {
		if _, ok := byGroup[r.Group]; !ok {
			groups = append(groups, r.Group)
		}
		byGroup[r.Group] = append(byGroup[r.Group], r)
	}
	for _, g := range groups {
		c := chart{File: g, Title: g}
		var sec chartSection
		for _, r := range byGroup[g] {
			if r.Failed {
				continue
			}
			sec.Bars = append(sec.Bars, caseBar(r))
			c.Axis = caseAxis(r)
		}
		c.Sections = []chartSection{sec}
		charts = append(charts, c)
	}
	if ws := rep.WebSocket; ws != nil {
		if len(ws.Echo) > 0 {
			charts = append(charts,
				echoChart(ws, "websocket-echo-cpu", "WebSocket echo: server CPU per round trip",
					"µs of server CPU (user+system) per round trip; median, whisker min-max (lower is better)",
					func(r echoRow) spread { return r.ServerCPU }, " µs"),
				echoChart(ws, "websocket-echo-p99", "WebSocket echo: p99 round-trip latency",
					"µs, 99th percentile of the client's round trips; median, whisker min-max (lower is better)",
					func(r echoRow) spread { return r.P99 }, " µs"))
		}
		if len(ws.Memory) > 0 {
			c := chart{File: "websocket-memory", Title: fmt.Sprintf("WebSocket: server RSS per idle connection, %d connections", firstConns(ws.Memory)),
				Axis: "bytes of resident memory per connection; median, whisker min-max (lower is better)"}
			var sec chartSection
			for _, r := range ws.Memory {
				if !r.measured() {
					continue
				}
				sec.Bars = append(sec.Bars, spreadBar(r.Label, r.RSSPerConn, r.Beast, " B"))
			}
			c.Sections = []chartSection{sec}
			charts = append(charts, c)
		}
	}
	return charts
}

// echoChart charts one figure of the echo table, a section per case.
func echoChart(ws *wsReport, file, title, axis string, figure func(echoRow) spread, unit string) chart {
	c := chart{File: file, Title: title, Axis: axis}
	for i, r := range ws.Echo {
		if i == 0 || ws.Echo[i-1].Case != r.Case {
			c.Sections = append(c.Sections, chartSection{Name: r.Case.name()})
		}
		if !r.measured() {
			continue
		}
		sec := &c.Sections[len(c.Sections)-1]
		sec.Bars = append(sec.Bars, spreadBar(r.Label, figure(r), r.Beast, unit))
	}
	return c
}

// spreadBar is a bar of a spread's median with its range.
func spreadBar(label string, s spread, beast bool, unit string) bar {
	return bar{Label: label, Value: s.Median, Min: s.Min, Max: s.Max, Highlight: beast, Text: strings.TrimSpace(formatSig(s.Median) + unit)}
}

// caseBar is the bar of a case: its median ns/op, or for a case whose op is a GiB its rate in
// GiB/s, with the whisker over its rounds.
func caseBar(r result) bar {
	ns := nsSpread(r)
	if r.Unit == "GiB" { // one op is a GiB, so ops/s reads as GiB/s; the slowest round is the lowest rate
		b := bar{Label: r.Name, Value: r.OpsPerSec, Min: r.OpsPerSec, Max: r.OpsPerSec, Text: formatSig(r.OpsPerSec) + " GiB/s"}
		if ns.Min > 0 && ns.Max > 0 {
			b.Min, b.Max = 1e9/ns.Max, 1e9/ns.Min
		}
		return b
	}
	return bar{Label: r.Name, Value: ns.Median, Min: ns.Min, Max: ns.Max, Text: formatNs(ns.Median) + " ns"}
}

// caseAxis is what a case's bars measure.
func caseAxis(r result) string {
	what, better := "ns per "+r.Unit, "lower"
	if r.Unit == "GiB" {
		what, better = "GiB/s", "higher"
	}
	if r.Rounds > 1 {
		return fmt.Sprintf("%s; median of the rounds, whisker min-max (%s is better)", what, better)
	}
	return fmt.Sprintf("%s (%s is better)", what, better)
}
