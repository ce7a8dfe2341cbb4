//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/websocket"
	"github.com/beastgo/beast/websocket/examples/internal/exampletest"
)

// The two examples together: the client, in the test process and built, against the built
// echo-server, over ws:// and wss://.
func TestWithEchoServer(t *testing.T) {
	server := exampletest.Build(t, "../echo-server")
	client := exampletest.Build(t, ".")
	cert := exampletest.SelfSigned(t)
	// A bound on the whole test, so that a hung program fails it instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("ws", func(t *testing.T) {
		addr := startEchoServer(t, ctx, server, "-threads", "2")
		url := "ws://" + addr + "/chat?room=1"

		r := runClient(ctx, "-url", url, "-n", "5", "-size", "3000")
		if r.code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		checkOutput(t, r, 5, 3000, websocket.CloseNormal, "")

		r = runClient(ctx, "-url", url, "-n", "2", "-text", "-close-code", "4000", "-close-reason", "done")
		if r.code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		checkOutput(t, r, 2, 32, 4000, "")

		// A message over the server's 16 MiB limit: it closes with 1009, and the client fails.
		r = runClient(ctx, "-url", url, "-n", "1", "-size", strconv.Itoa(16<<20+1))
		if r.code != 1 || !strings.Contains(r.stderr, "closed the connection after 0 of 1 echoes") {
			t.Fatalf("exit %d; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if m := closeLine.FindStringSubmatch(r.stdout); m == nil || m[1] != "1009" {
			t.Fatalf("stdout:\n%s\nwant close: 1009", r.stdout)
		}

		// The built client, as a user runs it.
		out, err := exec.CommandContext(ctx, client, "-url", url, "-n", "3", "-size", "10", "-text").Output()
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		checkOutput(t, result{stdout: string(out)}, 3, 10, websocket.CloseNormal, "")
	})

	t.Run("wss", func(t *testing.T) {
		addr := startEchoServer(t, ctx, server, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
		url := "wss://" + addr + "/"
		r := runClient(ctx, "-url", url, "-insecure", "-n", "3", "-size", "20000")
		if r.code != 0 {
			t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
		}
		checkOutput(t, r, 3, 20000, websocket.CloseNormal, "")

		r = runClient(ctx, "-url", url, "-n", "1")
		if r.code != 1 || !strings.Contains(r.stderr, "certificate") {
			t.Fatalf("without -insecure: exit %d; stderr:\n%s", r.code, r.stderr)
		}
	})

	t.Run("bad flag", func(t *testing.T) {
		out, err := exec.CommandContext(ctx, client, "-url", "http://127.0.0.1/").CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), "Usage of client") {
			t.Fatalf("%v\n%s", err, out)
		}
	})

	t.Run("echo differs", func(t *testing.T) {
		addr := startPeer(t, nil, badEchoPeer(func(b []byte, text bool) ([]byte, bool) { return append(b, '!'), text }))
		err := exec.CommandContext(ctx, client, "-url", "ws://"+addr+"/", "-n", "1").Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Fatalf("client: %v, want exit status 1", err)
		}
	})
}

// startEchoServer runs the built echo-server with args (after -addr 127.0.0.1:0) and returns the
// address it says it listens on. When the test ends it sends SIGTERM and checks that the server
// exits 0.
func startEchoServer(t *testing.T, ctx context.Context, bin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	started := lines.Scan()
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Error(err)
		}
		for lines.Scan() { // to the end, before Wait
			t.Errorf("echo-server printed %q", lines.Text())
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("echo-server: %v; stderr:\n%s", err, stderr.String())
		}
	})
	addr, ok := strings.CutPrefix(lines.Text(), "listening on ")
	if !started || !ok {
		t.Fatalf("echo-server's first line %q", lines.Text())
	}
	return addr
}
