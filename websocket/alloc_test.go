//go:build linux && !beastgo_portable

// The test is for the epoll reactor's sockets. On the portable path (Go's net package served by
// goroutines, every system but Linux) each socket operation allocates its own completion, a dozen
// allocations per message.

package websocket_test

import (
	"testing"

	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/benchcases"
	"github.com/beastgo/beast/internal/gid"
)

// TestMessageAllocs checks that a message allocates nothing in steady state, written and read
// into a reused buffer over loopback TCP, in both roles: from the client, which masks its payload
// through its write buffer, and from the server, which does not. Each message runs the IOContext
// until it is out of work, and IOContext.Run allocates per call by design, so what is compared is
// a message with its Run against a Run alone.
func TestMessageAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops at random under the race detector: counted in the build without it")
	}
	for _, fromClient := range []bool{true, false} {
		for _, size := range messageSizes {
			from := map[bool]string{true: "client", false: "server"}[fromClient]
			t.Run("from="+from+"/size="+sizeName(size), func(t *testing.T) {
				ioc := executor.NewIOContext()
				p, err := benchcases.NewWSPair(ioc)
				if err != nil {
					t.Fatal(err)
				}
				defer func() {
					p.Close()
					ioc.Run()
				}()
				m := benchcases.NewWSMessage(p, size, fromClient)
				run := func() {
					ioc.Run()
					ioc.Restart()
				}
				once := func() {
					m.Start()
					run()
				}
				// The first messages grow the reader's buffer and make the client's write buffer.
				for range 3 {
					once()
					if err := m.Err(); err != nil {
						t.Fatal(err)
					}
				}
				runOnly := testing.AllocsPerRun(100, run)
				allocs := testing.AllocsPerRun(100, once)
				if err := m.Err(); err != nil {
					t.Fatal(err)
				}
				switch {
				case gid.Known && allocs != runOnly:
					t.Errorf("%v allocations per message and Run, against %v for Run alone; want the same", allocs, runOnly)
				case !gid.Known && allocs > runOnly+8:
					// Without goroutine identity (beastgo_nogid) an inner operation's completion cannot
					// be known to run on the step executor, so it is posted as a closure: about one
					// allocation per operation on the next layer, a handful per message, never more.
					t.Errorf("%v allocations per message and Run without goroutine identity, against %v for Run alone; want at most 8 more", allocs, runOnly)
				}
				t.Logf("%v allocations per message and Run, %v per Run alone (goroutine identity: %v)", allocs, runOnly, gid.Known)
			})
		}
	}
}
