package composed_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestVetReportsCopies runs go vet over a package that copies an Op and a Slot: its copylocks
// check must report both copies.
func TestVetReportsCopies(t *testing.T) {
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "vet", "./testdata/copies").CombinedOutput()
	if err == nil {
		t.Fatalf("go vet passed a package that copies an Op and a Slot:\n%s", out)
	}
	for _, want := range []string{"copies lock value: github.com/beastgo/beast/composed.Op[int]", "copies lock value: github.com/beastgo/beast/composed.Slot[int]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("go vet did not report %q:\n%s", want, out)
		}
	}
}
