package main

import (
	"bytes"
	"context"
	stdnet "net"
	"strings"
	"testing"
)

// Bad command lines are refused with exit code 2 and a message naming the problem, before
// anything listens; -h prints the usage and exits 0.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"help", []string{"-h"}, 0, "-threads"},
		{"unknown flag", []string{"-port", "80"}, 2, "-port"},
		{"no threads", []string{"-threads", "0"}, 2, "-threads must be at least 1"},
		{"host name", []string{"-addr", "localhost:8080"}, 2, "-addr"},
		{"no port", []string{"-addr", "127.0.0.1"}, 2, "-addr"},
		{"certificate without key", []string{"-tls-cert", "cert.pem"}, 2, "go together"},
		{"argument", []string{"extra"}, 2, "unexpected arguments"},
		{"missing certificate", []string{"-addr", "127.0.0.1:0", "-tls-cert", "none.pem", "-tls-key", "none.pem"}, 1, "none.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.says) || stdout.Len() != 0 {
				t.Fatalf("exit %d, stdout %q, stderr:\n%s\nwant exit %d and a mention of %q", code, &stdout, &stderr, tc.code, tc.says)
			}
		})
	}
}

// An address already in use is reported, with exit code 1.
func TestListenFails(t *testing.T) {
	ln, err := stdnet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-addr", ln.Addr().String()}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "address already in use") || stdout.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, &stdout, &stderr)
	}
}
