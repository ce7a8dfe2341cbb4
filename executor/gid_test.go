package executor_test

import "github.com/beastgo/beast/internal/gid"

// gidKnown reports whether executors can identify goroutines in this build: then Dispatch from
// inside runs inline and RunningInThisThread answers; otherwise Dispatch posts and
// RunningInThisThread reports false (the fallback, forced by the tag beastgo_nogid).
func gidKnown() bool { return gid.Known }
