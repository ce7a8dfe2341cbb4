package net

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// A cancellation that arrives while AsyncWait is starting the wait (from another goroutine, at
// once) completes it with the abort error; none is lost to run until the expiry.
func TestTimerWaitCancelledAsItStartsIsAborted(t *testing.T) {
	waits := 20000
	if raceEnabled || testing.Short() {
		waits = 5000
	}
	ioc := executor.NewIOContext()
	tm := NewSteadyTimer(ioc)
	// Far enough that every cancellation arrives first, whatever the machine's load: a lost one
	// shows as a wait that completes with nil when this expiry passes.
	tm.ExpiresAfter(30 * time.Second)
	var mu sync.Mutex
	var lost, wrong int
	var firstWrong error
	var cancellers sync.WaitGroup
	for range waits {
		ctx, cancel := context.WithCancel(context.Background())
		start := make(chan struct{})
		cancellers.Go(func() {
			<-start
			cancel()
		})
		close(start)
		tm.AsyncWait(completion.WithContext(ctx, completion.Callback(func(err error) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				lost++
			case !errors.Is(err, completion.ErrOperationAborted) || !errors.Is(err, context.Canceled):
				wrong++
				firstWrong = err
			}
		})))
	}
	cancellers.Wait()
	ioc.Run()
	if lost != 0 || wrong != 0 {
		t.Fatalf("of %d waits cancelled as they started, %d ran to the expiry and %d completed with another error (%v)", waits, lost, wrong, firstWrong)
	}
}
