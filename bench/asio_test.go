package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// haveAsio reports whether this machine can build the Asio programs: a g++ and the headers. The
// tests that need them say so when it cannot (CI installs both).
func haveAsio(t *testing.T) bool {
	t.Helper()
	if _, err := exec.LookPath("g++"); err != nil {
		return false
	}
	for _, h := range []string{"/usr/include/asio.hpp", "/usr/include/boost/asio.hpp"} {
		if _, err := os.Stat(h); err == nil {
			return true
		}
	}
	return false
}

// defaultAsioBuilder is the builder the bench program uses with no environment set: g++, the
// user's cache directory (so that test runs share the compiled programs), standalone Asio first.
func defaultAsioBuilder(t *testing.T) *asioBuilder {
	t.Helper()
	t.Setenv(asioCacheEnv, "")
	t.Setenv(cxxEnv, "")
	t.Setenv(asioFlavourEnv, "")
	ab, err := newAsioBuilder()
	if err != nil {
		t.Fatal(err)
	}
	return ab
}

// fakeCompiler writes a shell script that stands for a C++ compiler: it prints out and exits
// with code.
func fakeCompiler(t *testing.T, out string, code int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-cxx")
	script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo fake 1.0; exit 0; fi\necho '" + out + "' >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAsioBuilderSkipsAndFails(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh for the fake compilers")
	}
	tests := []struct {
		name     string
		cxx      string
		skip     string // substring of the skip reason; "" when the build must fail instead
		failText string
	}{
		{name: "no compiler", cxx: filepath.Join(t.TempDir(), "no-such-g++"), skip: "no C++ compiler"},
		{name: "no headers", cxx: fakeCompiler(t, "asio_select.hpp:30:2: error: #error \"beastgo-asio-missing: neither\"", 1), skip: "apt-get install libasio-dev"},
		{name: "other compile error", cxx: fakeCompiler(t, "executor.cpp:1:1: error: something else", 1), failText: "something else"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(cxxEnv, tt.cxx)
			t.Setenv(asioCacheEnv, t.TempDir())
			t.Setenv(asioFlavourEnv, "")
			ab, err := newAsioBuilder()
			if err != nil {
				t.Fatal(err)
			}
			_, err = ab.build("executor")
			reason, skipped := skipReason(err)
			switch {
			case tt.skip != "" && (!skipped || !strings.Contains(reason, tt.skip)):
				t.Errorf("build: %v, want a skip saying %q", err, tt.skip)
			case tt.skip == "" && (skipped || err == nil || !strings.Contains(err.Error(), tt.failText)):
				t.Errorf("build: %v, want a failure (not a skip) quoting %q", err, tt.failText)
			}
		})
	}

	t.Setenv(asioFlavourEnv, "vintage")
	if _, err := newAsioBuilder(); err == nil || !strings.Contains(err.Error(), "standalone or boost") {
		t.Errorf("a bad %s: %v", asioFlavourEnv, err)
	}
	ab := &asioBuilder{cxx: "g++", dir: t.TempDir(), built: map[string]string{}}
	if _, err := ab.build("no-such-program"); err == nil || errors.Is(err, errAsioSkipped) {
		t.Errorf("an unknown program: %v, want a failure", err)
	}
}

// TestAsioBuilderCache compiles executor.cpp into an empty cache, finds it there the second
// time, and compiles again for the other Asio flavour.
func TestAsioBuilderCache(t *testing.T) {
	if !haveAsio(t) {
		t.Skip("g++ or the Asio headers are missing (apt-get install g++ libasio-dev)")
	}
	dir := t.TempDir()
	t.Setenv(asioCacheEnv, dir)
	t.Setenv(cxxEnv, "")
	t.Setenv(asioFlavourEnv, "")
	first, err := newAsioBuilder()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := first.build("executor")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(bin) != dir || len(first.compiled) != 1 {
		t.Fatalf("built %s (compiled %q), want a fresh binary in %s", bin, first.compiled, dir)
	}
	if again, err := first.build("executor"); err != nil || again != bin || len(first.compiled) != 1 {
		t.Errorf("the same builder built again: %s, %v, compiled %q", again, err, first.compiled)
	}
	second, _ := newAsioBuilder()
	if cached, err := second.build("executor"); err != nil || cached != bin || len(second.compiled) != 0 {
		t.Errorf("a second builder: %s, %v, compiled %q; want the cached %s", cached, err, second.compiled, bin)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the cache holds %d entries, want only the binary (no sources left behind)", len(entries))
	}
	out, err := exec.Command(bin, "chain", "1", "x1000").Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, v, err := parseAsioExecOutput(out, "chain", "1"); err != nil || !strings.HasPrefix(v, "Asio ") && !strings.HasPrefix(v, "Boost.Asio ") {
		t.Errorf("the binary printed %q: %v", out, err)
	}

	if _, err := os.Stat("/usr/include/boost/asio.hpp"); err == nil {
		t.Setenv(asioFlavourEnv, "boost")
		boost, _ := newAsioBuilder()
		bbin, err := boost.build("executor")
		if err != nil {
			t.Fatal(err)
		}
		if bbin == bin || len(boost.compiled) != 1 {
			t.Errorf("the Boost.Asio build reused %s", bbin)
		}
		out, err := exec.Command(bbin, "chain", "1", "x1000").Output()
		if _, v, perr := parseAsioExecOutput(out, "chain", "1"); err != nil || perr != nil || !strings.HasPrefix(v, "Boost.Asio ") {
			t.Errorf("the Boost.Asio build printed %q: %v %v", out, err, perr)
		}
	}
}

