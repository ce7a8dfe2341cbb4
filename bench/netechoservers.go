package main

import (
	"errors"
	"log"
	"net"
	"net/netip"
	"os"
	"runtime"
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
	servers["echo-beastgo-pool"] = serveBeastEchoPool
	servers["echo-beastgo-percore"] = serveBeastEchoPerCore
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

// serveBeastTCP listens on addr with a TCPAcceptor on one IOContext run by one goroutine, and
// hands each accepted socket to session, on the Run goroutine.
func serveBeastTCP(addr string, session func(*beastnet.TCPSocket)) (string, error) {
	return serveBeastTCPOn(addr, 1, 1, session)
}

// serveBeastEchoPool is the README's session on one IOContext run by a goroutine per core: Beast's
// advanced server, one io_context run by N threads.
func serveBeastEchoPool(addr string) (string, error) {
	return serveBeastTCPOn(addr, 1, runtime.GOMAXPROCS(0), startReadmeSession)
}

// serveBeastEchoPerCore is the README's session on an IOContext per core, each run by one
// goroutine, the accepted connections dealt to them in turn: Asio's io_context per core.
func serveBeastEchoPerCore(addr string) (string, error) {
	return serveBeastTCPOn(addr, runtime.GOMAXPROCS(0), 1, startReadmeSession)
}

// serveBeastTCPOn listens on addr with a TCPAcceptor on the first of contexts IOContexts, each
// run by runners goroutines, and hands the accepted sockets to the contexts in turn: each socket
// is opened on its context and session starts on it.
func serveBeastTCPOn(addr string, contexts, runners int, session func(*beastnet.TCPSocket)) (string, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return "", err
	}
	iocs := make([]*executor.IOContext, contexts)
	for i := range iocs {
		iocs[i] = executor.NewIOContext()
	}
	acc := beastnet.NewTCPAcceptor(iocs[0])
	if err := acc.Listen(ap, 0); err != nil {
		return "", err
	}
	accepted := 0
	var accept func()
	accept = func() {
		ioc := iocs[accepted%contexts]
		acc.AsyncAccept(ioc, completion.Callback(func(r beastnet.AcceptResult) {
			if r.Err != nil {
				log.Printf("bench server: accept: %v", r.Err) // the log goes to stderr
				return
			}
			accepted++
			if ioc == iocs[0] {
				session(r.Socket)
			} else {
				ioc.Post(func() { session(r.Socket) })
			}
			accept()
		}))
	}
	accept()
	for _, ioc := range iocs {
		// The guard is never reset: a context with no connection yet must stay in Run; the
		// process's exit ends the goroutines.
		executor.MakeWorkGuard(ioc)
		for range runners {
			go ioc.Run()
		}
	}
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
