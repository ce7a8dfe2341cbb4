package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewNetEchoConfig(t *testing.T) {
	c, err := newNetEchoConfig("1s")
	if err != nil || c.Rounds != 5 || c.Duration != 200*time.Millisecond || c.Count != 0 || len(c.Cases) != 3 {
		t.Errorf("1s: %+v %v", c, err)
	}
	c, err = newNetEchoConfig("40x")
	if err != nil || c.Rounds != 1 || c.Count != 40 || c.Duration != 0 {
		t.Errorf("40x: %+v %v", c, err)
	}
	for _, bad := range []string{"0x", "0s", "later"} {
		if _, err := newNetEchoConfig(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNetEchoCaseName(t *testing.T) {
	for c, want := range map[netEchoCase]string{
		{1 << 10, 32, false}: "1 KiB, 32 conns",
		{16, 32, false}:      "16 B, 32 conns",
		{64 << 10, 1, true}:  "64 KiB, 1 conn, streamed",
	} {
		if got := c.name(); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
}

// echoListener serves each connection with serve on a goroutine and returns the address and
// a function that closes the listener and waits for every goroutine.
func echoListener(t *testing.T, serve func(net.Conn)) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c)
			})
		}
	})
	return ln.Addr().String(), func() {
		ln.Close()
		wg.Wait()
	}
}

// echoWith echoes what it reads, passing each chunk through change first.
func echoWith(change func([]byte)) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 1000) // not a divisor of the messages: echoes split across reads
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			change(buf[:n])
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

