package main

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// The Asio side of the comparisons is C++ (bench/asio), compiled by this program when it runs,
// never committed as binaries: the sources are embedded, written into a cache directory and
// compiled there with the machine's C++ compiler, g++ -O2 by default, against standalone Asio
// (Debian's libasio-dev) or, where only that is installed, Boost.Asio (libboost-dev). A binary is
// named by a hash of its sources, the compiler's identity and the flags, so a changed source or
// compiler builds again and an unchanged one is reused.

//go:embed asio/*.cpp asio/*.hpp
var asioSources embed.FS

// Environment variables that steer the Asio build.
const (
	// cxxEnv names the C++ compiler (default g++), as make's CXX does.
	cxxEnv = "CXX"
	// asioCacheEnv overrides the directory the binaries are cached in (default: the user's cache
	// directory, beastgo-bench/asio).
	asioCacheEnv = "BEASTGO_BENCH_CACHE"
	// asioFlavourEnv set to "boost" compiles against Boost.Asio even when standalone Asio is
	// installed.
	asioFlavourEnv = "BEASTGO_BENCH_ASIO"
)

// asioCXXFlags are the compiler flags of every Asio program.
var asioCXXFlags = []string{"-O2", "-std=c++17", "-pthread"}

// asioMissingMarker is the text of asio_select.hpp's #error: the compiler found neither header.
// beastMissingMarker is ws_echo.cpp's: it found no Boost.Beast.
const (
	asioMissingMarker  = "beastgo-asio-missing"
	beastMissingMarker = "beastgo-beast-missing"
)

// errAsioSkipped marks a build that cannot happen on this machine (no compiler, no Asio headers,
// not Unix): the Asio rows say why and the run does not fail.
var errAsioSkipped = errors.New("skipped")

// skipReason is the reason of an errAsioSkipped error, without the marker.
func skipReason(err error) (string, bool) {
	if !errors.Is(err, errAsioSkipped) {
		return "", false
	}
	return strings.TrimPrefix(err.Error(), errAsioSkipped.Error()+": "), true
}

// asioBuilder compiles the programs of bench/asio into a cache directory, each at most once per
// process.
type asioBuilder struct {
	cxx      string   // the compiler, as named (looked up on PATH)
	dir      string   // the cache directory
	extra    []string // flags beyond asioCXXFlags (the flavour's)
	mu       sync.Mutex
	built    map[string]string // program name -> binary path
	compiled []string          // programs this builder compiled rather than found in the cache
}

// newAsioBuilder is the builder the environment describes.
func newAsioBuilder() (*asioBuilder, error) {
	b := &asioBuilder{cxx: os.Getenv(cxxEnv), dir: os.Getenv(asioCacheEnv), built: make(map[string]string)}
	if b.cxx == "" {
		b.cxx = "g++"
	}
	if b.dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("no cache directory for the Asio programs (set %s): %w", asioCacheEnv, err)
		}
		b.dir = filepath.Join(cache, "beastgo-bench", "asio")
	}
	switch f := os.Getenv(asioFlavourEnv); f {
	case "", "standalone":
	case "boost":
		b.extra = []string{"-DBEASTGO_USE_BOOST_ASIO"}
	default:
		return nil, fmt.Errorf("%s=%q: want standalone or boost", asioFlavourEnv, f)
	}
	return b, nil
}

// build returns the path of program name (bench/asio/NAME.cpp) compiled, compiling it if the
// cache does not hold it. An error matching errAsioSkipped says the machine cannot build it.
func (b *asioBuilder) build(name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.built[name]; ok {
		return p, nil
	}
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		return "", fmt.Errorf("%w: the Asio programs use getrusage(2) and are built on Unix only", errAsioSkipped)
	}
	cxx, err := exec.LookPath(b.cxx)
	if err != nil {
		return "", fmt.Errorf("%w: no C++ compiler %q on PATH (install g++, or name one with %s)", errAsioSkipped, b.cxx, cxxEnv)
	}
	files, err := asioFiles(name)
	if err != nil {
		return "", err
	}
	version, err := exec.Command(cxx, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", cxx, err)
	}
	flags := append(append([]string{}, asioCXXFlags...), b.extra...)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%q\n", cxx, version, flags)
	for _, f := range files {
		fmt.Fprintf(h, "%s\n%d\n", f.name, len(f.data))
		h.Write(f.data)
	}
	bin := filepath.Join(b.dir, name+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		b.built[name] = bin
		return bin, nil
	}
	if err := b.compile(cxx, flags, name, files, bin); err != nil {
		return "", err
	}
	b.built[name] = bin
	b.compiled = append(b.compiled, name)
	return bin, nil
}

// asioFile is one embedded source.
type asioFile struct {
	name string
	data []byte
}

// asioFiles are the sources of program name: its .cpp and every header, sorted by name.
func asioFiles(name string) ([]asioFile, error) {
	entries, err := asioSources.ReadDir("asio")
	if err != nil {
		return nil, err
	}
	var files []asioFile
	found := false
	for _, e := range entries {
		n := e.Name()
		if n != name+".cpp" && !strings.HasSuffix(n, ".hpp") {
			continue
		}
		found = found || n == name+".cpp"
		data, err := asioSources.ReadFile("asio/" + n)
		if err != nil {
			return nil, err
		}
		files = append(files, asioFile{n, data})
	}
	if !found {
		return nil, fmt.Errorf("no Asio program %q in bench/asio", name)
	}
	return files, nil
}

// compile writes files into a fresh directory under the cache and compiles name.cpp to bin,
// through a temporary name so that a concurrent run never sees half a binary.
func (b *asioBuilder) compile(cxx string, flags []string, name string, files []asioFile, bin string) error {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	src, err := os.MkdirTemp(b.dir, "src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(src, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	tmp := filepath.Join(src, name)
	args := append(append([]string{}, flags...), "-o", tmp, filepath.Join(src, name+".cpp"))
	var out bytes.Buffer
	cmd := exec.Command(cxx, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if bytes.Contains(out.Bytes(), []byte(asioMissingMarker)) {
			return fmt.Errorf("%w: neither <asio.hpp> (apt-get install libasio-dev) nor <boost/asio.hpp> (libboost-dev) is installed", errAsioSkipped)
		}
		if bytes.Contains(out.Bytes(), []byte(beastMissingMarker)) {
			return fmt.Errorf("%w: <boost/beast/websocket.hpp> is not installed (apt-get install libboost-dev)", errAsioSkipped)
		}
		return fmt.Errorf("compiling bench/asio/%s.cpp: %s %s: %w\n%s", name, cxx, strings.Join(flags, " "), err, out.Bytes())
	}
	return os.Rename(tmp, bin)
}

// describeBuild is how the tables name the compiler and flags: "g++ -O2".
func (b *asioBuilder) describeBuild() string {
	return filepath.Base(b.cxx) + " " + strings.Join(append([]string{asioCXXFlags[0]}, b.extra...), " ")
}
