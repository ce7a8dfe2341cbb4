package interop

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The environment variables through which CI (.ci/run's interop step) or a developer names the
// peers from outside Go. When one is set, the tool it names must work: a failure is the test's
// failure. When it is unset, the test installs the tool itself from the package registries, and
// skips the peer only when a registry cannot be reached.
const (
	// envNodeModules names a node_modules directory holding the npm package ws, version 8.
	envNodeModules = "BEASTGO_INTEROP_NODE_MODULES"
	// envChromium names a Chromium executable.
	envChromium = "BEASTGO_INTEROP_CHROMIUM"
)

// installTimeout bounds one install from a registry.
const installTimeout = 5 * time.Minute

// errUnreachable marks an install that failed because its registry could not be reached.
var errUnreachable = errors.New("the package registry cannot be reached")

// unreachableSigns are what npm and apt-get print when they cannot reach their registry.
var unreachableSigns = []string{
	"ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
	"Could not resolve", "Temporary failure resolving", "Failed to fetch", "Unable to connect",
	"Could not connect", "Connection failed", "Network is unreachable", "Connection timed out",
}

// run runs a command that talks to a registry, returning its output; a failure whose output
// shows that the registry could not be reached matches errUnreachable.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return string(out), nil
	}
	for _, sign := range unreachableSigns {
		if strings.Contains(string(out), sign) {
			return string(out), errors.Join(errUnreachable, err)
		}
	}
	return string(out), err
}

// need turns an install's failure into the test's end: a skip when the registry cannot be
// reached, a failure otherwise.
func need(t *testing.T, what, out string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, errUnreachable) {
		t.Skipf("skipped: %s failed because its package registry cannot be reached from this machine:\n%s", what, out)
	}
	t.Fatalf("%s: %v\n%s", what, err, out)
}

var aptMu sync.Mutex // one apt-get at a time in this process

// aptInstall installs Debian packages, fetching the package lists first when apt-get does not
// know the packages (as on a new machine, whose lists are empty).
func aptInstall(t *testing.T, pkgs ...string) {
	t.Helper()
	aptMu.Lock()
	defer aptMu.Unlock()
	if os.Geteuid() != 0 {
		t.Fatalf("%s is not installed, and only root may install it: apt-get install %s, or name it through the environment",
			strings.Join(pkgs, " "), strings.Join(pkgs, " "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	install := append([]string{"-o", "DPkg::Lock::Timeout=120", "install", "-y", "-q", "--no-install-recommends"}, pkgs...)
	out, err := run(ctx, "apt-get", install...)
	if err != nil && !errors.Is(err, errUnreachable) {
		// The lists may be missing or out of date.
		out, err = run(ctx, "apt-get", "-o", "DPkg::Lock::Timeout=120", "update", "-q")
		need(t, "apt-get update", out, err)
		out, err = run(ctx, "apt-get", install...)
	}
	need(t, "apt-get install "+strings.Join(pkgs, " "), out, err)
}

// nodeTools returns the node executable and a node_modules directory holding ws 8: the one
// envNodeModules names, else one under the user's cache directory, installed there with npm
// unless an earlier run did.
func nodeTools(t *testing.T) (node, modules string) {
	t.Helper()
	if dir := os.Getenv(envNodeModules); dir != "" {
		if err := checkWS(dir); err != nil {
			t.Fatalf("%s=%s: %v", envNodeModules, dir, err)
		}
		node, err := exec.LookPath("node")
		if err != nil {
			t.Fatalf("%s is set but node is not on PATH: %v", envNodeModules, err)
		}
		return node, dir
	}
	if _, err := exec.LookPath("npm"); err != nil {
		aptInstall(t, "nodejs", "npm")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	prefix := filepath.Join(cache, "beastgo-interop", "ws8")
	modules = filepath.Join(prefix, "node_modules")
	if checkWS(modules) == nil {
		return node, modules
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	out, err := run(ctx, "npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", "ws@8")
	need(t, "npm install ws@8", out, err)
	if err := checkWS(modules); err != nil {
		t.Fatalf("npm install ws@8 into %s: %v\n%s", prefix, err, out)
	}
	return node, modules
}

// checkWS reports whether dir holds the npm package ws at major version 8.
func checkWS(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "ws", "package.json"))
	if err != nil {
		return err
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		return err
	}
	if !strings.HasPrefix(pkg.Version, "8.") {
		return errors.New("ws is version " + pkg.Version + ", want 8")
	}
	return nil
}

// chromium returns the Chromium executable: the one envChromium names, else chromium on PATH,
// installed from Debian's packages when it is not there.
func chromium(t *testing.T) string {
	t.Helper()
	if path := os.Getenv(envChromium); path != "" {
		if _, err := exec.LookPath(path); err != nil {
			t.Fatalf("%s=%s: %v", envChromium, path, err)
		}
		return path
	}
	if path, err := exec.LookPath("chromium"); err == nil {
		return path
	}
	aptInstall(t, "chromium")
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("apt-get installed chromium, but it is not on PATH: %v", err)
	}
	return path
}
