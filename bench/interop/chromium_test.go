package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/beastgo/beast/websocket"
)

// chromiumCannot lists what a page's WebSocket API cannot do.
var chromiumCannot = unsupported{
	kindPingIn:      "a page's WebSocket API has no ping",
	kindFragmentsIn: "a page's WebSocket API sends each message whole, in frames of the browser's choosing",
	"close-in/1001": "a page's close() takes only 1000 and 3000-4999",
	kindBadUTF8:     "a page's send() encodes a string as UTF-8 (a lone surrogate becomes U+FFFD) and sends bytes as binary, so it cannot send a text message that is not UTF-8",
}

// TestChromium runs the catalogue with headless Chromium as the client of our server: a page
// served by this test plays the browser's side of each case (testdata/page.html). The browser
// drops its connection in the drop case by being killed, so that case comes last.
func TestChromium(t *testing.T) {
	exe := chromium(t)
	page, err := os.ReadFile("testdata/page.html")
	if err != nil {
		t.Fatal(err)
	}
	o := newOurSide(t)

	type next struct {
		Case *Case  `json:"case,omitempty"`
		URL  string `json:"url,omitempty"`
		Done bool   `json:"done,omitempty"`
	}
	nexts := make(chan next) // handed to the page's long poll of /next
	reports := newReportBox()
	pageErrors := make(chan string, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	asked := make(chan struct{}) // closed at the page's first /next: its script runs
	var askedOnce sync.Once
	mux.HandleFunc("GET /next", func(w http.ResponseWriter, r *http.Request) {
		askedOnce.Do(func() { close(asked) })
		select {
		case n := <-nexts:
			json.NewEncoder(w).Encode(n)
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		var rep report
		if err := json.NewDecoder(r.Body).Decode(&rep); err != nil || rep.Name == "" {
			keepFirst(pageErrors, "the page posted a result that is not a report")
		} else if rep.Name == "page" {
			keepFirst(pageErrors, "the page's script failed: "+rep.Error)
		} else {
			reports.put(rep)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	b := startChromium(t, exe, srv.URL+"/")
	select {
	case <-asked:
	case <-b.exited:
		t.Fatal("chromium exited before the page asked for a case")
	case <-time.After(caseTimeout):
		t.Fatalf("the page did not ask for a case within %v of chromium's start", caseTimeout)
	}
	// The page's origin is the test server's, not our WebSocket server's.
	accept := &websocket.AcceptOptions{OriginPatterns: []string{srv.Listener.Addr().String()}}
	var cases, last []Case
	for _, c := range playable(t, chromiumCannot) {
		if c.Kind == kindDrop {
			last = append(last, c)
		} else {
			cases = append(cases, c)
		}
	}
	runOurServer(t, o, plainTCP, append(cases, last...), accept, func(ctx context.Context, url string, c Case) report {
		fail := func(err error) report { return report{Name: c.Name, Error: err.Error()} }
		select {
		case nexts <- next{Case: &c, URL: url}:
		case e := <-pageErrors:
			keepFirst(pageErrors, e) // for the cases after this one
			return fail(errors.New(e))
		case <-b.exited:
			return fail(errors.New("chromium has exited"))
		case <-ctx.Done():
			b.kill(t) // the page is stuck: the cases after this one fail at once
			return fail(errors.New("the page did not ask for the case"))
		}
		var rep report
		select {
		case rep = <-reports.channel(c.Name):
		case e := <-pageErrors:
			keepFirst(pageErrors, e) // for the cases after this one
			return fail(errors.New(e))
		case <-b.exited:
			return fail(errors.New("chromium exited during the case"))
		case <-ctx.Done():
			b.kill(t)
			return fail(errors.New("the page posted no report"))
		}
		if c.Kind == kindDrop {
			// The page holds the connection open; the kernel ends it when the browser dies,
			// with no close frame.
			b.kill(t)
		}
		return rep
	})
	select {
	case nexts <- next{Done: true}:
	case <-b.exited:
	case <-time.After(caseTimeout):
		t.Error("the page did not ask for a case after the last")
	}
}

// browser is a running headless Chromium, in a process group of its own.
type browser struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// startChromium starts headless Chromium on url, with a profile in a temporary directory and
// every host name but loopback's unresolvable, so that it reaches nothing but this test. The
// browser is killed when the test ends; its output is logged if the test failed.
func startChromium(t *testing.T, exe, url string) *browser {
	t.Helper()
	profile := t.TempDir()
	cmd := exec.Command(exe,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir="+profile,
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		url)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	b := &browser{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(b.exited)
	}()
	if v, err := exec.Command(exe, "--version").Output(); err == nil {
		t.Logf("peer: %s", strings.TrimSpace(string(v)))
	}
	t.Cleanup(func() {
		b.kill(t)
		if t.Failed() {
			t.Logf("chromium's output:\n%s", out.Bytes())
		}
	})
	return b
}

// kill kills the browser's process group and waits for the browser to exit.
func (b *browser) kill(t *testing.T) {
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-b.exited:
	case <-time.After(caseTimeout):
		t.Errorf("chromium did not exit within %v of SIGKILL", caseTimeout)
	}
}
