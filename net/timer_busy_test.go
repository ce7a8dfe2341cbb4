package net

import (
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// TestTimerFiresOnBusyContext: a due timer fires while handlers keep the context's queue from ever
// emptying, whether one Run call runs them or a RunOne call each (Asio's scheduler runs its
// reactor once per pass over the queue; the IOContext looks at its reactor every so many
// handlers).
func TestTimerFiresOnBusyContext(t *testing.T) {
	for _, one := range []bool{false, true} {
		ioc := executor.NewIOContext()
		tm := NewSteadyTimer(ioc)
		tm.ExpiresAfter(time.Millisecond)
		fired := false
		tm.AsyncWait(completion.Callback(func(error) { fired = true }))
		const most = 2_000_000
		posts := 0
		var loop func()
		loop = func() {
			posts++
			if !fired && posts < most {
				ioc.Post(loop)
			}
		}
		ioc.Post(loop)
		if one {
			for ioc.RunOne() > 0 {
			}
		} else {
			ioc.Run()
		}
		if !fired || posts >= most {
			t.Fatalf("RunOne %v: the 1 ms timer fired %v after %d handlers", one, fired, posts)
		}
	}
}
