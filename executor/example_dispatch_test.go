// The output below is that of builds that identify goroutines. Elsewhere Dispatch posts, and
// TestIOContextDispatchInlineInsideQueuedOutside checks both behaviours.

//go:build gc && (amd64 || arm64) && !beastgo_nogid

package executor_test

import (
	"fmt"

	"github.com/beastgo/beast/executor"
)

// Dispatch runs inline when the caller already runs on the executor; Post never does.
func ExampleIOContext_Dispatch() {
	ctx := executor.NewIOContext()
	ctx.Post(func() {
		ctx.Post(func() { fmt.Println("posted: runs after the handler returns") })
		ctx.Dispatch(func() { fmt.Println("dispatched: runs at once") })
		fmt.Println("handler returns")
	})
	ctx.Run()
	// Output:
	// dispatched: runs at once
	// handler returns
	// posted: runs after the handler returns
}
