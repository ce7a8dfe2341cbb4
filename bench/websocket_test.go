package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// encodeServerFrame is a server's unmasked frame, for feeding readMessage.
func encodeServerFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, byte(n))
	case n <= 0xffff:
		f = append(f, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, payload...)
}

func TestEncodeClientFrame(t *testing.T) {
	key := [4]byte{1, 2, 3, 0xff}
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 70000} {
		payload := bytes.Repeat([]byte("xyz"), n/3+1)[:n]
		f := encodeClientFrame(payload, key)
		if f[0] != 0x82 || f[1]&0x80 == 0 {
			t.Fatalf("%d bytes: first bytes %#x %#x, want a final binary frame with the mask bit", n, f[0], f[1])
		}
		length, hl := int(f[1]&0x7f), 2
		switch length {
		case 126:
			length, hl = int(binary.BigEndian.Uint16(f[2:])), 4
		case 127:
			length, hl = int(binary.BigEndian.Uint64(f[2:])), 10
		}
		if length != n {
			t.Fatalf("%d bytes: the header says %d", n, length)
		}
		if n < 126 && hl != 2 || n >= 126 && n <= 0xffff && hl != 4 || n > 0xffff && hl != 10 {
			t.Errorf("%d bytes: a %d-byte length header is not the shortest", n, hl)
		}
		if got := [4]byte(f[hl : hl+4]); got != key {
			t.Errorf("%d bytes: key %v, want %v", n, got, key)
		}
		body := f[hl+4:]
		for i := range body {
			body[i] ^= key[i%4]
		}
		if !bytes.Equal(body, payload) {
			t.Errorf("%d bytes: the unmasked payload differs", n)
		}
	}
}

