package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// wsGroup is the name -only selects the websocket comparison by; the case groups ws-echo and
// ws-mask belong to it too.
const wsGroup = "websocket"

// echoCase is one row group of the echo table: messages of Size bytes on Conns connections.
type echoCase struct {
	Size  int `json:"size"`
	Conns int `json:"conns"`
}

// name is how the table names the case: "1 KiB x 32 conns".
func (c echoCase) name() string {
	s := formatSize(c.Size)
	if c.Conns == 1 {
		return s + ", 1 conn"
	}
	return fmt.Sprintf("%s, %d conns", s, c.Conns)
}

// formatSize prints a byte count as the docs do: 16 B, 1 KiB, 64 KiB, 1 MiB.
func formatSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	default:
		return strconv.Itoa(n) + " B"
	}
}

// wsConfig is how much the websocket comparison measures.
type wsConfig struct {
	Rounds     int           `json:"rounds"`        // each echo figure is the median of this many measurements
	MemRounds  int           `json:"memory_rounds"` // each idle-memory figure is the median of this many
	Duration   time.Duration `json:"duration_ns"`   // how long one echo measurement runs (0 with Count)
	Count      int           `json:"count"`         // round trips per connection per measurement, instead of Duration
	Warmup     int           `json:"warmup"`        // untimed round trips per connection before each measurement
	Cases      []echoCase    `json:"cases"`         // the echo table's cases
	MemConns   int           `json:"memory_conns"`  // idle connections of the memory table
	ProfileDir string        `json:"-"`             // where the echo servers write CPU profiles; "" for none
	SkipEcho   bool          `json:"-"`             // leave the echo table out
	SkipMemory bool          `json:"-"`             // leave the idle-memory table out
}

// defaultEchoCases and fullEchoCases are the echo table's cases by default and with -full.
var (
	defaultEchoCases = []echoCase{{16, 1}, {1 << 10, 1}, {64 << 10, 1}, {1 << 10, 32}}
	fullEchoCases    = []echoCase{{16, 1}, {256, 1}, {1 << 10, 1}, {4 << 10, 1}, {64 << 10, 1}, {1 << 20, 1}, {16, 32}, {1 << 10, 32}, {1 << 10, 256}}
)

// newWSConfig derives the comparison's size from -benchtime and -full: with a duration d, each
// echo measurement runs d/10 in 5 rounds, and the memory table holds 1,000 connections in 3
// rounds; with -full, d and 10,000 connections in 5 rounds, and more cases. With Nx, each
// connection makes N round trips per measurement, once, and the memory table holds min(N, 100)
// connections: a smoke test.
func newWSConfig(benchtime string, full bool) (wsConfig, error) {
	cfg := wsConfig{Rounds: 5, MemRounds: 3, Warmup: 20, Cases: defaultEchoCases, MemConns: 1000}
	if full {
		cfg.Cases, cfg.MemConns, cfg.MemRounds, cfg.Warmup = fullEchoCases, 10000, 5, 100
	}
	if n, ok := strings.CutSuffix(benchtime, "x"); ok {
		count, err := strconv.Atoi(n)
		if err != nil || count <= 0 {
			return cfg, fmt.Errorf("bad -benchtime %q", benchtime)
		}
		cfg.Rounds, cfg.MemRounds, cfg.Count, cfg.Warmup, cfg.MemConns = 1, 1, count, 2, min(count, 100)
		return cfg, nil
	}
	d, err := time.ParseDuration(benchtime)
	if err != nil || d <= 0 {
		return cfg, fmt.Errorf("bad -benchtime %q", benchtime)
	}
	cfg.Duration = d / 10
	if full {
		cfg.Duration = d
	}
	return cfg, nil
}

