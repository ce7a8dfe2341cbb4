package completion_test

import "github.com/beastgo/beast/internal/gid"

// gidKnown reports whether executors can identify goroutines in this build, so that
// RunningInThisThread answers and Dispatch runs inline on its own executor (false with the tag
// beastgo_nogid, on architectures without internal/gid's assembly, or under gccgo).
func gidKnown() bool { return gid.Known }
