package interop

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// goPeer is a Go WebSocket library as a peer: dial plays the peer's side of a case as a client of
// url, serve upgrades a request and plays it as a server.
type goPeer struct {
	module string // its module path, for its version in bench/go.mod
	dial   func(ctx context.Context, tr transport, url string, c Case) report
	serve  func(ctx context.Context, w http.ResponseWriter, r *http.Request, c Case) report
}

// runGoPeer runs the catalogue against p over TCP and TLS, with our Stream as the server and as
// the client.
func runGoPeer(t *testing.T, p goPeer) {
	t.Logf("peer: %s", moduleVersion(p.module))
	for _, tr := range []transport{plainTCP, tlsTransport(t)} {
		t.Run(tr.name, func(t *testing.T) {
			o := newOurSide(t)
			t.Run("beastgo-server", func(t *testing.T) {
				runOurServer(t, o, tr, catalogue(), nil, func(ctx context.Context, url string, c Case) report {
					return p.dial(ctx, tr, url, c)
				})
			})
			t.Run("beastgo-client", func(t *testing.T) {
				base, reports := startGoPeerServer(t, tr, p.serve)
				runOurClient(t, o, tr, catalogue(), base, reports)
			})
		})
	}
}

// startGoPeerServer serves a Go peer over HTTP (or HTTPS with tr's certificate) on loopback:
// the request's path names the case, and session upgrades the request and plays the peer's side
// of it. It returns the server's base URL (ws:// or wss://) and the box its reports go to. The
// server is closed when the test ends, after every session has returned.
func startGoPeerServer(t *testing.T, tr transport, session func(ctx context.Context, w http.ResponseWriter, r *http.Request, c Case) report) (string, *reportBox) {
	t.Helper()
	reports := newReportBox()
	cases := caseByName()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := cases[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
		defer cancel()
		reports.put(session(ctx, w, r, c))
	}))
	if tr.server != nil {
		srv.TLS = tr.server.Clone()
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return tr.scheme() + "://" + srv.Listener.Addr().String(), reports
}

// moduleVersion returns path and the version of it that the bench module requires (a test
// binary carries no dependency versions of its own).
func moduleVersion(path string) string {
	if b, err := os.ReadFile("../go.mod"); err == nil {
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == path {
				return path + " " + f[1]
			}
		}
	}
	return path + " (version unknown)"
}
