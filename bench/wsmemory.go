package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// memSample is one idle-memory measurement of one server.
type memSample struct {
	Conns      int
	RSS        int64 // VmRSS growth, bytes; -1 where /proc is not there
	Heap       int64 // growth of heap and stacks in use after a GC, bytes
	Goroutines int   // growth of the goroutine count
}

// memSettle is how long the memory measurement waits after the last connection's echo before it
// looks, so that the servers' goroutines and loops have gone back to waiting.
const memSettle = 200 * time.Millisecond

// memDialers is how many goroutines of the client open the memory table's connections.
const memDialers = 8

// memWarmConns is how many connections warm a server up before its memory is first read: each
// opened, used for one echo and closed, so that what a server's first connection costs once
// (the pages of its code read in from the executable, its pools and tables made) is in the
// baseline rather than spread over the connections measured as if each cost part of it.
const memWarmConns = 64

// runMemoryTable measures each of memoryServers at rest with cfg.MemConns connections, a fresh
// child per measurement (so that no earlier traffic's memory is reused), round by round with the
// servers' order rotated. beast is how Beast's server was built.
func runMemoryTable(cfg wsConfig, beast beastBuild, progress io.Writer) ([]memRow, error) {
	conns := cfg.MemConns
	if lim := fileLimit(); lim > 0 && uint64(conns)+256 > lim {
		conns = int(lim) - 256
		fmt.Fprintf(progress, "bench: the open-file limit is %d: the memory table uses %d connections\n", lim, conns)
	}
	samples := make([][]memSample, len(memoryServers))
	failed := make([]error, len(memoryServers))
	skipped := make([]string, len(memoryServers))
	for i, s := range memoryServers {
		if s.cpp {
			skipped[i], failed[i] = beast.skip, beast.err
		}
	}
	for r := range cfg.MemRounds {
		fmt.Fprintf(progress, "[websocket] idle memory, %d conns, round %d/%d:", conns, r+1, cfg.MemRounds)
		for k := range memoryServers {
			i := (k + r) % len(memoryServers)
			if failed[i] != nil || skipped[i] != "" {
				continue
			}
			s, err := measureMemory(memoryServers[i].name, conns)
			if err != nil {
				failed[i] = fmt.Errorf("%s, idle memory: %w", memoryServers[i].name, err)
				fmt.Fprintf(progress, " %s FAILED", memoryServers[i].name)
				continue
			}
			samples[i] = append(samples[i], s)
			fmt.Fprintf(progress, " %s %dB", memoryServers[i].name, s.RSS/int64(s.Conns))
		}
		fmt.Fprintln(progress)
	}
	rows := make([]memRow, len(memoryServers))
	for i, s := range memoryServers {
		rows[i] = newMemRow(s, conns, samples[i], failed[i], skipped[i])
	}
	setMemRatios(rows)
	return rows, errors.Join(failed...)
}

// measureMemory starts server name in a fresh child, opens conns connections to it, each
// upgraded and carrying one 16-byte echo, and reports what the child grew by.
func measureMemory(name string, conns int) (memSample, error) {
	c, err := startChild(name, "")
	if err != nil {
		return memSample{}, err
	}
	defer c.close()
	if err := warmUp(c.addr); err != nil {
		return memSample{}, fmt.Errorf("warm-up: %w", err)
	}
	before, err := c.stats(true)
	if err != nil {
		return memSample{}, err
	}
	rss0, rssErr := readRSS(c.pid())

	open := make([]*wsClientConn, conns)
	defer func() {
		for _, cc := range open {
			if cc != nil {
				cc.close()
			}
		}
	}()
	errs := make([]error, memDialers)
	var wg sync.WaitGroup
	for w := range memDialers {
		wg.Go(func() {
			for i := w; i < conns; i += memDialers {
				cc, err := dialWS(c.addr, localAddr(i), 16)
				if err == nil {
					open[i] = cc
					err = cc.roundTrip(true)
				}
				if err != nil {
					errs[w] = fmt.Errorf("connection %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return memSample{}, err
	}
	time.Sleep(memSettle)
	after, err := c.stats(true)
	if err != nil {
		return memSample{}, err
	}
	s := memSample{
		Conns:      conns,
		RSS:        -1,
		Heap:       int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse),
		Goroutines: after.Goroutines - before.Goroutines,
	}
	if rss1, err := readRSS(c.pid()); err == nil && rssErr == nil {
		s.RSS = rss1 - rss0
	}
	return s, nil
}

// warmUp opens memWarmConns connections to the server at addr, makes one 16-byte echo on each,
// closes them and gives the server memSettle to see them go.
func warmUp(addr string) error {
	for i := range memWarmConns {
		cc, err := dialWS(addr, localAddr(i), 16)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
		err = cc.roundTrip(true)
		cc.close()
		if err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
	}
	time.Sleep(memSettle)
	return nil
}

// newMemRow summarises a server's memory samples; skip is why it did not run, if it did not.
func newMemRow(s serverInfo, conns int, samples []memSample, err error, skip string) memRow {
	row := memRow{Server: s.name, Label: s.label, Beast: s.beast, BoostBeast: s.cpp, Conns: conns, Skip: skip}
	if err != nil {
		row.Err = err.Error()
	}
	if len(samples) == 0 {
		if row.Err == "" && skip == "" {
			row.Err = "no measurement"
		}
		return row
	}
	var rss, heap, gs []float64
	for _, x := range samples {
		n := float64(x.Conns)
		if x.RSS >= 0 {
			rss = append(rss, float64(x.RSS)/n)
		}
		heap = append(heap, float64(x.Heap)/n)
		gs = append(gs, float64(x.Goroutines)/n)
	}
	row.RSSPerConn = newSpread(rss)
	if !s.cpp {
		h, g := newSpread(heap), newSpread(gs)
		row.HeapPerConn, row.GoroutinesPer = &h, &g
	}
	return row
}

// setMemRatios sets each row's VsBestPeer from the Go peers' median RSS per connection, and
// VsBeast from Beast's.
func setMemRatios(rows []memRow) {
	figure := func(i int) (float64, bool, bool) {
		r := rows[i]
		return r.RSSPerConn.Median, !r.Beast && !r.BoostBeast, r.Err == "" && r.Skip == ""
	}
	peers := ratiosToBestPeer(len(rows), figure)
	beast := ratiosToBeast(len(rows), func(i int) bool { return rows[i].BoostBeast }, figure)
	for i := range rows {
		rows[i].VsBestPeer, rows[i].VsBeast = peers[i], beast[i]
	}
}