func TestTCPEchoConnStream(t *testing.T) {
	addr, stop := echoListener(t, echoWith(func([]byte) {}))
	defer stop()
	c, err := dialTCPEcho(addr, nil, 5000)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.stream(func(sent int) bool { return sent < 37 })
	c.close()
	if err != nil || n != 37 {
		t.Errorf("stream of 37: %d echoes, %v", n, err)
	}

	c, err = dialTCPEcho(addr, nil, 16)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 5 {
		if err := c.roundTrip(k%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	c.close()
}

func TestTCPEchoConnWrongEcho(t *testing.T) {
	var flips sync.Mutex
	seen := 0
	addr, stop := echoListener(t, echoWith(func(b []byte) {
		flips.Lock()
		defer flips.Unlock()
		if seen += len(b); seen > 12000 { // corrupt the third 5000-byte message onwards
			b[0] ^= 1
		}
	}))
	defer stop()
	c, err := dialTCPEcho(addr, nil, 5000)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.stream(func(sent int) bool { return sent < 50 })
	c.close()
	if err == nil || !strings.Contains(err.Error(), "other bytes") {
		t.Errorf("a corrupted stream: %v", err)
	}

	c, err = dialTCPEcho(addr, nil, 20000)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.roundTrip(true); err == nil || !strings.Contains(err.Error(), "other bytes") {
		t.Errorf("a corrupted round trip: %v", err)
	}
	c.close()
}

func TestTCPEchoConnServerGone(t *testing.T) {
	// A server that echoes one read and then closes: the stream must end with an error, not hang.
	addr, stop := echoListener(t, func(c net.Conn) {
		buf := make([]byte, 3000)
		n, _ := c.Read(buf)
		c.Write(buf[:n])
	})
	defer stop()
	c, err := dialTCPEcho(addr, nil, 4000)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.stream(func(int) bool { return true })
	c.close()
	if err == nil {
		t.Error("a stream to a server that closed reported no error")
	}
	c, err = dialTCPEcho(addr, nil, 4000)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.roundTrip(false); err == nil {
		t.Errorf("a round trip to a server that closed: %v", err)
	}
	c.close()
}

func TestSetAsioRatios(t *testing.T) {
	rows := []netEchoRow{
		{Server: "echo-beastgo", ServerCPU: spread{Median: 9}, RoundTrips: spread{Median: 120}},
		{Server: "echo-gonet", Err: "boom"},
		{Server: "echo-asio", ServerCPU: spread{Median: 6}, RoundTrips: spread{Median: 100}},
	}
	setAsioRatios(rows)
	if rows[0].CPUVsAsio == nil || *rows[0].CPUVsAsio != 1.5 || *rows[0].RateVsAsio != 1.2 {
		t.Errorf("beastgo's ratios: %v %v", rows[0].CPUVsAsio, rows[0].RateVsAsio)
	}
	if rows[1].CPUVsAsio != nil || *rows[2].CPUVsAsio != 1 {
		t.Errorf("a failed row got a ratio, or Asio's is not 1")
	}
	noAsio := []netEchoRow{{Server: "echo-beastgo", ServerCPU: spread{Median: 9}}, {Server: "echo-asio", Skip: "no g++"}}
	setAsioRatios(noAsio)
	if noAsio[0].CPUVsAsio != nil {
		t.Error("a ratio to a skipped Asio")
	}
}

// TestNetEchoComparison runs the group at its smallest against every real server, Asio's where
// the machine can build it: each must echo byte for byte, be measured, and have its ratios.
func TestNetEchoComparison(t *testing.T) {
	ab := defaultAsioBuilder(t)
	profiles := t.TempDir()
	cfg := netEchoConfig{Rounds: 2, Count: 30, Warmup: 2, ProfileDir: profiles,
		Cases: []netEchoCase{{16, 3, false}, {70000, 1, true}}}
	rep, err := runNetEcho(cfg, ab, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	asio := haveAsio(t)
	if len(rep.Rows) != len(cfg.Cases)*len(netEchoServers) || (rep.Asio != "") != asio {
		t.Fatalf("%d rows, Asio %q (have Asio: %v)", len(rep.Rows), rep.Asio, asio)
	}
	for _, r := range rep.Rows {
		if r.Server == "echo-asio" && !asio {
			if r.Skip == "" || r.ServerCPU.Median != 0 {
				t.Errorf("Asio without g++ or headers: %+v, want a skip", r)
			}
			continue
		}
		if r.Err != "" || r.Skip != "" || r.ServerCPU.Median <= 0 || r.RoundTrips.Median <= 0 {
			t.Errorf("%s %s: %+v", r.Server, r.Case.name(), r)
		}
		if asio && (r.CPUVsAsio == nil || r.RateVsAsio == nil) {
			t.Errorf("%s %s: no ratio to Asio", r.Server, r.Case.name())
		}
	}
	// None of beastgo's servers allocates per round trip: their handlers are made once and
	// net.AsyncWrite on a socket is one operation. A closure per operation would show as one
	// allocation per round trip or more; the stats replies' own allocations fall on Go's net
	// server alike, which allocates nothing per round trip either. Under the race detector
	// sync.Pool drops what it holds at random, so only without it.
	gonet := map[string]float64{} // Go's net server's allocations per round trip, by case
	for _, r := range rep.Rows {
		if r.Server == "echo-gonet" {
			gonet[r.Case.name()] = r.Allocs.Median
		}
	}
	for _, r := range rep.Rows {
		if strings.HasPrefix(r.Server, "echo-beastgo") && !raceEnabled && r.Allocs.Median > gonet[r.Case.name()]+0.5 {
			t.Errorf("%s %s allocates %.2f per round trip, Go's net server %.2f", r.Server, r.Case.name(), r.Allocs.Median, gonet[r.Case.name()])
		}
	}
	for _, s := range []string{"echo-beastgo", "echo-beastgo-pool", "echo-beastgo-percore", "echo-gonet"} {
		if fi, err := os.Stat(filepath.Join(profiles, "net-"+s+".pprof")); err != nil || fi.Size() == 0 {
			t.Errorf("no CPU profile of %s: %v", s, err)
		}
	}
	if _, err := os.Stat(filepath.Join(profiles, "net-echo-asio.pprof")); err == nil {
		t.Error("a CPU profile was asked of the Asio child")
	}
	var b strings.Builder
	writeNetEchoTable(&b, rep)
	for _, want := range []string{"net-echo: TCP echo servers", "2 rounds of 30", "16 B, 3 conns", "streamed", "Go net, a goroutine per connection", "Asio, one thread"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestAsioEchoChild speaks the child protocol with the Asio echo server, started as every child is
// (this test binary again), which replaces itself with the compiled echo.cpp.
func TestAsioEchoChild(t *testing.T) {
	if !haveAsio(t) {
		t.Skip("g++ or the Asio headers are missing (apt-get install g++ libasio-dev)")
	}
	ab := defaultAsioBuilder(t)
	bin, err := ab.build("echo")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(asioEchoEnv, bin)
	c, err := startChild("echo-asio", "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	s1, err := c.stats(false)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := dialTCPEcho(c.addr, nil, 3000)
	if err != nil {
		t.Fatal(err)
	}
	for range 200 {
		if err := cc.roundTrip(true); err != nil {
			t.Fatal(err)
		}
	}
	cc.close()
	s2, err := c.stats(true)
	if err != nil {
		t.Fatal(err)
	}
	if s2.cpuNs() < s1.cpuNs() || s2.cpuNs() == 0 {
		t.Errorf("CPU time went from %d to %d ns", s1.cpuNs(), s2.cpuNs())
	}
	if _, err := io.WriteString(c.in, "bogus\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := c.out.ReadString('\n'); err != nil || !strings.HasPrefix(line, `error unknown command "bogus"`) {
		t.Errorf("unknown command answered %q, %v", line, err)
	}
	if err := c.close(); err != nil {
		t.Errorf("close: %v", err)
	}

	t.Setenv(asioEchoEnv, "")
	if _, err := startChild("echo-asio", ""); err == nil {
		t.Error("the Asio child started without knowing its binary")
	}
}

// TestRunSides drives run with stand-ins for the outside comparisons: what -only, -run and
// -list select, and that their sections reach the table, the JSON and -from.
func TestRunSides(t *testing.T) {
	var asked []string
	old := sides
	t.Cleanup(func() { sides = old })
	sides = &sideRunners{
		asioExec: func(cfg asioExecConfig, ab *asioBuilder, progress io.Writer) (*asioExecReport, error) {
			asked = append(asked, "asio")
			return &asioExecReport{Config: cfg, Skip: "no C++ compiler here"}, nil
		},
		netEcho: func(cfg netEchoConfig, ab *asioBuilder, progress io.Writer) (*netEchoReport, error) {
			asked = append(asked, "net-echo")
			rows := []netEchoRow{
				{Case: cfg.Cases[0], Server: "echo-beastgo", Label: "beastgo, one Run goroutine (README echo)", Beast: true,
					ServerCPU: spread{Median: 7.5, Min: 7, Max: 9}, RoundTrips: spread{Median: 110e3, Min: 100e3, Max: 120e3}},
				{Case: cfg.Cases[0], Server: "echo-asio", Label: "Asio, one thread", Skip: "no g++"},
			}
			return &netEchoReport{Config: cfg, Rows: rows}, errors.New("a server failed")
		},
	}
	runWith := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(args, fakeCases(), nil, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	if code, out, _ := runWith("-list", "-only", "executor"); code != 0 || out != asioExecID+"\n" || asked != nil {
		t.Errorf("-list -only executor: %d %q, ran %q", code, out, asked)
	}
	if code, out, _ := runWith("-list", "-run", "echo"); code != 0 || out != netEchoID+"\n" {
		t.Errorf("-list -run echo: %d %q", code, out)
	}
	if code, _, errOut := runWith("-only", "net", "-benchtime", "0x"); code != 2 || !strings.Contains(errOut, "bad -benchtime") {
		t.Errorf("a bad benchtime: %d %q", code, errOut)
	}

	code, out, errOut := runWith("-run", "beside", "-benchtime", "5x")
	if code != 0 || !slices.Equal(asked, []string{"asio"}) {
		t.Fatalf("-run beside: %d, ran %q; stderr %s", code, asked, errOut)
	}
	if !strings.Contains(out, "executor beside Asio: skipped: no C++ compiler here") || strings.Contains(out, "no cases ran") {
		t.Errorf("-run beside printed:\n%s", out)
	}

	asked = nil
	file := filepath.Join(t.TempDir(), "run.json")
	code, out, errOut = runWith("-only", "net", "-run", "net-echo", "-json", "-benchtime", "7x")
	if code != 1 || !strings.Contains(errOut, "a server failed") || !slices.Equal(asked, []string{"net-echo"}) {
		t.Fatalf("a failing net-echo: code %d, ran %q, stderr %s", code, asked, errOut)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if _, ok := got["net_echo"]; !ok || got["results"] == nil || got["machine"] == nil {
		t.Errorf("JSON keys %v, want net_echo beside the report's", keys(got))
	}
	if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runWith("-from", file)
	for _, want := range []string{"net-echo: TCP echo servers (1 round of 7 round trips per connection", "7.50 [7.00-9.00]", "110.0k [100.0k-120.0k]", "skipped: no g++"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("-from: %d, table lacks %q:\n%s%s", code, want, out, errOut)
		}
	}
	if !regexp.MustCompile(`benchtime: 7x per case\n\nnet-echo`).MatchString(out) {
		t.Errorf("the table's layout:\n%q", out)
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
