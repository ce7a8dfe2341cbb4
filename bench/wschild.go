package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// The websocket group measures each echo server in a child process: the bench binary run again
// with childEnv set, so that the server's CPU time, allocations and memory are its own and not
// mixed with the client's. The protocol, one line at a time:
//
//	child  -> parent  "listening 127.0.0.1:PORT"            once the server accepts connections
//	parent -> child   "stats"    child -> parent  {json}    a childStats, taken as they are
//	parent -> child   "gcstats"  child -> parent  {json}    the same after runtime.GC
//	parent closes the child's stdin                           the child stops its profile and exits 0
//
// An unknown command is answered with "error ..." and the child carries on. The child reports
// errors on its stderr, which is the parent's.
const childEnv = "BEASTGO_BENCH_SERVE"

// childStats is what the child says about itself when asked.
type childStats struct {
	UserNs     int64  `json:"user_ns"` // CPU time in user mode since the process started
	SysNs      int64  `json:"sys_ns"`  // CPU time in the kernel since the process started
	Mallocs    uint64 `json:"mallocs"` // runtime.MemStats.Mallocs: heap allocations so far
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Goroutines int    `json:"goroutines"`
}

// cpuNs is the child's CPU time, user and kernel.
func (s childStats) cpuNs() int64 { return s.UserNs + s.SysNs }

// isChild reports whether this process was started as a server child.
func isChild() bool { return os.Getenv(childEnv) != "" }

// childMain is the whole child process: it starts the server named by -serve on -addr, says
// where it listens, and answers the parent's commands until its stdin closes. It returns the exit
// code.
func childMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("serve", "", "the echo server to run: "+strings.Join(serverNames(), ", "))
	addr := fs.String("addr", "127.0.0.1:0", "the address to listen on")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the server's whole life to `file`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	start, ok := servers[*name]
	if !ok {
		fmt.Fprintf(stderr, "bench server: unknown server %q (have %s)\n", *name, strings.Join(serverNames(), ", "))
		return 2
	}
	if err := raiseFileLimit(); err != nil {
		fmt.Fprintf(stderr, "bench server: %v\n", err)
	}
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintf(stderr, "bench server: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "bench server: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	listening, err := start(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "bench server %s: %v\n", *name, err)
		return 1
	}
	fmt.Fprintf(stdout, "listening %s\n", listening)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		// The command is looked at as bytes and the stats taken before anything is formatted, so
		// that answering costs the measured allocation count nothing but the reply of the
		// "before" snapshot (a handful, against thousands of messages).
		switch cmd := bytes.TrimSpace(sc.Bytes()); string(cmd) {
		case "stats", "gcstats":
			if string(cmd) == "gcstats" {
				runtime.GC()
			}
			line, _ := json.Marshal(readOwnStats())
			fmt.Fprintf(stdout, "%s\n", line)
		default:
			fmt.Fprintf(stdout, "error unknown command %q\n", cmd)
		}
	}
	return 0
}

// readOwnStats takes the calling process's childStats.
func readOwnStats() childStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	user, sys := processCPU()
	return childStats{
		UserNs: user.Nanoseconds(), SysNs: sys.Nanoseconds(),
		Mallocs: ms.Mallocs, HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse,
		Goroutines: runtime.NumGoroutine(),
	}
}

// child is the parent's handle on a server child.
type child struct {
	name string
	addr string // where the server listens
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

// childStartTimeout bounds how long a child may take to say where it listens.
const childStartTimeout = 20 * time.Second

// startChild starts the server named name in a child process (this binary again, with
// childEnv set) and waits until it listens. profile, if not empty, is a file for the child's CPU
// profile.
func startChild(name, profile string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{"-serve", name, "-addr", "127.0.0.1:0"}
	if profile != "" {
		args = append(args, "-cpuprofile", profile)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		in.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		in.Close()
		outPipe.Close()
		return nil, err
	}
	c := &child{name: name, cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	timer := time.AfterFunc(childStartTimeout, func() { _ = cmd.Process.Kill() })
	line, err := c.out.ReadString('\n')
	stopped := timer.Stop()
	addr, found := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !found || addr == "" {
		c.close()
		if !stopped {
			return nil, fmt.Errorf("server %s did not listen within %v", name, childStartTimeout)
		}
		return nil, fmt.Errorf("server %s did not start: %q, %v", name, line, err)
	}
	c.addr = addr
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stats asks the child for its childStats; gc has it collect garbage first.
func (c *child) stats(gc bool) (childStats, error) {
	cmd := "stats\n"
	if gc {
		cmd = "gcstats\n"
	}
	var s childStats
	if _, err := io.WriteString(c.in, cmd); err != nil {
		return s, fmt.Errorf("server %s: %w", c.name, err)
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		return s, fmt.Errorf("server %s: reading its stats: %w", c.name, err)
	}
	if err := json.Unmarshal([]byte(line), &s); err != nil {
		return s, fmt.Errorf("server %s: bad stats line %q: %w", c.name, line, err)
	}
	return s, nil
}

// childStopTimeout bounds how long a child may take to exit once its stdin is closed; after it
// the child is killed.
const childStopTimeout = 10 * time.Second

// close ends the child: its stdin closes, it writes its profile and exits. A child that has not
// exited within childStopTimeout is killed, and close reports it.
func (c *child) close() error {
	c.in.Close()
	timer := time.AfterFunc(childStopTimeout, func() { _ = c.cmd.Process.Kill() })
	err := c.cmd.Wait()
	if !timer.Stop() {
		return fmt.Errorf("server %s did not exit within %v of its stdin closing; killed", c.name, childStopTimeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("server %s: %w", c.name, err)
	}
	return err
}
