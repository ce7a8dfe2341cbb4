package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The net-echo group: TCP echo servers in child processes (beastgo's README echo on one Run
// goroutine, the same with its handlers made once, Go's net package with a goroutine per
// connection, and Asio on one thread), one Go client for all, and each server's CPU time per round
// trip from its own getrusage(2).

// netEchoID is the group's name for -run and -list.
const netEchoID = "net-echo/echo servers in child processes"

// netEchoCase is one row group: Conns connections each sending Size-byte messages and reading
// each echo before the next (ping-pong), or, Streamed, one writer and one reader per connection
// with up to streamWindow messages in flight.
type netEchoCase struct {
	Size     int  `json:"size"`
	Conns    int  `json:"conns"`
	Streamed bool `json:"streamed,omitempty"`
}

// streamWindow is how many messages a streamed connection has written and not yet read back.
const streamWindow = 4

// name is how the table names the case: "1 KiB, 32 conns", "64 KiB, 1 conn, streamed".
func (c netEchoCase) name() string {
	s := echoCase{Size: c.Size, Conns: c.Conns}.name()
	if c.Streamed {
		s += ", streamed"
	}
	return s
}

// netEchoCases are the group's cases.
var netEchoCases = []netEchoCase{{1 << 10, 32, false}, {16, 32, false}, {64 << 10, 1, true}}

// netEchoServers are the group's servers, in the order the table prints them; the Asio one last.
var netEchoServers = []serverInfo{
	{"echo-beastgo", "beastgo, one Run goroutine (README echo)", true, false},
	{"echo-beastgo-pool", "beastgo, one IOContext, a Run goroutine per core", true, false},
	{"echo-beastgo-percore", "beastgo, an IOContext per core", true, false},
	{"echo-gonet", "Go net, a goroutine per connection", false, false},
	{"echo-asio", "Asio, one thread", false, true},
}

// netEchoConfig is how much the group measures.
type netEchoConfig struct {
	Rounds     int           `json:"rounds"`
	Duration   time.Duration `json:"duration_ns"` // one measurement (0 with Count)
	Count      int           `json:"count"`       // round trips per connection instead of Duration
	Warmup     int           `json:"warmup"`      // untimed round trips per connection first
	Cases      []netEchoCase `json:"cases"`
	ProfileDir string        `json:"-"` // where the Go servers write CPU profiles; "" for none
}

// newNetEchoConfig derives the group's size from -benchtime: with a duration d, 5 rounds of d/5
// per server and case; with Nx, one round of N round trips per connection.
func newNetEchoConfig(benchtime string) (netEchoConfig, error) {
	cfg := netEchoConfig{Rounds: 5, Warmup: 20, Cases: netEchoCases}
	if n, ok := strings.CutSuffix(benchtime, "x"); ok {
		count, err := strconv.Atoi(n)
		if err != nil || count <= 0 {
			return cfg, fmt.Errorf("bad -benchtime %q", benchtime)
		}
		cfg.Rounds, cfg.Count, cfg.Warmup = 1, count, 2
		return cfg, nil
	}
	d, err := time.ParseDuration(benchtime)
	if err != nil || d <= 0 {
		return cfg, fmt.Errorf("bad -benchtime %q", benchtime)
	}
	cfg.Duration = d / 5
	return cfg, nil
}

// netEchoRow is one server's line for one case, each figure over the rounds.
type netEchoRow struct {
	Case       netEchoCase `json:"case"`
	Server     string      `json:"server"`
	Label      string      `json:"label"`
	Beast      bool        `json:"beastgo"`
	ServerCPU  spread      `json:"server_cpu_us_per_round_trip"`
	ClientCPU  spread      `json:"client_cpu_us_per_round_trip"`
	RoundTrips spread      `json:"round_trips_per_sec"`
	Allocs     spread      `json:"server_allocs_per_round_trip"` // 0 for Asio, which does not say
	// CPUVsAsio and RateVsAsio are the medians of server CPU per round trip and of round trips
	// per second divided by Asio's: CPU below 1 and rate above 1 are better than Asio.
	CPUVsAsio  *float64 `json:"cpu_vs_asio"`
	RateVsAsio *float64 `json:"rate_vs_asio"`
	Err        string   `json:"error,omitempty"`
	Skip       string   `json:"skipped,omitempty"`
}

// netEchoReport is the group's part of the report.
type netEchoReport struct {
	Config netEchoConfig `json:"config"`
	Asio   string        `json:"asio,omitempty"` // "Asio 1.22.1", when it ran
	Build  string        `json:"build,omitempty"`
	Rows   []netEchoRow  `json:"rows"`
}

// runNetEcho builds the Asio server (or notes why it cannot), starts every server once and
// measures the cases round by round, each round visiting the servers in an order rotated by one.
func runNetEcho(cfg netEchoConfig, ab *asioBuilder, progress io.Writer) (*netEchoReport, error) {
	rep := &netEchoReport{Config: cfg, Build: ab.describeBuild()}
	children := make([]*child, len(netEchoServers))
	failed := make([]error, len(netEchoServers))
	skipped := make([]string, len(netEchoServers))
	defer func() {
		for _, c := range children {
			if c != nil {
				if err := c.close(); err != nil {
					fmt.Fprintf(progress, "bench: %v\n", err)
				}
			}
		}
	}()
	for i, s := range netEchoServers {
		profile := ""
		if s.name == "echo-asio" {
			fmt.Fprintf(progress, "[net-echo] building bench/asio/echo.cpp ... ")
			bin, err := ab.build("echo")
			if reason, ok := skipReason(err); ok {
				fmt.Fprintf(progress, "skipped: %s\n", reason)
				skipped[i] = reason
				continue
			}
			if err == nil {
				rep.Asio, err = asioEchoVersion(bin)
			}
			if err != nil {
				fmt.Fprintln(progress, "FAILED")
				failed[i] = err
				continue
			}
			fmt.Fprintln(progress, "ok")
			// The child inherits this process's environment: that is how it learns the binary.
			if err := os.Setenv(asioEchoEnv, bin); err != nil {
				failed[i] = err
				continue
			}
		} else if cfg.ProfileDir != "" {
			profile = filepath.Join(cfg.ProfileDir, "net-"+s.name+".pprof")
		}
		children[i], failed[i] = startChild(s.name, profile)
	}
	names := make([]string, len(netEchoServers))
	for i, s := range netEchoServers {
		names[i] = s.name
	}
	var rows []netEchoRow
	for _, ec := range cfg.Cases {
		samples := measureRounds(cfg.Rounds, names, "[net-echo]", ec.name(), func(i int) bool { return skipped[i] != "" }, failed,
			func(i int) (echoSample, error) { return measureTCPEcho(children[i], ec, cfg) }, progress)
		caseRows := make([]netEchoRow, len(netEchoServers))
		for i, s := range netEchoServers {
			caseRows[i] = newNetEchoRow(ec, s, samples[i], failed[i], skipped[i])
		}
		setAsioRatios(caseRows)
		rows = append(rows, caseRows...)
	}
	rep.Rows = rows
	return rep, errors.Join(failed...)
}

// asioEchoVersion asks the built echo.cpp which Asio it was built with.
func asioEchoVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", bin, err)
	}
	v, ok := parseAsioVersion(strings.TrimSpace(string(out)))
	if !ok {
		return "", fmt.Errorf("%s version printed %q", bin, out)
	}
	return v, nil
}

