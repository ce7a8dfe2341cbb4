package main

import (
	"fmt"
	"io"
	"net"
	"time"
)

// measureRounds measures each of the servers named by names rounds times for one case, visiting
// them in an order rotated by one each round, so that a burst of load on the machine falls on all
// of them alike rather than on one server's measurements. A server with skip(i) true is left out;
// one whose measurement fails is left out from then on, its error in failed[i]. Progress gets one
// line per round: tag, the case and each server's CPU per round trip.
func measureRounds(rounds int, names []string, tag, caseName string, skip func(i int) bool, failed []error,
	measure func(i int) (echoSample, error), progress io.Writer) [][]echoSample {
	samples := make([][]echoSample, len(names))
	for r := range rounds {
		fmt.Fprintf(progress, "%s %s, round %d/%d:", tag, caseName, r+1, rounds)
		for k := range names {
			i := (k + r) % len(names)
			if failed[i] != nil || skip(i) {
				continue
			}
			s, err := measure(i)
			if err != nil {
				failed[i] = fmt.Errorf("%s, %s: %w", names[i], caseName, err)
				fmt.Fprintf(progress, " %s FAILED", names[i])
				continue
			}
			samples[i] = append(samples[i], s)
			fmt.Fprintf(progress, " %s %.2fµs", names[i], perTrip(s.ServerCPU, s.RoundTrips))
		}
		fmt.Fprintln(progress)
	}
	return samples
}

// dialFrom connects to addr over TCP from the source address local (nil: the system's choice),
// giving up after 10 s.
func dialFrom(addr string, local net.IP) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if local != nil {
		d.LocalAddr = &net.TCPAddr{IP: local}
	}
	return d.Dial("tcp", addr)
}