// spread is a figure over the rounds: the median and the range.
type spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// newSpread summarises xs (not modified); the median of an even count is the mean of the middle
// two.
func newSpread(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// echoSample is one echo measurement of one server.
type echoSample struct {
	RoundTrips  int64
	Elapsed     time.Duration
	ServerCPU   time.Duration
	ClientCPU   time.Duration
	Mallocs     uint64
	P50, P99    time.Duration
	MessageSize int
}

// echoRow is one server's line of the echo table, each figure over the rounds.
type echoRow struct {
	Case       echoCase `json:"case"`
	Server     string   `json:"server"` // the -serve name
	Label      string   `json:"label"`
	Beast      bool     `json:"beastgo"`
	ServerCPU  spread   `json:"server_cpu_us_per_round_trip"`
	ClientCPU  spread   `json:"client_cpu_us_per_round_trip"`
	RoundTrips spread   `json:"round_trips_per_sec"`
	MBps       spread   `json:"mb_per_sec"` // payload bytes carried, both ways, per second, in 10^6
	P50        spread   `json:"p50_us"`
	P99        spread   `json:"p99_us"`
	// Allocs is absent for Beast's server, which has no Go heap to count.
	Allocs *spread `json:"server_allocs_per_message,omitempty"`
	// BoostBeast marks Boost.Beast's server (C++), which is not one of the Go peers.
	BoostBeast bool `json:"boost_beast,omitempty"`
	// VsBestPeer is the median server CPU per round trip divided by that of the Go peer with the
	// lowest; null when no peer was measured.
	VsBestPeer *float64 `json:"vs_best_peer"`
	// VsBeast is the median server CPU per round trip divided by Beast's; absent for Beast's own
	// row and when Beast was not measured.
	VsBeast *float64 `json:"vs_beast,omitempty"`
	Err     string   `json:"error,omitempty"`
	Skip    string   `json:"skipped,omitempty"` // why the server could not run on this machine
}

// measured reports whether the row has figures: it was not skipped and its server did not fail
// before its first measurement.
func (r echoRow) measured() bool { return r.Skip == "" && (r.Err == "" || r.ServerCPU.Median != 0) }

// memRow is one server's line of the idle-memory table.
type memRow struct {
	Server     string `json:"server"`
	Label      string `json:"label"`
	Beast      bool   `json:"beastgo"`
	Conns      int    `json:"conns"`
	RSSPerConn spread `json:"rss_bytes_per_conn"` // VmRSS growth over the connections
	// HeapPerConn (heap and stacks in use after a GC) and GoroutinesPer are absent for Beast's
	// server, which is not a Go program.
	HeapPerConn   *spread `json:"heap_bytes_per_conn,omitempty"`
	GoroutinesPer *spread `json:"goroutines_per_conn,omitempty"`
	BoostBeast    bool    `json:"boost_beast,omitempty"` // Boost.Beast's server (C++), not a Go peer
	// VsBestPeer is the median RSS per connection divided by the lowest of the Go peers'.
	VsBestPeer *float64 `json:"vs_best_peer"`
	// VsBeast is the median RSS per connection divided by Beast's; absent for Beast's own row and
	// when Beast was not measured.
	VsBeast *float64 `json:"vs_beast,omitempty"`
	Err     string   `json:"error,omitempty"`
	Skip    string   `json:"skipped,omitempty"` // why the server could not run on this machine
}

// measured reports whether the row has figures: it was not skipped and its server did not fail
// before its first measurement.
func (r memRow) measured() bool {
	return r.Skip == "" && (r.Err == "" || r.HeapPerConn != nil || r.RSSPerConn.Median != 0)
}

// wsReport is the websocket comparison's part of the report.
type wsReport struct {
	Config wsConfig  `json:"config"`
	Echo   []echoRow `json:"echo"`
	Memory []memRow  `json:"memory"`
	// Beast says which Beast ran, how it was compiled and its timeouts:
	// "Boost.Beast/300 Boost 1.74.0, g++ -O2, timeouts none"; absent when it did not.
	Beast string `json:"beast,omitempty"`
}

// runWebSocket measures every server of echoServers on every echo case and every server of
// memoryServers at rest, interleaving the servers within each round so that the machine's noise
// falls on all of them alike. Progress goes to progress. Beast's server is compiled first; where
// it cannot be, its rows say why. A server that fails gets its error in its row and the others go
// on; the error returned joins them all.
func runWebSocket(cfg wsConfig, progress io.Writer) (*wsReport, error) {
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintf(progress, "bench: %v\n", err)
	}
	rep := &wsReport{Config: cfg}
	if cfg.SkipEcho && cfg.SkipMemory {
		return rep, nil
	}
	beast := prepareBeast(progress)
	rep.Beast = beast.version
	var errs []error
	if !cfg.SkipEcho {
		echo, err := runEchoTable(cfg, beast, progress)
		rep.Echo = echo
		errs = append(errs, err)
	}
	if !cfg.SkipMemory {
		mem, err := runMemoryTable(cfg, beast, progress)
		rep.Memory = mem
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// runEchoTable starts every echo server once and measures the cases, round by round, each round
// visiting the servers in an order rotated by one. beast is how Beast's server was built.
func runEchoTable(cfg wsConfig, beast beastBuild, progress io.Writer) ([]echoRow, error) {
	children := make([]*child, len(echoServers))
	failed := make([]error, len(echoServers))
	skipped := make([]string, len(echoServers))
	for i, s := range echoServers {
		if s.cpp && (beast.skip != "" || beast.err != nil) {
			skipped[i], failed[i] = beast.skip, beast.err
			continue
		}
		profile := ""
		if cfg.ProfileDir != "" && !s.cpp {
			profile = filepath.Join(cfg.ProfileDir, s.name+".pprof")
		}
		children[i], failed[i] = startChild(s.name, profile)
	}
	defer func() {
		for _, c := range children {
			if c != nil {
				if err := c.close(); err != nil {
					fmt.Fprintf(progress, "bench: %v\n", err)
				}
			}
		}
	}()
	names := make([]string, len(echoServers))
	for i, s := range echoServers {
		names[i] = s.name
	}
	var rows []echoRow
	var errs []error
	for _, ec := range cfg.Cases {
		samples := measureRounds(cfg.Rounds, names, "[websocket] echo", ec.name(), func(i int) bool { return skipped[i] != "" }, failed,
			func(i int) (echoSample, error) { return measureEcho(children[i], ec, cfg) }, progress)
		caseRows := make([]echoRow, len(echoServers))
		for i, s := range echoServers {
			caseRows[i] = newEchoRow(ec, s, samples[i], failed[i], skipped[i])
		}
		setEchoRatios(caseRows)
		rows = append(rows, caseRows...)
	}
	for _, err := range failed {
		errs = append(errs, err)
	}
	return rows, errors.Join(errs...)
}

// perTrip is d in µs per round trip.
func perTrip(d time.Duration, trips int64) float64 {
	if trips == 0 {
		return 0
	}
	return float64(d.Nanoseconds()) / 1e3 / float64(trips)
}

// newEchoRow summarises a server's samples of a case; skip is why it did not run, if it did not.
func newEchoRow(ec echoCase, s serverInfo, samples []echoSample, err error, skip string) echoRow {
	row := echoRow{Case: ec, Server: s.name, Label: s.label, Beast: s.beast, BoostBeast: s.cpp, Skip: skip}
	if err != nil {
		row.Err = err.Error()
	}
	if len(samples) == 0 {
		if row.Err == "" && skip == "" {
			row.Err = "no measurement"
		}
		return row
	}
	var cpu, ccpu, rate, mbps, p50, p99, allocs []float64
	for _, x := range samples {
		sec := x.Elapsed.Seconds()
		cpu = append(cpu, perTrip(x.ServerCPU, x.RoundTrips))
		ccpu = append(ccpu, perTrip(x.ClientCPU, x.RoundTrips))
		rate = append(rate, float64(x.RoundTrips)/sec)
		mbps = append(mbps, float64(x.RoundTrips)*2*float64(x.MessageSize)/sec/1e6)
		p50 = append(p50, float64(x.P50.Nanoseconds())/1e3)
		p99 = append(p99, float64(x.P99.Nanoseconds())/1e3)
		allocs = append(allocs, float64(x.Mallocs)/float64(x.RoundTrips))
	}
	row.ServerCPU, row.ClientCPU, row.RoundTrips, row.MBps = newSpread(cpu), newSpread(ccpu), newSpread(rate), newSpread(mbps)
	row.P50, row.P99 = newSpread(p50), newSpread(p99)
	if !s.cpp {
		a := newSpread(allocs)
		row.Allocs = &a
	}
	return row
}

// setEchoRatios sets each row's VsBestPeer from the Go peers' median server CPU per round trip,
// and VsBeast from Beast's.
func setEchoRatios(rows []echoRow) {
	figure := func(i int) (float64, bool, bool) {
		r := rows[i]
		return r.ServerCPU.Median, !r.Beast && !r.BoostBeast, r.Err == "" && r.Skip == ""
	}
	peers := ratiosToBestPeer(len(rows), figure)
	beast := ratiosToBeast(len(rows), func(i int) bool { return rows[i].BoostBeast }, figure)
	for i := range rows {
		rows[i].VsBestPeer, rows[i].VsBeast = peers[i], beast[i]
	}
}

// ratiosToBeast divides each of n usable figures by Beast's, the one of the row isBeast picks,
// figure as ratiosToBestPeer's. Beast's own row, unusable figures, and all of them when Beast's is
// unusable or not positive, get nil.
func ratiosToBeast(n int, isBeast func(i int) bool, figure func(i int) (v float64, peer, usable bool)) []*float64 {
	out := make([]*float64, n)
	ref := 0.0
	for i := range n {
		if v, _, usable := figure(i); isBeast(i) && usable {
			ref = v
		}
	}
	if ref <= 0 {
		return out
	}
	for i := range n {
		if v, _, usable := figure(i); usable && !isBeast(i) {
			r := v / ref
			out[i] = &r
		}
	}
	return out
}

// ratiosToBestPeer divides each of n figures by the lowest positive figure of a peer, where
// figure(i) returns the i-th figure, whether it is a peer's, and whether it is usable (its
// server did not fail). Unusable figures, and all of them when no peer has one, get nil.
func ratiosToBestPeer(n int, figure func(i int) (v float64, peer, usable bool)) []*float64 {
	best := 0.0
	for i := range n {
		if v, peer, usable := figure(i); peer && usable && v > 0 && (best == 0 || v < best) {
			best = v
		}
	}
	out := make([]*float64, n)
	for i := range n {
		if v, _, usable := figure(i); best > 0 && usable {
			r := v / best
			out[i] = &r
		}
	}
	return out
}

// measureEcho opens ec.Conns connections to c's server, warms them up, and measures round trips
// on all of them at once: for cfg.Duration, or cfg.Count round trips per connection.
func measureEcho(c *child, ec echoCase, cfg wsConfig) (echoSample, error) {
	conns := make([]*wsClientConn, 0, ec.Conns)
	defer func() {
		for _, cc := range conns {
			cc.close()
		}
	}()
	for i := range ec.Conns {
		cc, err := dialWS(c.addr, localAddr(i), ec.Size)
		if err != nil {
			return echoSample{}, err
		}
		conns = append(conns, cc)
	}
	// Warm up: the first trip of each connection checks the echo's bytes.
	if err := eachConn(conns, func(cc *wsClientConn, _ *[]time.Duration) error {
		for k := range max(cfg.Warmup, 1) {
			if err := cc.roundTrip(k == 0); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return echoSample{}, fmt.Errorf("warm-up: %w", err)
	}

	before, err := c.stats(false)
	if err != nil {
		return echoSample{}, err
	}
	cu0, cs0 := processCPU()
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var trips atomic.Int64
	lats := make([][]time.Duration, len(conns))
	err = eachConn(conns, func(cc *wsClientConn, lat *[]time.Duration) error {
		n := 0
		for {
			t0 := time.Now()
			if cfg.Count > 0 && n >= cfg.Count || cfg.Count == 0 && !t0.Before(deadline) {
				break
			}
			if err := cc.roundTrip(false); err != nil {
				return err
			}
			*lat = append(*lat, time.Since(t0))
			n++
		}
		trips.Add(int64(n))
		return cc.roundTrip(true) // the last trip checks the echo's bytes, untimed
	}, lats...)
	elapsed := time.Since(start)
	cu1, cs1 := processCPU()
	if err != nil {
		return echoSample{}, err
	}
	after, err := c.stats(false)
	if err != nil {
		return echoSample{}, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	n := trips.Load()
	if n == 0 {
		return echoSample{}, errors.New("no round trip completed")
	}
	return echoSample{
		RoundTrips: n, Elapsed: elapsed, MessageSize: ec.Size,
		ServerCPU: time.Duration(after.cpuNs() - before.cpuNs()),
		ClientCPU: (cu1 + cs1) - (cu0 + cs0),
		Mallocs:   after.Mallocs - before.Mallocs,
		P50:       percentile(all, 0.50), P99: percentile(all, 0.99),
	}, nil
}

// percentile is the p-th quantile of sorted (nearest rank), 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// eachConn runs f for every connection at once, a goroutine each, and returns the first error.
// lats, if given, has one latency slice per connection, passed to f.
func eachConn(conns []*wsClientConn, f func(*wsClientConn, *[]time.Duration) error, lats ...[]time.Duration) error {
	errs := make([]error, len(conns))
	var wg sync.WaitGroup
	for i, cc := range conns {
		var lat *[]time.Duration
		if lats != nil {
			lat = &lats[i]
		} else {
			lat = new([]time.Duration)
		}
		wg.Go(func() { errs[i] = f(cc, lat) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