// newNetEchoRow summarises a server's samples of a case.
func newNetEchoRow(ec netEchoCase, s serverInfo, samples []echoSample, err error, skip string) netEchoRow {
	row := netEchoRow{Case: ec, Server: s.name, Label: s.label, Beast: s.beast, Skip: skip}
	if err != nil {
		row.Err = err.Error()
	}
	if len(samples) == 0 {
		if row.Err == "" && skip == "" {
			row.Err = "no measurement"
		}
		return row
	}
	var cpu, ccpu, rate, allocs []float64
	for _, x := range samples {
		cpu = append(cpu, perTrip(x.ServerCPU, x.RoundTrips))
		ccpu = append(ccpu, perTrip(x.ClientCPU, x.RoundTrips))
		rate = append(rate, float64(x.RoundTrips)/x.Elapsed.Seconds())
		allocs = append(allocs, float64(x.Mallocs)/float64(x.RoundTrips))
	}
	row.ServerCPU, row.ClientCPU, row.RoundTrips, row.Allocs = newSpread(cpu), newSpread(ccpu), newSpread(rate), newSpread(allocs)
	return row
}

// setAsioRatios sets each row's ratios to the Asio row of the same case, when that row has figures.
func setAsioRatios(rows []netEchoRow) {
	i := slices.IndexFunc(rows, func(r netEchoRow) bool { return r.Server == "echo-asio" })
	if i < 0 || rows[i].ServerCPU.Median <= 0 || rows[i].RoundTrips.Median <= 0 {
		return
	}
	asio := rows[i]
	for j := range rows {
		r := &rows[j]
		if r.ServerCPU.Median <= 0 {
			continue
		}
		cpu, rate := r.ServerCPU.Median/asio.ServerCPU.Median, r.RoundTrips.Median/asio.RoundTrips.Median
		r.CPUVsAsio, r.RateVsAsio = &cpu, &rate
	}
}