func TestParseAsioExecOutput(t *testing.T) {
	ns, v, err := parseAsioExecOutput([]byte("asio Asio 1.22.1\nchain 1 16.525 20480000\n"), "chain", "1")
	if err != nil || ns != 16.525 || v != "Asio 1.22.1" {
		t.Errorf("good output: %v %q %v", ns, v, err)
	}
	for _, bad := range []string{
		"",
		"asio Asio 1.22.1\n",
		"chain 1 16.5 100\n",
		"hello\nchain 1 16.5 100\n",
		"asio Asio 1.22.1\nchain default 16.5 100\n",
		"asio Asio 1.22.1\nstrand-chain 1 16.5 100\n",
		"asio Asio 1.22.1\nchain 1 fast 100\n",
		"asio Asio 1.22.1\nchain 1 0 100\n",
		"asio Asio 1.22.1\nchain 1 16.5 100\nmore\n",
	} {
		if _, _, err := parseAsioExecOutput([]byte(bad), "chain", "1"); err == nil {
			t.Errorf("output %q accepted", bad)
		}
	}
}

func TestNewAsioExecConfig(t *testing.T) {
	if c, err := newAsioExecConfig("1s"); err != nil || c.Rounds != 5 || c.Duration != 100*time.Millisecond || c.Count != 0 {
		t.Errorf("1s: %+v %v", c, err)
	}
	if c, err := newAsioExecConfig("300x"); err != nil || c.Rounds != 1 || c.Count != 300 || c.Duration != 0 {
		t.Errorf("300x: %+v %v", c, err)
	}
	for _, bad := range []string{"0x", "-1s", "soon", "x"} {
		if _, err := newAsioExecConfig(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestAsioExecutorComparison runs the comparison at its smallest: every shape measured by both
// sides, or, where the machine cannot build Asio, a report that says so and no error.
func TestAsioExecutorComparison(t *testing.T) {
	ab := defaultAsioBuilder(t)
	cfg := asioExecConfig{Rounds: 2, Count: 3000}
	rep, err := runAsioExecutor(cfg, ab, io.Discard)
	if !haveAsio(t) {
		if err != nil || rep.Skip == "" || len(rep.Rows) != 0 {
			t.Fatalf("without Asio: %+v, %v; want a skip", rep, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skip != "" || rep.Asio == "" || len(rep.Rows) != len(asioShapes) {
		t.Fatalf("report %+v", rep)
	}
	for _, r := range rep.Rows {
		if r.Err != "" || r.Beast.Median <= 0 || r.Beast.Min > r.Beast.Max || r.VsBestAsio == nil {
			t.Errorf("%s: %+v", r.Shape, r)
		}
		best := 0.0
		for _, h := range asioHints {
			a := r.Asio[h]
			if a.Median <= 0 || a.Min > a.Median || a.Median > a.Max {
				t.Errorf("%s, hint %s: %+v", r.Shape, h, a)
			}
			if best == 0 || a.Median < best {
				best = a.Median
			}
		}
		if r.VsBestAsio != nil && *r.VsBestAsio != r.Beast.Median/best {
			t.Errorf("%s: ratio %v, want %v / %v", r.Shape, *r.VsBestAsio, r.Beast.Median, best)
		}
	}
	var b strings.Builder
	writeAsioExecTable(&b, rep)
	for _, want := range []string{"executor beside " + rep.Asio, "g++ -O2", "2 rounds of 3000 handlers", "strand chain", "Asio hint 1"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteAsioExecTableSkipped(t *testing.T) {
	var b strings.Builder
	writeAsioExecTable(&b, &asioExecReport{Skip: "no C++ compiler \"g++\" on PATH"})
	if got := b.String(); got != "\nexecutor beside Asio: skipped: no C++ compiler \"g++\" on PATH\n" {
		t.Errorf("skipped table = %q", got)
	}
}