func TestReadMessage(t *testing.T) {
	big := bytes.Repeat([]byte{'b'}, 70000)
	var stream []byte
	stream = append(stream, encodeServerFrame(false, 0x2, []byte("hello "))...)
	stream = append(stream, encodeServerFrame(true, 0x9, []byte("ping"))...) // between fragments
	stream = append(stream, encodeServerFrame(false, 0x0, bytes.Repeat([]byte{'m'}, 300))...)
	stream = append(stream, encodeServerFrame(true, 0x0, []byte("end"))...)
	stream = append(stream, encodeServerFrame(true, 0x2, big)...)
	stream = append(stream, encodeServerFrame(true, 0x8, []byte{0x03, 0xe8})...)
	br := bufio.NewReaderSize(bytes.NewReader(stream), 64)

	dst := make([]byte, 400)
	n, err := readMessage(br, dst)
	if err != nil || n != 6+300+3 {
		t.Fatalf("fragmented message: n = %d, err = %v, want 309 bytes", n, err)
	}
	if want := "hello " + strings.Repeat("m", 300) + "end"; string(dst[:n]) != want {
		t.Errorf("fragmented message read as %q", dst[:n])
	}
	if n, err := readMessage(br, nil); err != nil || n != len(big) {
		t.Fatalf("64-bit length, discarded: n = %d, err = %v, want %d", n, err, len(big))
	}
	if _, err := readMessage(br, nil); !errors.Is(err, errServerClosed) {
		t.Errorf("close frame: err = %v, want errServerClosed", err)
	}
	if _, err := readMessage(br, nil); !errors.Is(err, io.EOF) {
		t.Errorf("after the stream: err = %v, want io.EOF", err)
	}

	masked := encodeClientFrame([]byte("x"), [4]byte{})
	if _, err := readMessage(bufio.NewReader(bytes.NewReader(masked)), nil); err == nil || !strings.Contains(err.Error(), "masked") {
		t.Errorf("masked frame from a server: err = %v, want a complaint about the mask", err)
	}
	short := encodeServerFrame(true, 0x2, []byte("truncated"))[:5]
	if _, err := readMessage(bufio.NewReader(bytes.NewReader(short)), make([]byte, 9)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestNewSpread(t *testing.T) {
	tests := []struct {
		in   []float64
		want spread
	}{
		{nil, spread{}},
		{[]float64{7}, spread{7, 7, 7}},
		{[]float64{9, 1, 5}, spread{5, 1, 9}},
		{[]float64{4, 1, 3, 10}, spread{3.5, 1, 10}},
	}
	for _, tt := range tests {
		in := append([]float64(nil), tt.in...)
		if got := newSpread(tt.in); got != tt.want {
			t.Errorf("newSpread(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
		if !slices.Equal(in, tt.in) {
			t.Errorf("newSpread reordered its input: %v, was %v", tt.in, in)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	if got := percentile(d, 0.5); got != 50 {
		t.Errorf("p50 of 1..100 = %v, want 50", got)
	}
	if got := percentile(d, 0.99); got != 99 {
		t.Errorf("p99 of 1..100 = %v, want 99", got)
	}
	if got := percentile(d[:1], 0.99); got != 1 {
		t.Errorf("p99 of one = %v, want it", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("p50 of none = %v, want 0", got)
	}
}

func TestNewWSConfig(t *testing.T) {
	cfg, err := newWSConfig("1s", false)
	if err != nil || cfg.Duration != 100*time.Millisecond || cfg.Rounds != 5 || cfg.Count != 0 || cfg.MemConns != 1000 || cfg.MemRounds != 3 || len(cfg.Cases) != 4 {
		t.Errorf("default: %+v, %v", cfg, err)
	}
	cfg, err = newWSConfig("2s", true)
	if err != nil || cfg.Duration != 2*time.Second || cfg.MemConns != 10000 || cfg.MemRounds != 5 || len(cfg.Cases) <= 4 {
		t.Errorf("-full: %+v, %v", cfg, err)
	}
	cfg, err = newWSConfig("100x", false)
	if err != nil || cfg.Count != 100 || cfg.Rounds != 1 || cfg.MemRounds != 1 || cfg.Duration != 0 || cfg.MemConns != 100 {
		t.Errorf("100x: %+v, %v", cfg, err)
	}
	if cfg, _ = newWSConfig("7x", true); cfg.MemConns != 7 {
		t.Errorf("7x -full: %d idle connections, want 7", cfg.MemConns)
	}
	for _, bad := range []string{"0x", "-3x", "x", "soon", "0s"} {
		if _, err := newWSConfig(bad, false); err == nil {
			t.Errorf("newWSConfig(%q) accepted it", bad)
		}
	}
}

func TestEchoCaseName(t *testing.T) {
	for c, want := range map[echoCase]string{
		{16, 1}: "16 B, 1 conn", {1 << 10, 32}: "1 KiB, 32 conns", {64 << 10, 1}: "64 KiB, 1 conn",
		{1 << 20, 1}: "1 MiB, 1 conn", {1500, 2}: "1500 B, 2 conns",
	} {
		if got := c.name(); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
}

func TestSetRatiosToBestPeer(t *testing.T) {
	echo := []echoRow{
		{Beast: true, ServerCPU: spread{Median: 6}},
		{ServerCPU: spread{Median: 12}},
		{ServerCPU: spread{Median: 8}},
		{ServerCPU: spread{Median: 1}, Err: "failed half way"}, // not a usable best
	}
	setEchoRatios(echo)
	for i, want := range []float64{0.75, 1.5, 1} {
		if echo[i].VsBestPeer == nil || math.Abs(*echo[i].VsBestPeer-want) > 1e-12 {
			t.Errorf("echo row %d: ratio %v, want %v", i, echo[i].VsBestPeer, want)
		}
	}
	if echo[3].VsBestPeer != nil {
		t.Errorf("a failed row got a ratio")
	}
	onlyBeast := []echoRow{{Beast: true, ServerCPU: spread{Median: 6}}}
	if setEchoRatios(onlyBeast); onlyBeast[0].VsBestPeer != nil {
		t.Errorf("ratio without any peer: %v", *onlyBeast[0].VsBestPeer)
	}

	mem := []memRow{{Beast: true, RSSPerConn: spread{Median: 500}}, {RSSPerConn: spread{Median: 2000}}, {RSSPerConn: spread{Median: 1000}}}
	setMemRatios(mem)
	for i, want := range []float64{0.5, 2, 1} {
		if mem[i].VsBestPeer == nil || math.Abs(*mem[i].VsBestPeer-want) > 1e-12 {
			t.Errorf("memory row %d: ratio %v, want %v", i, mem[i].VsBestPeer, want)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tbench\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t5\n"
	if got, err := parseVmRSS(strings.NewReader(status)); err != nil || got != 1234<<10 {
		t.Errorf("parseVmRSS = %d, %v, want %d", got, err, 1234<<10)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseVmRSS(strings.NewReader(bad)); err == nil {
			t.Errorf("parseVmRSS(%q) found a size", bad)
		}
	}
	if _, err := readRSS(os.Getpid()); err != nil && isLinux() {
		t.Errorf("readRSS of this process: %v", err)
	}
}

func isLinux() bool {
	_, err := os.Stat("/proc/self/status")
	return err == nil
}

func TestFamilyOf(t *testing.T) {
	for group, want := range map[string]string{
		"executor": "executor", "net-rtt": "net", "net-stream": "net", "ws-echo": wsGroup, "ws-mask": wsGroup, "timer": "timer",
	} {
		if got := familyOf(group); got != want {
			t.Errorf("familyOf(%q) = %q, want %q", group, got, want)
		}
	}
}

// sampleWSReport is a websocket comparison with a failed peer, for the table, JSON and charts.
func sampleWSReport() *wsReport {
	c1, c2 := echoCase{16, 1}, echoCase{1 << 10, 32}
	return &wsReport{
		Config: wsConfig{Rounds: 5, MemRounds: 3, Duration: 100 * time.Millisecond, Cases: []echoCase{c1, c2}, MemConns: 2000},
		Echo: []echoRow{
			{Case: c1, Server: "beastgo", Label: "beastgo, one Run goroutine", Beast: true, ServerCPU: spread{9.5, 9, 11}, RoundTrips: spread{40000, 38000, 41000}, MBps: spread{1.28, 1.2, 1.3}, P50: spread{24, 23, 25}, P99: spread{60, 50, 80}, Allocs: &spread{}, VsBestPeer: ptr(0.5)},
			{Case: c1, Server: "gorilla", Label: "gorilla/websocket", ServerCPU: spread{19, 19, 19}, RoundTrips: spread{30000, 30000, 30000}, Allocs: &spread{3, 3, 3}, VsBestPeer: ptr(1)},
			{Case: c2, Server: "beastgo", Label: "beastgo, one Run goroutine", Beast: true, ServerCPU: spread{5, 4, 6}, Allocs: &spread{}, VsBestPeer: ptr(0.8)},
			{Case: c2, Server: "gorilla", Label: "gorilla/websocket", Err: "gorilla: boom"},
		},
		Memory: []memRow{
			{Server: "beastgo", Label: "beastgo, one Run goroutine", Beast: true, Conns: 2000, RSSPerConn: spread{900, 850, 1000}, HeapPerConn: &spread{700, 700, 700}, GoroutinesPer: &spread{}, VsBestPeer: ptr(0.5)},
			{Server: "nbio", Label: "lesismal/nbio", Conns: 2000, RSSPerConn: spread{1800, 1700, 1900}, HeapPerConn: &spread{1500, 1500, 1500}, GoroutinesPer: &spread{}, VsBestPeer: ptr(1)},
			{Server: "coder", Label: "coder/websocket", Conns: 2000, Err: "coder: refused"},
		},
	}
}

func TestWriteTableWebSocket(t *testing.T) {
	rep := sampleReport()
	rep.WebSocket = sampleWSReport()
	var out bytes.Buffer
	if err := writeTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"websocket echo (5 rounds of 100ms per server and case)",
		"server CPU µs/rt", "vs best peer",
		"websocket idle memory (2000 connections, each after one 16 B echo; 3 rounds",
		wsLegend,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	wantRows := [][]string{
		{"16", "B,", "1", "conn", "beastgo,", "one", "Run", "goroutine", "9.50", "[9.00-11.0]", "0", "40.0k", "[38.0k-41.0k]", "1.28", "24.0", "[23.0-25.0]", "60.0", "[50.0-80.0]", "0", "0.50x"},
		{"gorilla/websocket", "19.0", "0", "30.0k", "0", "0", "0", "3", "1.00x"},
		{"1", "KiB,", "32", "conns", "beastgo,", "one", "Run", "goroutine", "5.00", "[4.00-6.00]", "0", "0.0", "0", "0", "0", "0", "0.80x"},
		{"gorilla/websocket", "FAILED", "-", "-", "-", "-", "-", "-", "-"},
		{"beastgo,", "one", "Run", "goroutine", "900", "[850-1000]", "700", "0.00", "0.50x"},
		{"lesismal/nbio", "1800", "[1700-1900]", "1500", "0.00", "1.00x"},
		{"coder/websocket", "FAILED", "-", "-", "-"},
	}
	checkRows(t, text, wantRows)

	// The websocket part alone, when no case ran.
	out.Reset()
	rep.Results = nil
	if err := writeTable(&out, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "no cases ran") || !strings.Contains(out.String(), "websocket echo") {
		t.Errorf("websocket-only table:\n%s", out.String())
	}
}

func TestWriteJSONWebSocket(t *testing.T) {
	rep := sampleReport()
	rep.WebSocket = sampleWSReport()
	var out bytes.Buffer
	if err := writeJSON(&out, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		WebSocket struct {
			Config map[string]any   `json:"config"`
			Echo   []map[string]any `json:"echo"`
			Memory []map[string]any `json:"memory"`
		} `json:"websocket"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, out.String())
	}
	ws := got.WebSocket
	if ws.Config["rounds"] != 5.0 || ws.Config["memory_conns"] != 2000.0 || len(ws.Echo) != 4 || len(ws.Memory) != 3 {
		t.Fatalf("websocket part = %+v", ws)
	}
	e := ws.Echo[0]
	cpu, _ := e["server_cpu_us_per_round_trip"].(map[string]any)
	if e["server"] != "beastgo" || e["beastgo"] != true || cpu["median"] != 9.5 || cpu["min"] != 9.0 || cpu["max"] != 11.0 || e["vs_best_peer"] != 0.5 {
		t.Errorf("echo[0] = %v", e)
	}
	for _, k := range []string{"client_cpu_us_per_round_trip", "round_trips_per_sec", "mb_per_sec", "p50_us", "p99_us", "server_allocs_per_message", "case"} {
		if _, ok := e[k]; !ok {
			t.Errorf("echo row lacks %q", k)
		}
	}
	if ws.Echo[3]["error"] != "gorilla: boom" || ws.Echo[3]["vs_best_peer"] != nil {
		t.Errorf("failed echo row = %v", ws.Echo[3])
	}
	m := ws.Memory[1]
	for _, k := range []string{"rss_bytes_per_conn", "heap_bytes_per_conn", "goroutines_per_conn", "conns", "vs_best_peer"} {
		if _, ok := m[k]; !ok {
			t.Errorf("memory row lacks %q: %v", k, m)
		}
	}

	out.Reset()
	if err := writeJSON(&out, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "websocket") {
		t.Errorf("a report without the comparison has a websocket key:\n%s", out.String())
	}
}

// svgDoc is the part of an SVG document the tests look at.
type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Rects   []struct {
		Fill  string `xml:"fill,attr"`
		Width string `xml:"width,attr"`
	} `xml:"rect"`
	Paths []struct{} `xml:"path"`
	Texts []string   `xml:"text"`
}

func TestRenderSVG(t *testing.T) {
	c := chart{
		Title: "a <title> & more", Axis: "µs (lower is better)",
		Sections: []chartSection{
			{Name: "case one", Bars: []bar{
				{Label: "beastgo", Value: 5, Min: 4, Max: 6, Highlight: true},
				{Label: "peer <x>", Value: 10, Min: 10, Max: 10},
			}},
			{Name: "case two", Bars: []bar{{Label: "beastgo", Value: 0, Min: 0, Max: 0, Text: "none"}}},
		},
	}
	var doc svgDoc
	if err := xml.Unmarshal(renderSVG(c), &doc); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, renderSVG(c))
	}
	if len(doc.Rects) != 4 { // the background and three bars
		t.Fatalf("%d rects, want 4", len(doc.Rects))
	}
	if doc.Rects[1].Fill == doc.Rects[2].Fill {
		t.Errorf("beastgo's bar has the peers' colour %s", doc.Rects[1].Fill)
	}
	// The longest figure fills the bar area; the others are to scale.
	if doc.Rects[2].Width != "430.0" || doc.Rects[1].Width != "215.0" || doc.Rects[3].Width != "0.0" {
		t.Errorf("bar widths %s, %s, %s, want 215.0, 430.0, 0.0", doc.Rects[1].Width, doc.Rects[2].Width, doc.Rects[3].Width)
	}
	if len(doc.Paths) != 1 {
		t.Errorf("%d whiskers, want 1 (only the bar with a range)", len(doc.Paths))
	}
	all := strings.Join(doc.Texts, "|")
	for _, want := range []string{"a <title> & more", "µs (lower is better)", "case one", "case two", "peer <x>", "5.00", "10.0", "none"} {
		if !strings.Contains(all, want) {
			t.Errorf("texts %q lack %q", all, want)
		}
	}
	if err := xml.Unmarshal(renderSVG(chart{Title: "empty"}), &doc); err != nil {
		t.Errorf("an empty chart is not well-formed: %v", err)
	}
}

func TestWriteCharts(t *testing.T) {
	rep := sampleReport()
	rep.Results = append(rep.Results, result{Group: "ws-mask", Name: "copy", Unit: "GiB", OpsPerSec: 12.5, NsPerOp: 8e7})
	rep.WebSocket = sampleWSReport()
	dir := filepath.Join(t.TempDir(), "charts")
	paths, err := writeCharts(dir, rep)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc svgDoc
		if err := xml.Unmarshal(data, &doc); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	want := "executor.svg ws-mask.svg websocket-echo-cpu.svg websocket-echo-p99.svg websocket-memory.svg"
	if strings.Join(names, " ") != want {
		t.Fatalf("charts %q, want %q", names, want)
	}
	mask, _ := os.ReadFile(filepath.Join(dir, "ws-mask.svg"))
	if !strings.Contains(string(mask), "12.5 GiB/s") {
		t.Errorf("ws-mask chart does not show GiB/s:\n%s", mask)
	}
	mem, _ := os.ReadFile(filepath.Join(dir, "websocket-memory.svg"))
	if strings.Contains(string(mem), "coder") || !strings.Contains(string(mem), "900 B") {
		t.Errorf("memory chart shows the failed server or lacks beastgo's figure:\n%s", mem)
	}
}

// TestRunWebSocketFlags drives run with a stand-in for the comparison, checking what it is asked
// for and that its report reaches the output.
func TestRunWebSocketFlags(t *testing.T) {
	var got []wsConfig
	stub := func(cfg wsConfig, progress io.Writer) (*wsReport, error) {
		got = append(got, cfg)
		return sampleWSReport(), nil
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-only", "websocket", "-benchtime", "5x", "-json", "-svg", dir}, fakeCases(), stub, &stdout, &stderr); code != 0 {
		t.Fatalf("run = %d; stderr:\n%s", code, stderr.String())
	}
	if len(got) != 1 || got[0].Count != 5 || got[0].SkipEcho || got[0].SkipMemory {
		t.Fatalf("comparison called with %+v, want once with Count 5 and both tables", got)
	}
	var rep report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 0 || rep.WebSocket == nil || len(rep.WebSocket.Echo) != 4 {
		t.Errorf("-only websocket ran %d cases and gave %+v", len(rep.Results), rep.WebSocket)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.svg")); len(files) != 3 {
		t.Errorf("-svg wrote %q, want the three websocket charts", files)
	}

	got = nil
	stdout.Reset()
	if code := run([]string{"-run", "memory", "-benchtime", "1s", "-full", "-list"}, fakeCases(), stub, &stdout, &stderr); code != 0 {
		t.Fatalf("-list = %d", code)
	}
	if stdout.String() != wsMemoryID+"\n" || got != nil {
		t.Errorf("-run memory -list printed %q and ran %d comparisons", stdout.String(), len(got))
	}
	stdout.Reset()
	if code := run([]string{"-run", "memory", "-full"}, fakeCases(), stub, &stdout, &stderr); code != 0 {
		t.Fatalf("-run memory = %d", code)
	}
	if len(got) != 1 || !got[0].SkipEcho || got[0].SkipMemory || got[0].MemConns != 10000 || got[0].Duration != time.Second {
		t.Errorf("-run memory -full: comparison called with %+v", got)
	}

	got = nil
	stdout.Reset()
	if code := run([]string{"-only", "g1", "-list"}, nil, stub, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "bad -only") {
		t.Errorf("-only g1: code %d, stderr %q", code, stderr.String())
	}
	if code := run([]string{"-only", "executor", "-benchtime", "3x", "-run", "g1"}, fakeCases(), stub, &stdout, &stderr); code != 0 || got != nil {
		t.Errorf("-only executor: code %d, %d comparisons run", code, len(got))
	}

	failing := func(cfg wsConfig, progress io.Writer) (*wsReport, error) {
		return sampleWSReport(), errors.New("a server failed")
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-only", "websocket", "-benchtime", "2x"}, nil, failing, &stdout, &stderr); code != 1 {
		t.Errorf("a failing comparison: code %d, want 1", code)
	}
	if !strings.Contains(stdout.String(), "websocket echo") || !strings.Contains(stderr.String(), "a server failed") {
		t.Errorf("a failing comparison must still print its tables and say why:\nstdout %s\nstderr %s", stdout.String(), stderr.String())
	}
}

// TestChildProtocol runs a real server child (this test binary again) and speaks its protocol.
func TestChildProtocol(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "cpu.pprof")
	c, err := startChild("beastgo", profile)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := c.stats(false)
	if err != nil {
		c.close()
		t.Fatal(err)
	}
	if s1.Goroutines < 2 || s1.Mallocs == 0 || s1.HeapInuse == 0 || s1.StackInuse == 0 {
		t.Errorf("implausible stats %+v", s1)
	}
	cc, err := dialWS(c.addr, nil, 100)
	if err != nil {
		c.close()
		t.Fatal(err)
	}
	for range 50 {
		if err := cc.roundTrip(true); err != nil {
			t.Fatal(err)
		}
	}
	cc.close()
	s2, err := c.stats(true)
	if err != nil {
		c.close()
		t.Fatal(err)
	}
	if s2.Mallocs < s1.Mallocs || s2.cpuNs() < s1.cpuNs() {
		t.Errorf("stats went backwards: %+v then %+v", s1, s2)
	}
	checkUnknownCommand(t, c)
	if err := c.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
		t.Errorf("the child wrote no CPU profile: %v", err)
	}

	if _, err := startChild("no-such-server", ""); err == nil || !strings.Contains(err.Error(), "did not start") {
		t.Errorf("unknown server: %v", err)
	}
}

// checkRows checks that text has a line of each of wantRows' cells, spaced as they may be.
func checkRows(t *testing.T, text string, wantRows [][]string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for _, want := range wantRows {
		found := false
		for _, l := range lines {
			if strings.Join(strings.Fields(l), " ") == strings.Join(want, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no row %q in:\n%s", want, text)
		}
	}
}

// checkUnknownCommand sends child c a command it does not know and checks that it says so.
func checkUnknownCommand(t *testing.T, c *child) {
	t.Helper()
	if _, err := io.WriteString(c.in, "bogus\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := c.out.ReadString('\n'); err != nil || !strings.HasPrefix(line, `error unknown command "bogus"`) {
		t.Errorf("unknown command answered %q, %v", line, err)
	}
}

// TestWebSocketComparison runs the whole comparison at its smallest against every real server:
// each must echo, byte for byte, and be measured.
func TestWebSocketComparison(t *testing.T) {
	cfg, err := newWSConfig("3x", false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cases = []echoCase{{16, 1}, {70000, 2}} // a 64-bit frame length, two connections at once
	cfg.MemConns = 4
	t.Setenv(beastWSEnv, "") // runWebSocket sets it for its children; undone when the test ends
	rep, err := runWebSocket(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Echo) != 2*len(echoServers) || len(rep.Memory) != len(memoryServers) {
		t.Fatalf("%d echo rows, %d memory rows", len(rep.Echo), len(rep.Memory))
	}
	beast := haveBeast(t)
	if beast != (rep.Beast != "") {
		t.Errorf("this machine can build Beast's server: %v; the report names a Beast: %q", beast, rep.Beast)
	}
	for _, r := range rep.Echo {
		if r.Skip != "" {
			if beast || !r.BoostBeast {
				t.Errorf("%s %s skipped: %s", r.Server, r.Case.name(), r.Skip)
			}
			continue
		}
		if beast && r.VsBeast == nil && !r.BoostBeast {
			t.Errorf("%s %s: no ratio to Beast", r.Server, r.Case.name())
		}
		if r.BoostBeast != (r.Allocs == nil) {
			t.Errorf("%s %s: allocations %v; a Go server counts them, Beast's cannot", r.Server, r.Case.name(), r.Allocs)
		}
		if r.Err != "" || r.ServerCPU.Median < 0 || r.RoundTrips.Median <= 0 || r.P50.Median <= 0 || r.P99.Median < r.P50.Median {
			t.Errorf("%s %s: %+v", r.Server, r.Case.name(), r)
		}
		if r.VsBestPeer == nil && r.ServerCPU.Median > 0 {
			t.Errorf("%s %s: no ratio to the best peer", r.Server, r.Case.name())
		}
	}
	for _, r := range rep.Memory {
		if r.Skip != "" {
			if beast || !r.BoostBeast {
				t.Errorf("%s idle memory skipped: %s", r.Server, r.Skip)
			}
			continue
		}
		if r.Err != "" || r.Conns != 4 {
			t.Errorf("%s idle memory: %+v", r.Server, r)
		}
		switch r.Server {
		case "beast": // C++: no goroutines to count
			if r.GoroutinesPer != nil || r.HeapPerConn != nil {
				t.Errorf("beast: goroutines %v, heap %v per connection, want none reported", r.GoroutinesPer, r.HeapPerConn)
			}
		case "beastgo", "nbio": // event loops: no goroutine per connection
			if r.GoroutinesPer.Median >= 0.5 {
				t.Errorf("%s: %.2f goroutines per idle connection, want none", r.Server, r.GoroutinesPer.Median)
			}
		default: // a goroutine per connection
			if r.GoroutinesPer.Median < 0.9 {
				t.Errorf("%s: %.2f goroutines per idle connection, want one or more", r.Server, r.GoroutinesPer.Median)
			}
		}
	}
}

func TestRunFrom(t *testing.T) {
	rep := sampleReport()
	rep.WebSocket = sampleWSReport()
	var saved bytes.Buffer
	if err := writeJSON(&saved, rep); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "run.json")
	if err := os.WriteFile(file, saved.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	never := func(wsConfig, io.Writer) (*wsReport, error) {
		t.Error("-from ran the comparison")
		return nil, nil
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-from", file, "-svg", filepath.Join(dir, "svg")}, fakeCases(), never, &stdout, &stderr); code != 0 {
		t.Fatalf("-from = %d; stderr:\n%s", code, stderr.String())
	}
	var want bytes.Buffer
	if err := writeTable(&want, rep); err != nil {
		t.Fatal(err)
	}
	if stdout.String() != want.String() {
		t.Errorf("-from printed\n%s\nwant the saved run's table\n%s", stdout.String(), want.String())
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "svg", "*.svg")); len(files) != 4 {
		t.Errorf("-from -svg wrote %q, want 4 charts (executor and the websocket three)", files)
	}
	stdout.Reset()
	if code := run([]string{"-from", file, "-json"}, nil, never, &stdout, &stderr); code != 0 || stdout.String() != saved.String() {
		t.Errorf("-from -json = %d, printed\n%s\nwant the saved JSON again", code, stdout.String())
	}
	if code := run([]string{"-from", filepath.Join(dir, "none.json")}, nil, never, &stdout, &stderr); code != 2 {
		t.Errorf("-from a missing file = %d, want 2", code)
	}
	if code := run([]string{"-from", filepath.Join(dir, "svg", "websocket-memory.svg")}, nil, never, &stdout, &stderr); code != 2 {
		t.Errorf("-from a file that is not JSON = %d, want 2", code)
	}
}
