package interop

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/beastgo/beast/websocket"
)

// runOurServer runs cases with our Stream as the server and the peer's dial as its client, one
// subtest per case. accept configures our server (nil for the defaults).
func runOurServer(t *testing.T, o *ourSide, tr transport, cases []Case, accept *websocket.AcceptOptions,
	dial func(ctx context.Context, url string, c Case) report) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
			defer cancel()
			url, verdict := o.serve(ctx, t, tr, c, accept)
			rep := dial(ctx, url, c)
			if err := <-verdict; err != nil {
				t.Errorf("beastgo server: %v", err)
			}
			checkReport(t, c, rep)
		})
	}
}

// runOurClient runs cases with our Stream as the client of a peer serving at base
// (ws://127.0.0.1:port, or wss://), one subtest per case, the case's name as the path; the peer
// reports each connection's end into reports.
func runOurClient(t *testing.T, o *ourSide, tr transport, cases []Case, base string, reports *reportBox) {
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
			defer cancel()
			if err := o.dial(ctx, tr, base+"/"+c.Name, c); err != nil {
				t.Errorf("beastgo client: %v", err)
			}
			rep, err := reports.wait(ctx, c.Name)
			if err != nil {
				t.Fatalf("peer server: %v", err)
			}
			checkReport(t, c, rep)
		})
	}
}

// playable returns the cases of the catalogue the peer can play, and logs the others with the
// reason.
func playable(t *testing.T, skip unsupported) []Case {
	var cases, left []Case
	for _, c := range catalogue() {
		if skip.why(c) == "" {
			cases = append(cases, c)
		} else {
			left = append(left, c)
		}
	}
	if len(left) > 0 {
		var lines []string
		for _, c := range left {
			lines = append(lines, fmt.Sprintf("%s: %s", c.Name, skip.why(c)))
		}
		sort.Strings(lines)
		t.Logf("not played by this peer:\n%s", strings.Join(lines, "\n"))
	}
	return cases
}

// reportBox collects the reports of a peer that runs the cases on its own schedule (a server, a
// process, a page), one per case's name.
type reportBox struct {
	mu    sync.Mutex
	boxes map[string]chan report
}

func newReportBox() *reportBox {
	return &reportBox{boxes: make(map[string]chan report)}
}

// box returns name's channel; b.mu must be held.
func (b *reportBox) box(name string) chan report {
	ch, ok := b.boxes[name]
	if !ok {
		ch = make(chan report, 1)
		b.boxes[name] = ch
	}
	return ch
}

// put files rep. A second report for the same case is an error of the peer's, added to the
// first report so that the case fails.
func (b *reportBox) put(rep report) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.box(rep.Name)
	select {
	case ch <- rep:
	default:
		first := <-ch
		first.Error = strings.TrimPrefix(first.Error+"; a second connection for the case", "; ")
		ch <- first
	}
}

// channel returns the channel name's report comes on.
func (b *reportBox) channel(name string) <-chan report {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.box(name)
}

// wait returns the report for name, or ctx's error.
func (b *reportBox) wait(ctx context.Context, name string) (report, error) {
	select {
	case rep := <-b.channel(name):
		return rep, nil
	case <-ctx.Done():
		return report{}, fmt.Errorf("no report for %s: %w", name, ctx.Err())
	}
}
