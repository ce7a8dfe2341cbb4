package main

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"strings"
)

// machine describes where a run happened, so that numbers pasted into an issue or compared
// across runs carry their context with them.
type machine struct {
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"` // empty when the OS does not say
	GoVersion  string `json:"go_version"`
}

// currentMachine describes the machine this process runs on.
func currentMachine() machine {
	m := machine{
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
	}
	// /proc/cpuinfo only exists on Linux (and some BSDs with linprocfs); elsewhere the model is
	// simply left out rather than shelling out to OS-specific tools.
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.CPUModel = cpuModel(f)
		f.Close()
	}
	return m
}

// cpuModelKeys are the /proc/cpuinfo fields that name the CPU, best first: x86 uses "model
// name", RISC-V "uarch", MIPS "cpu model", and 32/64-bit ARM boards "Hardware" or "Model".
// Plain arm64 servers often have none of them, only numeric part codes, and get "".
var cpuModelKeys = []string{"model name", "uarch", "cpu model", "Hardware", "Model"}

// cpuModel returns the CPU's name from the text of /proc/cpuinfo, or "" if it has none.
func cpuModel(r io.Reader) string {
	found := make(map[string]string)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		// Every core repeats the same block; the first value is as good as any.
		if _, seen := found[key]; !seen && value != "" {
			found[key] = value
		}
	}
	for _, k := range cpuModelKeys {
		if v, ok := found[k]; ok {
			return v
		}
	}
	return ""
}
