package main

import (
	"errors"
	"log"
	"net"
	"net/netip"
	"os"
	"syscall"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	beastnet "github.com/beastgo/beast/net"
)

// The net-echo group's TCP echo servers. Each runs in a server child (bench/wschild.go), reads
// into a 4 KiB buffer whatever the connection has and writes it back whole before reading again.

// asioEchoEnv names the compiled bench/asio/echo.cpp to the child that runs it: the parent builds
// it, and the child replaces itself with it (serveAsioEcho).
const asioEchoEnv = "BEASTGO_BENCH_ASIO_ECHO"

// tcpEchoBuf is every server's read buffer: the README's echo's.
const tcpEchoBuf = 4096

func init() {
	servers["echo-beastgo"] = serveBeastEcho
	servers["echo-beastgo-bound"] = serveBeastEchoBound
	servers["echo-gonet"] = serveGoNetEcho
	servers["echo-asio"] = serveAsioEcho
}

// serveBeastEcho is the README's echo server: one IOContext run by one goroutine, a TCPAcceptor,
// and per connection a session whose read and write handlers are made once, when it starts, the
// write by net.AsyncWrite.
func serveBeastEcho(addr string) (string, error) {
	return serveBeastTCP(addr, startReadmeSession)
}

// readmeSession is the README's session.
type readmeSession struct {
	sock            *beastnet.TCPSocket
	buf             [tcpEchoBuf]byte
	onRead, onWrite completion.Func[beastnet.IOResult]
}

func startReadmeSession(sock *beastnet.TCPSocket) {
	s := &readmeSession{sock: sock}
	s.onRead = func(r beastnet.IOResult) {
		if r.Err != nil {
			s.sock.Close()
			return
		}
		beastnet.AsyncWrite(s.sock, s.buf[:r.N], s.onWrite)
	}
	s.onWrite = func(w beastnet.IOResult) {
		if w.Err != nil {
			s.sock.Close()
			return
		}
		s.sock.AsyncReadSome(s.buf[:], s.onRead)
	}
	s.sock.AsyncReadSome(s.buf[:], s.onRead)
}

// serveBeastEchoBound is the same server with the write completed by AsyncWriteSome calls rather
// than net.AsyncWrite: what the composed write costs shows as the difference between the two.
func serveBeastEchoBound(addr string) (string, error) {
	return serveBeastTCP(addr, startBoundSession)
}

// boundSession is an echo session whose handlers are made once.
type boundSession struct {
	sock          *beastnet.TCPSocket
	buf           [tcpEchoBuf]byte
	n, w          int
	onRead, wrote completion.Func[beastnet.IOResult]
}

func startBoundSession(sock *beastnet.TCPSocket) {
	s := &boundSession{sock: sock}
	s.onRead = func(r beastnet.IOResult) {
		if r.Err != nil {
			s.sock.Close()
			return
		}
		s.n, s.w = r.N, 0
		s.sock.AsyncWriteSome(s.buf[:s.n], s.wrote)
	}
	s.wrote = func(r beastnet.IOResult) {
		if r.Err != nil {
			s.sock.Close()
			return
		}
		if s.w += r.N; s.w < s.n {
			s.sock.AsyncWriteSome(s.buf[s.w:s.n], s.wrote)
			return
		}
		s.sock.AsyncReadSome(s.buf[:], s.onRead)
	}
	s.sock.AsyncReadSome(s.buf[:], s.onRead)
}

// serveBeastTCP listens on addr with a TCPAcceptor on one IOContext run by one goroutine, and
// hands each accepted socket to session, on the Run goroutine.
func serveBeastTCP(addr string, session func(*beastnet.TCPSocket)) (string, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "", err
	}
	ioc := executor.NewIOContext()
	acc := beastnet.NewTCPAcceptor(ioc)
	if err := acc.Listen(ap, 0); err != nil {
		return "", err
	}
	var accept func()
	accept = func() {
		acc.AsyncAccept(nil, completion.Callback(func(r beastnet.AcceptResult) {
			if r.Err != nil {
				log.Printf("bench server: accept: %v", r.Err) // the log goes to stderr
				return
			}
			session(r.Socket)
			accept()
		}))
	}
	accept()
	go ioc.Run() // the pending accept keeps Run in; the process's exit ends it
	return acc.Addr().String(), nil
}

// serveGoNetEcho is the same server as a Go programmer writes it with the net package: a
// goroutine per connection, Read then Write.
func serveGoNetEcho(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				log.Printf("bench server: accept: %v", err)
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, tcpEchoBuf)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), nil
}

// serveAsioEcho replaces the child process with bench/asio/echo.cpp, compiled by the parent and
// named by asioEchoEnv, which listens on addr and speaks the child protocol itself (its CPU time is
// then its own, from getrusage(2), in the same process the parent started). It returns only if the
// exec fails. The parent never asks this child for a CPU profile: the profiling timer would
// outlive the exec and its signal end the C++ program.
func serveAsioEcho(addr string) (string, error) {
	bin := os.Getenv(asioEchoEnv)
	if bin == "" {
		return "", errors.New(asioEchoEnv + " is not set: the parent names the compiled echo.cpp")
	}
	// Nothing of this process's own output is buffered: the child protocol writes its lines
	// through fmt.Fprintf to the unbuffered stdout, and none has been written yet.
	return "", syscall.Exec(bin, []string{bin, addr}, os.Environ())
}
