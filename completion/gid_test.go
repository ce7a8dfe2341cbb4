package completion_test

import "github.com/beastgo/beast/internal/gid"

// gidKnown reports whether executors can identify goroutines on this architecture, so that
// RunningInThisThread answers and Dispatch runs inline on its own executor.
func gidKnown() bool { return gid.Known }
