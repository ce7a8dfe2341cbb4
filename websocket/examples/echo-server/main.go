// Command echo-server is Beast's advanced asynchronous WebSocket server written with beastgo: it
// accepts a WebSocket upgrade on any path and sends every message back as it came, text as text
// and binary as binary, until the client closes the connection or the server is asked to stop.
//
// Usage:
//
//	echo-server [-addr 127.0.0.1:8080] [-threads N] [-tls-cert cert.pem -tls-key key.pem]
//
// Once it listens it prints "listening on ADDR", ADDR being the address it is bound to (so
// -addr 127.0.0.1:0 picks a free port and says which). With -tls-cert and -tls-key it serves
// wss:// instead of ws://. SIGINT or SIGTERM stops it cleanly: it stops accepting, closes every
// open connection with 1001 (going away), and exits once they are closed, a few seconds at most.
//
// The program is written the way Beast's examples are, so that it can be read beside them: one
// IOContext serves every connection, run by -threads goroutines; each connection has a strand of
// its own, so its handlers never run two at once whichever goroutine runs them; and each step of a
// connection is a handler that starts the next operation. There is no goroutine per connection.
// The files follow the C++ example's classes: main.go (this one) is main and its flags, server.go
// the listener, acceptor.go where connections come from (TCP or TLS), session.go one connection.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/beastgo/beast/executor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the flags say.
type config struct {
	addr     netip.AddrPort
	threads  int
	certFile string
	keyFile  string
}

// parseFlags reads the command line. Its error has been printed, with the usage, to stderr;
// flag.ErrHelp means -h was asked for.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("echo-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "`address` to listen on (port 0 picks a free port)")
	threads := fs.Int("threads", 1, "`number` of goroutines running the IOContext")
	certFile := fs.String("tls-cert", "", "PEM certificate `file`: serve wss:// (with -tls-key)")
	keyFile := fs.String("tls-key", "", "PEM private key `file` of -tls-cert")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	// usage reports a flag's bad value as flag's own errors are reported.
	usage := func(format string, a ...any) (config, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return config{}, err
	}
	ap, err := netip.ParseAddrPort(*addr)
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments: %q", fs.Args())
	case err != nil:
		return usage("-addr: %v", err)
	case *threads < 1:
		return usage("-threads must be at least 1, not %d", *threads)
	case (*certFile == "") != (*keyFile == ""):
		return usage("-tls-cert and -tls-key go together")
	}
	return config{addr: ap, threads: *threads, certFile: *certFile, keyFile: *keyFile}, nil
}

// run is the whole program, apart from the signals and the exit: it serves until ctx ends, then
// shuts down, and returns the exit code. Tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}

	// The concurrency hint tells the context up front that several goroutines will run it, so
	// that operations check from the start that their steps are serialised (by the strands).
	ioc := executor.NewIOContextConcurrency(cfg.threads)
	srv, err := newServer(ioc, cfg, log.New(stderr, "echo-server: ", 0))
	if err != nil {
		fmt.Fprintln(stderr, "echo-server:", err)
		return 1
	}
	fmt.Fprintf(stdout, "listening on %s\n", srv.Addr())
	srv.Start() // before Run: the pending accept is the work that keeps Run going

	// The signal's goroutine only asks for the shutdown; the shutdown itself runs on the server's
	// strand. Run returns on every goroutine once the last connection has closed.
	var watcher sync.WaitGroup
	served := make(chan struct{})
	watcher.Go(func() {
		select {
		case <-ctx.Done():
			srv.Shutdown()
		case <-served:
		}
	})
	var runners sync.WaitGroup
	for range cfg.threads {
		runners.Go(func() { ioc.Run() })
	}
	runners.Wait()
	close(served)
	watcher.Wait()
	return 0
}
