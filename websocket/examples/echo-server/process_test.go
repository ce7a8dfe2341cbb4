//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/websocket"
	"github.com/beastgo/beast/websocket/examples/internal/exampletest"
)

// The built program, as a user runs it: its flags, its "listening on" line, and a SIGTERM that
// closes the connections it has open with 1001 before it exits 0.
func TestProcess(t *testing.T) {
	bin := exampletest.Build(t, ".")
	// A bound on the whole test, so that a hung server fails it instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("bad flag", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, bin, "-threads", "-1").CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "Usage of echo-server") {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("SIGTERM", func(t *testing.T) {
		cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0", "-threads", "2")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if cmd.ProcessState == nil { // the test failed before its Wait
				cmd.Process.Kill()
				cmd.Wait()
			}
		}()
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() {
			t.Fatalf("no output: %v; stderr:\n%s", lines.Err(), &stderr)
		}
		m := regexp.MustCompile(`^listening on (127\.0\.0\.1:[1-9][0-9]*)$`).FindStringSubmatch(lines.Text())
		if m == nil {
			t.Fatalf("first line %q", lines.Text())
		}

		c := newClients(t)
		streams := []*websocket.Stream{c.dial(m[1], nil), c.dial(m[1], nil)}
		var reading sync.WaitGroup
		reasons := make([]websocket.CloseReason, len(streams))
		errs := make([]error, len(streams))
		for i, ws := range streams {
			checkEcho(t, ws, []byte("hello, process"), true)
			reading.Go(func() { reasons[i], errs[i] = awaitClose(ws) })
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		reading.Wait()
		for i := range streams {
			if errs[i] != nil || reasons[i].Code != websocket.CloseGoingAway {
				t.Errorf("client %d: %v, close frame %+v; want 1001", i, errs[i], reasons[i])
			}
		}
		if lines.Scan() {
			t.Errorf("more output: %q", lines.Text())
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("exit: %v; stderr:\n%s", err, &stderr)
		}
	})
}
