// Command client is Beast's asynchronous WebSocket client written with beastgo: it connects to a
// WebSocket server, sends messages and checks that each comes back unchanged, then closes the
// connection.
//
// Usage:
//
//	client [-url ws://127.0.0.1:8080/] [-n 10] [-size 32] [-text] [-close-code 1000] [-close-reason ""] [-insecure]
//
// It sends -n messages of -size bytes, binary unless -text, one at a time, and prints each
// echo's size and round-trip time; then it closes with -close-code and -close-reason (a code of 0
// sends a close frame with no code) and prints the code and reason of the server's close frame.
// A wss:// URL runs over TLS, checking the server's certificate unless -insecure. The exit code
// is 0 when every echo matched and the closing handshake completed, 1 otherwise, 2 for a bad
// command line.
//
// The program runs on one IOContext, on the goroutine that calls Run, and every step is a
// handler that starts the next operation, as in the C++ example: resolve, connect (and the TLS
// handshake), the WebSocket handshake, a write and a read per message, the close. main.go (this
// file) is main and its flags, dial.go the connection, client.go the WebSocket session.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/websocket"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the flags say.
type config struct {
	url      *url.URL
	insecure bool
	n        int
	size     int
	text     bool
	close    websocket.CloseReason
}

// parseFlags reads the command line. Its error has been printed, with the usage, to stderr;
// flag.ErrHelp means -h was asked for.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "ws://127.0.0.1:8080/", "ws:// or wss:// `URL` of the server")
	insecure := fs.Bool("insecure", false, "do not check the wss:// server's certificate")
	n := fs.Int("n", 10, "`number` of messages to send")
	size := fs.Int("size", 32, "size of each message in `bytes`")
	text := fs.Bool("text", false, "send text messages (printable ASCII) instead of binary ones")
	code := fs.Int("close-code", int(websocket.CloseNormal), "`code` of the close frame; 0 sends none")
	reason := fs.String("close-reason", "", "`reason` of the close frame")
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
	u, err := url.Parse(*rawURL)
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments: %q", fs.Args())
	case err != nil:
		return usage("-url: %v", err)
	case u.Scheme != "ws" && u.Scheme != "wss":
		return usage("-url: the scheme must be ws or wss, not %q", u.Scheme)
	case u.Hostname() == "":
		return usage("-url: no host in %q", *rawURL)
	case *n < 0 || *size < 0:
		return usage("-n and -size must not be negative")
	case *code != 0 && (*code > 0xffff || !websocket.CloseCode(*code).Valid()):
		return usage("-close-code %d may not be sent", *code)
	}
	return config{
		url:      u,
		insecure: *insecure,
		n:        *n,
		size:     *size,
		text:     *text,
		close:    websocket.CloseReason{Code: websocket.CloseCode(*code), Reason: *reason},
	}, nil
}

// run is the whole program, apart from the signals and the exit: it returns the exit code. ctx
// ending (SIGINT, SIGTERM) cancels the operation in flight. Tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	ioc := executor.NewIOContext()
	c := newClient(ctx, ioc, cfg, stdout, stderr)
	c.Start()
	ioc.Run() // returns once the last operation has completed: the client is done
	return c.exitCode()
}
