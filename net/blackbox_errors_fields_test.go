package net_test

// docs/net.md, "Errors": a system call's error is a *net.OpError with Op from the documented list
// and Net "tcp", alike on both paths: a gather write's error is a "write" (Go's net package says
// "writev"), and a socket accepted on IPv4 says "tcp" (Go's says "tcp4").

import (
	stdnet "net"
	"syscall"
	"testing"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
)

func TestBlackboxOpErrorFieldsAlikeOnBothPaths(t *testing.T) {
	r := bbRun(t, 1)
	ln := bbStdListener(t)
	s, peer := bbDialStd(t, r.ioc, ln)
	defer s.Close()
	peer.SetLinger(0)
	peer.Close()
	res := completion.Await(func(h completion.Handler[net.IOResult]) { s.AsyncReadSome(make([]byte, 16), h) })
	bbWantOpError(t, res.Err, "read", syscall.ECONNRESET, ln.Addr().String())
	g := completion.Await(func(h completion.Handler[net.IOResult]) {
		s.AsyncWriteSomeBuffers([][]byte{[]byte("a"), []byte("b")}, h)
	})
	bbWantOpError(t, g.Err, "write", 0, ln.Addr().String())

	acc := net.NewTCPAcceptor(r.ioc)
	if err := acc.Listen(bbLoopback, 0); err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	fa := completion.NewFuture[net.AcceptResult]()
	acc.AsyncAccept(nil, fa)
	c, err := stdnet.DialTCP("tcp", nil, stdnet.TCPAddrFromAddrPort(acc.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	ar := fa.Wait()
	if ar.Err != nil {
		t.Fatal(ar.Err)
	}
	defer ar.Socket.Close()
	c.SetLinger(0)
	c.Close()
	res = completion.Await(func(h completion.Handler[net.IOResult]) { ar.Socket.AsyncReadSome(make([]byte, 16), h) })
	bbWantOpError(t, res.Err, "read", syscall.ECONNRESET, c.LocalAddr().String())
}
