package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// haveBeast reports whether this machine can build Beast's server: a g++ and Boost.Beast's
// headers (libboost-dev, which CI installs). The tests that need them say so when it cannot.
func haveBeast(t *testing.T) bool {
	t.Helper()
	_, err := os.Stat("/usr/include/boost/beast/websocket.hpp")
	return err == nil && haveAsio(t)
}

// startBeastChild builds Beast's server, skipping the test when the machine cannot, and starts it
// as a child with the timeouts setting given (beastTimeoutsEnv; "" for the default).
func startBeastChild(t *testing.T, timeouts string) *child {
	t.Helper()
	if !haveBeast(t) {
		t.Skip("g++ or Boost.Beast's headers are missing (apt-get install g++ libboost-dev)")
	}
	bin, err := defaultAsioBuilder(t).build(beastProgram)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := beastVersion(bin); err != nil || !strings.HasPrefix(v, "Boost.Beast/") {
		t.Errorf("version %q, %v", v, err)
	}
	t.Setenv(beastWSEnv, bin)
	t.Setenv(beastTimeoutsEnv, timeouts)
	c, err := startChild("beast", "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseBeastVersion(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"beast Boost.Beast/300 Boost 1.74.0\n", "Boost.Beast/300 Boost 1.74.0", true},
		{"asio Asio 1.28.0", "", false},
		{"beast Boost.Beast/300", "", false},
		{"beast Beast/300 Boost 1.74.0", "", false},
		{"", "", false},
	} {
		got, ok := parseBeastVersion(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseBeastVersion(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestBeastEchoChild speaks the child protocol with Beast's server, started as every child is
// (this test binary again, which replaces itself with the compiled ws_echo.cpp), and has it echo
// messages of each frame-length form, text as text, and one above Beast's 4 KiB write frames.
func TestBeastEchoChild(t *testing.T) {
	c := startBeastChild(t, "")
	defer c.close()
	s1, err := c.stats(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{0, 16, 125, 126, 70000, 1 << 20} {
		cc, err := dialWS(c.addr, nil, size)
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		for range 3 {
			if err := cc.roundTrip(true); err != nil {
				t.Fatalf("%d bytes: %v", size, err)
			}
		}
		cc.close()
	}

	// A text message comes back as text: the client's frame with its opcode changed.
	cc, err := dialWS(c.addr, nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	text := append([]byte{0x81}, encodeClientFrame([]byte("hello"), [4]byte{9, 8, 7, 6})[1:]...)
	if _, err := cc.conn.Write(text); err != nil {
		t.Fatal(err)
	}
	h, err := cc.br.Peek(2)
	if err != nil {
		t.Fatal(err)
	}
	if h[0] != 0x81 {
		t.Errorf("a text message echoed with first byte %#x, want 0x81 (a final text frame)", h[0])
	}
	if n, err := readMessage(cc.br, cc.back); err != nil || string(cc.back[:n]) != "hello" {
		t.Errorf("text echo %q, %v", cc.back[:n], err)
	}
	cc.close()

	s2, err := c.stats(true)
	if err != nil {
		t.Fatal(err)
	}
	if s2.cpuNs() <= s1.cpuNs() || s2.Mallocs != 0 || s2.HeapInuse != 0 || s2.Goroutines != 0 {
		t.Errorf("stats %+v then %+v: want the CPU time grown and no Go figures", s1, s2)
	}
	checkUnknownCommand(t, c)
	if err := c.close(); err != nil {
		t.Errorf("close: %v", err)
	}

	t.Setenv(beastTimeoutsEnv, "always")
	if c, err := startChild("beast", ""); err == nil {
		c.close()
		t.Error("the Beast child started with a bad timeouts setting")
	}
	t.Setenv(beastTimeoutsEnv, "")
	t.Setenv(beastWSEnv, "")
	if c, err := startChild("beast", ""); err == nil {
		c.close()
		t.Error("the Beast child started without knowing its binary")
	}
}

// TestBeastTimeoutsNone runs Beast's server without its stream timeouts, as
// BEASTGO_BENCH_BEAST_TIMEOUTS=none asks.
func TestBeastTimeoutsNone(t *testing.T) {
	c := startBeastChild(t, "none")
	defer c.close()
	cc, err := dialWS(c.addr, nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.close()
	if err := cc.roundTrip(true); err != nil {
		t.Fatal(err)
	}
}

// TestPrepareBeastSkips checks that a machine without a compiler or without Boost.Beast's
// headers gets a skip that says why, and no error.
func TestPrepareBeastSkips(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh for the fake compiler")
	}
	t.Setenv(asioCacheEnv, t.TempDir())
	t.Setenv(asioFlavourEnv, "")
	t.Setenv(beastWSEnv, "")
	for _, tc := range []struct{ cxx, want string }{
		{filepath.Join(t.TempDir(), "no-such-cxx"), "no C++ compiler"},
		{fakeCompiler(t, "ws_echo.cpp:21:2: error: #error \"beastgo-beast-missing: none\"", 1), "libboost-dev"},
	} {
		t.Setenv(cxxEnv, tc.cxx)
		var progress bytes.Buffer
		b := prepareBeast(&progress)
		if b.err != nil || b.version != "" || !strings.Contains(b.skip, tc.want) {
			t.Errorf("%s: %+v, want a skip saying %q", filepath.Base(tc.cxx), b, tc.want)
		}
		if !strings.Contains(progress.String(), "skipped: "+b.skip) || os.Getenv(beastWSEnv) != "" {
			t.Errorf("%s: progress %q, %s=%q", filepath.Base(tc.cxx), progress.String(), beastWSEnv, os.Getenv(beastWSEnv))
		}
	}
	t.Setenv(cxxEnv, fakeCompiler(t, "ws_echo.cpp:1:1: error: something else", 1))
	if b := prepareBeast(io.Discard); b.err == nil || b.skip != "" {
		t.Errorf("a compile error: %+v, want it to fail", b)
	}
}

// TestBeastSkippedComparison runs the comparison at its smallest on a machine made to lack a C++
// compiler: Beast's rows say why, the others are measured, and the run does not fail.
func TestBeastSkippedComparison(t *testing.T) {
	t.Setenv(cxxEnv, filepath.Join(t.TempDir(), "no-such-cxx"))
	t.Setenv(beastWSEnv, "")
	cfg, err := newWSConfig("2x", false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cases, cfg.MemConns = []echoCase{{16, 1}}, 2
	rep, err := runWebSocket(cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Beast != "" {
		t.Errorf("the report names a Beast that did not run: %q", rep.Beast)
	}
	for _, r := range rep.Echo {
		if r.BoostBeast != strings.Contains(r.Skip, "no C++ compiler") || r.Err != "" || r.VsBeast != nil {
			t.Errorf("echo row %s: skipped %q, error %q, vs Beast %v", r.Server, r.Skip, r.Err, r.VsBeast)
		}
	}
	for _, r := range rep.Memory {
		if r.BoostBeast != strings.Contains(r.Skip, "no C++ compiler") || r.Err != "" || r.VsBeast != nil {
			t.Errorf("memory row %s: skipped %q, error %q, vs Beast %v", r.Server, r.Skip, r.Err, r.VsBeast)
		}
	}
	var b strings.Builder
	writeWSTables(&b, rep)
	if !strings.Contains(b.String(), "skipped: no C++ compiler") || strings.Contains(b.String(), "vs Beast") {
		t.Errorf("table of a run without Beast:\n%s", b.String())
	}
}

func TestSetRatiosBeast(t *testing.T) {
	echo := []echoRow{
		{Server: "beastgo", Beast: true, ServerCPU: spread{Median: 5}},
		{Server: "gorilla", ServerCPU: spread{Median: 10}},
		{Server: "nbio", ServerCPU: spread{Median: 8}},
		{Server: "coder", ServerCPU: spread{Median: 1}, Err: "coder: boom"},
		{Server: "beast", BoostBeast: true, ServerCPU: spread{Median: 4}},
	}
	setEchoRatios(echo)
	want := []struct{ peer, beast *float64 }{
		{ptr(5.0 / 8), ptr(5.0 / 4)}, {ptr(10.0 / 8), ptr(10.0 / 4)}, {ptr(1), ptr(2)}, {nil, nil}, {ptr(0.5), nil},
	}
	for i, w := range want {
		if !sameRatio(echo[i].VsBestPeer, w.peer) || !sameRatio(echo[i].VsBeast, w.beast) {
			t.Errorf("%s: vs best peer %v, vs Beast %v; want %v, %v", echo[i].Server, deref(echo[i].VsBestPeer), deref(echo[i].VsBeast), deref(w.peer), deref(w.beast))
		}
	}

	mem := []memRow{
		{Server: "beastgo", Beast: true, RSSPerConn: spread{Median: 1000}},
		{Server: "nbio", RSSPerConn: spread{Median: 2000}},
		{Server: "beast", BoostBeast: true, RSSPerConn: spread{Median: 8000}},
	}
	setMemRatios(mem)
	if !sameRatio(mem[0].VsBeast, ptr(0.125)) || !sameRatio(mem[0].VsBestPeer, ptr(0.5)) || !sameRatio(mem[2].VsBestPeer, ptr(4)) || mem[2].VsBeast != nil {
		t.Errorf("memory ratios: beastgo %v/%v, beast %v/%v", deref(mem[0].VsBestPeer), deref(mem[0].VsBeast), deref(mem[2].VsBestPeer), deref(mem[2].VsBeast))
	}

	// Beast skipped: no ratio to it.
	mem[2] = memRow{Server: "beast", BoostBeast: true, Skip: "no C++ compiler"}
	setMemRatios(mem)
	if mem[0].VsBeast != nil || mem[1].VsBeast != nil || mem[2].VsBestPeer != nil {
		t.Errorf("Beast skipped: ratios %v %v %v", deref(mem[0].VsBeast), deref(mem[1].VsBeast), deref(mem[2].VsBestPeer))
	}
}

func sameRatio(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a-*b < 1e-9 && *b-*a < 1e-9
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// beastWSReport is a websocket comparison with Beast's server measured.
func beastWSReport() *wsReport {
	c := echoCase{16, 1}
	return &wsReport{
		Config: wsConfig{Rounds: 3, MemRounds: 1, Duration: 100 * time.Millisecond, Cases: []echoCase{c}, MemConns: 1000},
		Beast:  "Boost.Beast/300 Boost 1.74.0, g++ -O2, timeouts none",
		Echo: []echoRow{
			{Case: c, Server: "beastgo", Label: "beastgo, one Run goroutine", Beast: true, ServerCPU: spread{5, 5, 5}, Allocs: &spread{}, VsBestPeer: ptr(0.5), VsBeast: ptr(0.8)},
			{Case: c, Server: "gorilla", Label: "gorilla/websocket", ServerCPU: spread{10, 10, 10}, Allocs: &spread{3, 3, 3}, VsBestPeer: ptr(1), VsBeast: ptr(1.6)},
			{Case: c, Server: "beast", Label: "Beast (C++), one thread", BoostBeast: true, ServerCPU: spread{6.25, 6, 7}, VsBestPeer: ptr(0.625)},
		},
		Memory: []memRow{
			{Server: "beastgo", Label: "beastgo, one Run goroutine", Beast: true, Conns: 1000, RSSPerConn: spread{1000, 1000, 1000}, HeapPerConn: &spread{900, 900, 900}, GoroutinesPer: &spread{}, VsBestPeer: ptr(0.5), VsBeast: ptr(0.25)},
			{Server: "beast", Label: "Beast (C++), one thread", BoostBeast: true, Conns: 1000, RSSPerConn: spread{4000, 4000, 4000}, VsBestPeer: ptr(2)},
		},
	}
}

// TestWriteTableBeast checks Beast's rows: n/a where a Go server has runtime figures, and the
// "vs Beast" column.
func TestWriteTableBeast(t *testing.T) {
	var b strings.Builder
	writeWSTables(&b, beastWSReport())
	text := b.String()
	wantRows := [][]string{
		{"case", "server", "server", "CPU", "µs/rt", "client", "rt/s", "MB/s", "p50", "µs", "p99", "µs", "allocs/msg", "vs", "best", "peer", "vs", "Beast"},
		{"16", "B,", "1", "conn", "beastgo,", "one", "Run", "goroutine", "5.00", "0", "0.0", "0", "0", "0", "0", "0.50x", "0.80x"},
		{"gorilla/websocket", "10.0", "0", "0.0", "0", "0", "0", "3", "1.00x", "1.60x"},
		{"Beast", "(C++),", "one", "thread", "6.25", "[6.00-7.00]", "0", "0.0", "0", "0", "0", "n/a", "0.62x", "-"},
		{"server", "RSS", "B/conn", "heap+stacks", "B/conn", "goroutines/conn", "vs", "best", "peer", "vs", "Beast"},
		{"beastgo,", "one", "Run", "goroutine", "1000", "900", "0.00", "0.50x", "0.25x"},
		{"Beast", "(C++),", "one", "thread", "4000", "n/a", "n/a", "2.00x", "-"},
	}
	checkRows(t, text, wantRows)
	for _, want := range []string{wsLegend, wsBeastLegend, "Beast: Boost.Beast/300 Boost 1.74.0, g++ -O2, timeouts none."} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
}

// TestWriteJSONBeast checks that Beast's rows leave out the figures only a Go server has, and
// that the others carry their ratio to Beast.
func TestWriteJSONBeast(t *testing.T) {
	rep := sampleReport()
	rep.WebSocket = beastWSReport()
	var out bytes.Buffer
	if err := writeJSON(&out, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		WebSocket struct {
			Beast  string           `json:"beast"`
			Echo   []map[string]any `json:"echo"`
			Memory []map[string]any `json:"memory"`
		} `json:"websocket"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	ws := got.WebSocket
	if ws.Beast == "" || len(ws.Echo) != 3 || len(ws.Memory) != 2 {
		t.Fatalf("websocket part %+v", ws)
	}
	if e := ws.Echo[2]; e["boost_beast"] != true || e["server_allocs_per_message"] != nil || e["vs_beast"] != nil || e["vs_best_peer"] != 0.625 {
		t.Errorf("Beast's echo row %v", e)
	}
	if e := ws.Echo[0]; e["boost_beast"] != nil || e["vs_beast"] != 0.8 || e["server_allocs_per_message"] == nil {
		t.Errorf("beastgo's echo row %v", e)
	}
	if m := ws.Memory[1]; m["heap_bytes_per_conn"] != nil || m["goroutines_per_conn"] != nil || m["rss_bytes_per_conn"] == nil {
		t.Errorf("Beast's memory row %v", m)
	}
	if m := ws.Memory[0]; m["vs_beast"] != 0.25 || m["heap_bytes_per_conn"] == nil {
		t.Errorf("beastgo's memory row %v", m)
	}

	// The saved JSON prints the same table again.
	var again report
	if err := json.NewDecoder(bufio.NewReader(&out)).Decode(&again); err != nil {
		t.Fatal(err)
	}
	var want, replay strings.Builder
	writeWSTables(&want, rep.WebSocket)
	writeWSTables(&replay, again.WebSocket)
	if want.String() != replay.String() {
		t.Errorf("the saved report prints\n%s\nwant\n%s", replay.String(), want.String())
	}
}
