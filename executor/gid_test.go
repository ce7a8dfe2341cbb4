package executor_test

import "runtime"

// gidKnown mirrors internal/gid.Known: on these architectures executors can identify goroutines,
// so Dispatch from inside runs inline.
func gidKnown() bool { return runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64" }
