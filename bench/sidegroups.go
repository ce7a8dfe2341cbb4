package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// The comparisons with programs outside this one: the executor group beside Asio, and the
// net-echo group's TCP echo servers. Both run after the cases and the websocket comparison, and
// both print their tables after the others.

// sideRunners runs the outside comparisons: the real ones, or stand-ins in tests.
type sideRunners struct {
	asioExec func(cfg asioExecConfig, ab *asioBuilder, progress io.Writer) (*asioExecReport, error)
	netEcho  func(cfg netEchoConfig, ab *asioBuilder, progress io.Writer) (*netEchoReport, error)
}

// sides are the outside comparisons run runs. main sets them; tests of run that leave them nil
// run only the cases they pass and the websocket stand-in.
var sides *sideRunners

// realSides are the comparisons main runs.
func realSides() *sideRunners {
	return &sideRunners{asioExec: runAsioExecutor, netEcho: runNetEcho}
}

// sideRequest is what one run of the program asks of the outside comparisons.
type sideRequest struct {
	AsioExec, NetEcho bool
	Benchtime         string
	ProfileDir        string
}

// sideIDs are the comparisons' names with the -only family each belongs to.
var sideIDs = []struct{ family, id string }{{"executor", asioExecID}, {"net", netEchoID}}

// newSideRequest says which comparisons -only and -run select; none when sides is nil.
func newSideRequest(only string, re *regexp.Regexp, benchtime, profileDir string) sideRequest {
	req := sideRequest{Benchtime: benchtime, ProfileDir: profileDir}
	if sides == nil {
		return req
	}
	wanted := func(family, id string) bool { return (only == "" || only == family) && re.MatchString(id) }
	req.AsioExec = wanted(sideIDs[0].family, sideIDs[0].id)
	req.NetEcho = wanted(sideIDs[1].family, sideIDs[1].id)
	return req
}

// ids are the names -list prints for the selected comparisons.
func (r sideRequest) ids() []string {
	var out []string
	if r.AsioExec {
		out = append(out, asioExecID)
	}
	if r.NetEcho {
		out = append(out, netEchoID)
	}
	return out
}

// any reports whether a comparison is selected.
func (r sideRequest) any() bool { return r.AsioExec || r.NetEcho }

// validate checks -benchtime for the selected comparisons before anything runs.
func (r sideRequest) validate() error {
	if r.AsioExec {
		if _, err := newAsioExecConfig(r.Benchtime); err != nil {
			return err
		}
	}
	if r.NetEcho {
		if _, err := newNetEchoConfig(r.Benchtime); err != nil {
			return err
		}
	}
	return nil
}

// sideReport is the outside comparisons' part of the report.
type sideReport struct {
	AsioExecutor *asioExecReport `json:"asio_executor,omitempty"`
	NetEcho      *netEchoReport  `json:"net_echo,omitempty"`
}

// fullReport is everything a run prints: the report of the cases and the websocket comparison,
// and the outside comparisons' sections beside its fields in the JSON.
type fullReport struct {
	report
	sideReport
}

// runSides runs the selected comparisons with the runners in sides. A comparison that fails keeps
// its report (its failed rows say why) and its error joins the others.
func runSides(req sideRequest, progress io.Writer) (sideReport, error) {
	var rep sideReport
	if !req.any() || sides == nil {
		return rep, nil
	}
	ab, err := newAsioBuilder()
	if err != nil {
		return rep, err
	}
	var errs []error
	if req.AsioExec {
		cfg, err := newAsioExecConfig(req.Benchtime)
		if err == nil {
			rep.AsioExecutor, err = sides.asioExec(cfg, ab, progress)
		}
		errs = append(errs, err)
	}
	if req.NetEcho {
		cfg, err := newNetEchoConfig(req.Benchtime)
		if err == nil {
			cfg.ProfileDir = req.ProfileDir
			rep.NetEcho, err = sides.netEcho(cfg, ab, progress)
		}
		errs = append(errs, err)
	}
	if len(ab.compiled) > 0 {
		fmt.Fprintf(progress, "bench: compiled %s into %s\n", strings.Join(ab.compiled, ", "), ab.dir)
	}
	return rep, errors.Join(errs...)
}

// writeFullJSON prints rep as indented JSON.
func writeFullJSON(w io.Writer, rep fullReport) error {
	if rep.Results == nil {
		rep.Results = []result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// writeFullTable prints rep's tables: writeTable's, then the outside comparisons'.
func writeFullTable(w io.Writer, rep fullReport) error {
	var b strings.Builder
	if err := writeTable(&b, rep.report); err != nil {
		return err
	}
	text := b.String()
	if rep.AsioExecutor == nil && rep.NetEcho == nil {
		_, err := io.WriteString(w, text)
		return err
	}
	if len(rep.Results) == 0 && rep.WebSocket == nil {
		// Only outside comparisons ran: writeTable's "no cases ran" would say otherwise.
		// The header's blank line stays; each table brings its own.
		text = strings.TrimSuffix(text, "\nno cases ran\n")
	}
	b.Reset()
	b.WriteString(text)
	if rep.AsioExecutor != nil {
		writeAsioExecTable(&b, rep.AsioExecutor)
	}
	if rep.NetEcho != nil {
		writeNetEchoTable(&b, rep.NetEcho)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