// tcpEchoConn is one connection of the net-echo client: a blocking net.Conn, a message and a
// buffer its echo is read into.
type tcpEchoConn struct {
	conn      net.Conn
	msg, back []byte
}

// dialTCPEcho connects from local (nil: the system's choice) to addr with size-byte messages.
func dialTCPEcho(addr string, local net.IP, size int) (*tcpEchoConn, error) {
	conn, err := dialFrom(addr, local)
	if err != nil {
		return nil, err
	}
	c := &tcpEchoConn{conn: conn, msg: make([]byte, size), back: make([]byte, size)}
	for i := range c.msg {
		c.msg[i] = byte('a' + i%26)
	}
	return c, nil
}

// roundTrip writes the message and reads its echo whole, comparing it with the message when
// check is set.
func (c *tcpEchoConn) roundTrip(check bool) error {
	if _, err := c.conn.Write(c.msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(c.conn, c.back); err != nil {
		return fmt.Errorf("reading the echo of a %d-byte message: %w", len(c.msg), err)
	}
	if check && !bytes.Equal(c.back, c.msg) {
		return fmt.Errorf("the echo of a %d-byte message has other bytes", len(c.msg))
	}
	clear(c.back)
	return nil
}

// stream writes messages while a second goroutine reads their echoes, with at most streamWindow
// of them in flight, until more says stop; then it half-closes the connection, reads the echoes
// still in flight and returns how many came back. Every echo's bytes are checked.
func (c *tcpEchoConn) stream(more func(sent int) bool) (int, error) {
	window := make(chan struct{}, streamWindow)
	readerDone := make(chan struct{})
	got := 0
	var readErr error
	go func() {
		defer close(readerDone)
		for {
			if _, err := io.ReadFull(c.conn, c.back); err != nil {
				if !errors.Is(err, io.EOF) { // EOF: the server's answer to the half-close
					readErr = fmt.Errorf("reading a streamed echo: %w", err)
				}
				break
			}
			if !bytes.Equal(c.back, c.msg) {
				readErr = errors.New("a streamed echo has other bytes")
				break
			}
			got++
			<-window
		}
		if readErr != nil {
			_ = c.conn.SetDeadline(time.Now()) // a writer blocked on a full connection gives up
		}
	}()
	var err error
	sent := 0
write:
	for more(sent) {
		select {
		case window <- struct{}{}:
		case <-readerDone:
			break write
		}
		if _, err = c.conn.Write(c.msg); err != nil {
			break
		}
		sent++
	}
	if tc, ok := c.conn.(*net.TCPConn); ok {
		if cerr := tc.CloseWrite(); err == nil {
			err = cerr
		}
	}
	<-readerDone
	if err == nil && readErr == nil && got != sent {
		readErr = fmt.Errorf("%d echoes of %d streamed messages came back", got, sent)
	}
	return got, errors.Join(err, readErr)
}

// close resets the connection (SO_LINGER 0), so that many connections leave no TIME_WAIT behind.
func (c *tcpEchoConn) close() {
	if tc, ok := c.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.conn.Close()
}

// measureTCPEcho opens ec.Conns connections to c's server, warms them up, and measures round
// trips on all of them at once: for cfg.Duration, or cfg.Count round trips per connection.
func measureTCPEcho(c *child, ec netEchoCase, cfg netEchoConfig) (echoSample, error) {
	conns := make([]*tcpEchoConn, 0, ec.Conns)
	defer func() {
		for _, cc := range conns {
			cc.close()
		}
	}()
	for i := range ec.Conns {
		cc, err := dialTCPEcho(c.addr, localAddr(i), ec.Size)
		if err != nil {
			return echoSample{}, err
		}
		conns = append(conns, cc)
	}
	if !ec.Streamed {
		if err := eachTCPConn(conns, func(cc *tcpEchoConn) (int, error) {
			for k := range max(cfg.Warmup, 1) {
				if err := cc.roundTrip(k == 0); err != nil {
					return 0, err
				}
			}
			return 0, nil
		}); err != nil {
			return echoSample{}, fmt.Errorf("warm-up: %w", err)
		}
	}

	before, err := c.stats(false)
	if err != nil {
		return echoSample{}, err
	}
	cu0, cs0 := processCPU()
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	more := func(n int) bool {
		if cfg.Count > 0 {
			return n < cfg.Count
		}
		return time.Now().Before(deadline)
	}
	var trips atomic.Int64
	err = eachTCPConn(conns, func(cc *tcpEchoConn) (int, error) {
		if ec.Streamed {
			return cc.stream(more)
		}
		n := 0
		for more(n) {
			if err := cc.roundTrip(false); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}, &trips)
	elapsed := time.Since(start)
	cu1, cs1 := processCPU()
	if err != nil {
		return echoSample{}, err
	}
	after, err := c.stats(false)
	if err != nil {
		return echoSample{}, err
	}
	if !ec.Streamed { // the last trip checks the echo's bytes, untimed
		if err := eachTCPConn(conns, func(cc *tcpEchoConn) (int, error) { return 0, cc.roundTrip(true) }); err != nil {
			return echoSample{}, err
		}
	}
	n := trips.Load()
	if n == 0 {
		return echoSample{}, errors.New("no round trip completed")
	}
	return echoSample{
		RoundTrips: n, Elapsed: elapsed, MessageSize: ec.Size,
		ServerCPU: time.Duration(after.cpuNs() - before.cpuNs()),
		ClientCPU: (cu1 + cs1) - (cu0 + cs0),
		Mallocs:   after.Mallocs - before.Mallocs,
	}, nil
}

// eachTCPConn runs f for every connection at once, a goroutine each, adds the counts f returns
// to total (when given) and returns the errors joined.
func eachTCPConn(conns []*tcpEchoConn, f func(*tcpEchoConn) (int, error), total ...*atomic.Int64) error {
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, cc := range conns {
		wg.Go(func() {
			n, err := f(cc)
			for _, t := range total {
				t.Add(int64(n))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// netEchoLegend explains the table under it.
const netEchoLegend = "TCP echo servers in child processes, one Go client for all, 4 KiB read buffers; median of the rounds [min-max].\n" +
	"server CPU: the server process's user+system CPU time (getrusage) per round trip; client: this process's, median.\n" +
	"allocs/rt: the server's heap allocations per round trip (Go servers only).\n" +
	"CPU vs Asio, rt/s vs Asio: the medians over Asio's in the same case; CPU below 1 and rt/s above 1 beat Asio."

// writeNetEchoTable prints the group's table.
func writeNetEchoTable(b *strings.Builder, rep *netEchoReport) {
	cfg := rep.Config
	how := fmt.Sprintf("%s of %v per server and case, interleaved", plural(cfg.Rounds, "round"), cfg.Duration)
	if cfg.Count > 0 {
		how = fmt.Sprintf("%s of %d round trips per connection", plural(cfg.Rounds, "round"), cfg.Count)
	}
	asio := "Asio"
	if rep.Asio != "" {
		asio = rep.Asio + ", " + rep.Build
	}
	fmt.Fprintf(b, "\nnet-echo: TCP echo servers (%s; %s)\n\n", how, asio)
	rows := [][]string{{"case", "server", "server CPU µs/rt", "client", "rt/s", "allocs/rt", "CPU vs Asio", "rt/s vs Asio"}}
	for i, r := range rep.Rows {
		name := r.Case.name()
		if i > 0 && rep.Rows[i-1].Case == r.Case {
			name = ""
		}
		switch {
		case r.Skip != "":
			rows = append(rows, []string{name, r.Label, "skipped: " + r.Skip, "", "", "", "", ""})
			continue
		case r.Err != "" && r.ServerCPU.Median == 0:
			rows = append(rows, []string{name, r.Label, "FAILED", "-", "-", "-", "-", "-"})
			continue
		}
		allocs := formatAllocs(r.Allocs.Median)
		if !strings.HasPrefix(r.Server, "echo-beastgo") && r.Server != "echo-gonet" {
			allocs = "-"
		}
		rows = append(rows, []string{
			name, r.Label, formatSpread(r.ServerCPU), formatSig(r.ClientCPU.Median), formatRateSpread(r.RoundTrips),
			allocs, formatVs(r.CPUVsAsio), formatVs(r.RateVsAsio),
		})
	}
	alignRows(b, rows, []bool{false, false, true, true, true, true, true, true})
	b.WriteString("\n" + netEchoLegend + "\n")
}
