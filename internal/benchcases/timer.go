package benchcases

import (
	"context"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	beastnet "github.com/beastgo/beast/net"
)

// Timer returns the timer comparisons: a wait started and cancelled before it expires (the common
// case of a timeout that guards an operation which completes in time), by Go's runtime timers and
// by beastgo's SteadyTimer, cancelled by Cancel and through a context.
func Timer() []Case {
	return []Case{
		{Group: "timer", Name: "time.AfterFunc then Stop", Unit: "wait", Baseline: true, Bench: GoTimerStop},
		{Group: "timer", Name: "SteadyTimer wait, Cancel, handler run", Unit: "wait", Bench: SteadyTimerCancel},
		{Group: "timer", Name: "SteadyTimer wait cancelled by its context", Unit: "wait", Bench: SteadyTimerContextCancel},
	}
}

// timerExpiry is far enough away that no wait of these benchmarks ever expires.
const timerExpiry = time.Hour

// GoTimerStop arms a runtime timer and stops it before it fires.
func GoTimerStop(b *testing.B) {
	b.ReportAllocs()
	f := func() {}
	for b.Loop() {
		t := time.AfterFunc(timerExpiry, f)
		t.Stop()
	}
}

// SteadyTimerCancel starts a wait on a SteadyTimer, cancels it with Cancel and runs the aborted
// handler, one wait at a time on one IOContext.
func SteadyTimerCancel(b *testing.B) {
	b.ReportAllocs()
	ioc := executor.NewIOContext()
	t := beastnet.NewSteadyTimer(ioc)
	aborted := 0
	h := completion.Callback(func(err error) {
		if err != nil {
			aborted++
		}
	})
	for b.Loop() {
		t.ExpiresAfter(timerExpiry)
		t.AsyncWait(h)
		t.Cancel()
		ioc.Run()
		ioc.Restart()
	}
	if aborted != b.N {
		b.Fatalf("%d of %d waits were aborted", aborted, b.N)
	}
}

// SteadyTimerContextCancel starts a wait whose handler carries a context and cancels the context,
// then runs the aborted handler: a timeout cancelled the Go way.
func SteadyTimerContextCancel(b *testing.B) {
	b.ReportAllocs()
	ioc := executor.NewIOContext()
	t := beastnet.NewSteadyTimer(ioc)
	t.ExpiresAfter(timerExpiry)
	aborted := 0
	h := completion.Callback(func(err error) {
		if err != nil {
			aborted++
		}
	})
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		t.AsyncWait(completion.WithContext(ctx, h))
		cancel()
		ioc.Run()
		ioc.Restart()
	}
	if aborted != b.N {
		b.Fatalf("%d of %d waits were aborted", aborted, b.N)
	}
}
