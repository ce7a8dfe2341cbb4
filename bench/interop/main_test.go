package interop

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a peer's session, a Stream's
// IOContext, a reader of a Node.js or Chromium process.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
