package executor_test

import (
	"testing"

	"github.com/beastgo/beast/executor"
)

func TestInlineRunsEverythingAtOnce(t *testing.T) {
	var ex executor.Executor = executor.Inline{}
	n := 0
	ex.Post(func() { n++ })
	ex.Defer(func() { n++ })
	ex.Dispatch(func() { n++ })
	ex.OnWorkStarted()
	ex.OnWorkFinished()
	if n != 3 {
		t.Fatalf("ran %d of 3 at once", n)
	}
}

func TestSystemPostsToGoroutinesAndDispatchesInline(t *testing.T) {
	var ex executor.Executor = executor.System{}
	done := make(chan struct{}, 2)
	ex.Post(func() { done <- struct{}{} })
	ex.Defer(func() { done <- struct{}{} })
	<-done
	<-done
	inline := false
	ex.Dispatch(func() { inline = true })
	if !inline {
		t.Fatal("System.Dispatch did not run at once")
	}
}
