package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"testing"
	"time"
)

// TestNodeWS runs the catalogue against the npm package ws (version 8) under Node.js, as the
// client of our server and as the server of our client, over TCP. testdata/peer.cjs is the peer.
func TestNodeWS(t *testing.T) {
	node, modules := nodeTools(t)
	cases := writeCatalogue(t)
	o := newOurSide(t)
	t.Run("beastgo-server", func(t *testing.T) {
		p := startNode(t, node, modules, cases, "client")
		runOurServer(t, o, plainTCP, catalogue(), nil, func(ctx context.Context, url string, c Case) report {
			if _, err := fmt.Fprintf(p.stdin, "%s %s\n", c.Name, url); err != nil {
				return report{Name: c.Name, Error: "telling node the case: " + err.Error()}
			}
			rep, err := p.reports.wait(ctx, c.Name)
			if err != nil {
				return report{Name: c.Name, Error: err.Error()}
			}
			return rep
		})
	})
	t.Run("beastgo-client", func(t *testing.T) {
		p := startNode(t, node, modules, cases, "server")
		runOurClient(t, o, plainTCP, catalogue(), fmt.Sprintf("ws://127.0.0.1:%d", p.port), p.reports)
	})
}

// nodePeer is a running testdata/peer.cjs.
type nodePeer struct {
	stdin   io.WriteCloser
	reports *reportBox
	port    int // a server's
}

// startNode starts testdata/peer.cjs in mode (client or server) and waits for its first line.
// The process is ended when the test ends: its stdin closed, then killed if it has not exited
// within caseTimeout.
func startNode(t *testing.T, node, modules, cases, mode string) *nodePeer {
	t.Helper()
	cmd := exec.Command(node, "testdata/peer.cjs", modules, cases, mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	p := &nodePeer{stdin: stdin, reports: newReportBox()}
	type hello struct {
		WS   string `json:"ws"`
		Port int    `json:"port"`
	}
	hellos := make(chan hello, 1)
	exited := make(chan error, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		first := true
		for lines.Scan() {
			if first {
				var h hello
				json.Unmarshal(lines.Bytes(), &h)
				hellos <- h
				first = false
				continue
			}
			var rep report
			if err := json.Unmarshal(lines.Bytes(), &rep); err != nil || rep.Name == "" {
				t.Errorf("node printed %q", lines.Text())
				continue
			}
			p.reports.put(rep)
		}
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("node %s: %v", mode, err)
			}
		case <-time.After(caseTimeout):
			t.Errorf("node %s did not exit once its input closed; killed", mode)
			cmd.Process.Kill()
			<-exited
		}
		if stderr.Len() > 0 {
			t.Logf("node's stderr:\n%s", stderr.Bytes())
		}
	})
	select {
	case h := <-hellos:
		if h.WS == "" || (mode == "server" && h.Port == 0) {
			t.Fatalf("node's first line did not name ws's version and the port: %+v", h)
		}
		t.Logf("peer: ws %s under node, as a %s", h.WS, mode)
		p.port = h.Port
	case err := <-exited:
		exited <- err
		t.Fatalf("node exited at start (%v):\n%s", err, stderr.Bytes())
	case <-time.After(caseTimeout):
		t.Fatalf("node printed nothing in %v", caseTimeout)
	}
	return p
}
