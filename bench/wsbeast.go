package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Boost.Beast's own WebSocket echo server (bench/asio/ws_echo.cpp) beside the Go servers of the
// websocket group: compiled by the parent through the Asio builder when the group runs, and run
// as every server is, in a child process, which replaces itself with the compiled program.

// Environment variables of Beast's server.
const (
	// beastWSEnv names the compiled ws_echo.cpp to the child that runs it: the parent builds it,
	// and the child replaces itself with it (serveBoostBeast).
	beastWSEnv = "BEASTGO_BENCH_BEAST_WS"
	// beastTimeoutsEnv set to "suggested" runs Beast's server with the stream timeouts its example
	// sets, to see what they cost. The default, "none", runs it as every other server in the
	// table runs: without timeouts (beastgo's, gorilla's, coder's and gobwas's set none), so
	// that the comparison is of the same work.
	beastTimeoutsEnv = "BEASTGO_BENCH_BEAST_TIMEOUTS"
)

// beastTimeouts returns Beast's server's timeout setting from beastTimeoutsEnv: "none" unless it
// says "suggested".
func beastTimeouts() (string, error) {
	switch t := os.Getenv(beastTimeoutsEnv); t {
	case "", "none":
		return "none", nil
	case "suggested":
		return t, nil
	default:
		return "", fmt.Errorf("%s=%q: want suggested or none", beastTimeoutsEnv, t)
	}
}

// beastProgram is the name of Beast's server among bench/asio's programs.
const beastProgram = "ws_echo"

// serveBoostBeast replaces the child process with bench/asio/ws_echo.cpp, compiled by the parent
// and named by beastWSEnv, listening on addr with one thread. It returns only if the exec fails.
// As for the Asio echo server, the parent never asks this child for a CPU profile.
func serveBoostBeast(addr string) (string, error) {
	bin := os.Getenv(beastWSEnv)
	if bin == "" {
		return "", errors.New(beastWSEnv + " is not set: the parent names the compiled ws_echo.cpp")
	}
	timeouts, err := beastTimeouts()
	if err != nil {
		return "", err
	}
	// Nothing of this process's own output is buffered (see serveAsioEcho).
	return "", syscall.Exec(bin, []string{bin, addr, "1", timeouts}, os.Environ())
}

// beastBuild is what building Beast's server for a run came to: its version once built and ready
// for the children, or why it was skipped, or how it failed.
type beastBuild struct {
	version string // "Boost.Beast/300 Boost 1.74.0, g++ -O2, timeouts none"
	skip    string // why this machine cannot build it (no compiler, no headers)
	err     error
}

// prepareBeast builds ws_echo.cpp with the Asio builder the environment describes and names it to
// the children this process starts, through beastWSEnv. A machine without the compiler or
// Boost's headers gets a skip, never an error.
func prepareBeast(progress io.Writer) beastBuild {
	ab, err := newAsioBuilder()
	if err != nil {
		return beastBuild{err: err}
	}
	fmt.Fprintf(progress, "[websocket] building bench/asio/%s.cpp (Boost.Beast) ... ", beastProgram)
	bin, err := ab.build(beastProgram)
	if reason, ok := skipReason(err); ok {
		fmt.Fprintf(progress, "skipped: %s\n", reason)
		return beastBuild{skip: reason}
	}
	var version string
	if err == nil {
		version, err = beastVersion(bin)
	}
	if err == nil {
		// The children inherit this process's environment: that is how they learn the binary.
		err = os.Setenv(beastWSEnv, bin)
	}
	if err != nil {
		fmt.Fprintln(progress, "FAILED")
		return beastBuild{err: fmt.Errorf("beast: %w", err)}
	}
	fmt.Fprintln(progress, "ok")
	timeouts, _ := beastTimeouts()                         // a bad setting fails the child, which reports it
	build := filepath.Base(ab.cxx) + " " + asioCXXFlags[0] // the Asio flavour's flag means nothing to Beast
	return beastBuild{version: fmt.Sprintf("%s, %s, timeouts %s", version, build, timeouts)}
}

// beastVersion asks the built ws_echo.cpp which Beast and Boost it was built with.
func beastVersion(bin string) (string, error) {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "", fmt.Errorf("%s version: %w", bin, err)
	}
	v, ok := parseBeastVersion(string(out))
	if !ok {
		return "", fmt.Errorf("%s version printed %q", bin, out)
	}
	return v, nil
}

// parseBeastVersion reads ws_echo's "beast Boost.Beast/300 Boost 1.74.0" as
// "Boost.Beast/300 Boost 1.74.0".
func parseBeastVersion(line string) (string, bool) {
	v, ok := strings.CutPrefix(strings.TrimSpace(line), "beast ")
	f := strings.Fields(v)
	if !ok || len(f) != 3 || !strings.HasPrefix(f[0], "Boost.Beast/") || f[1] != "Boost" {
		return "", false
	}
	return v, true
}
