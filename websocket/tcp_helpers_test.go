package websocket

import (
	stdnet "net"
	"testing"
)

func listenLoopback() (stdnet.Listener, error) { return stdnet.Listen("tcp", "127.0.0.1:0") }

// tcpConns returns both ends of a loopback TCP connection, closed when the test ends.
func tcpConns(t *testing.T) (client, server stdnet.Conn) {
	t.Helper()
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cc, sc, err := dialPair(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); sc.Close() })
	return cc, sc
}

// dialPair connects to ln and returns both ends of the connection.
func dialPair(ln stdnet.Listener) (stdnet.Conn, stdnet.Conn, error) {
	type accepted struct {
		c   stdnet.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	cc, err := stdnet.Dial("tcp", ln.Addr().String())
	a := <-ch
	if err != nil {
		if a.c != nil {
			a.c.Close()
		}
		return nil, nil, err
	}
	if a.err != nil {
		cc.Close()
		return nil, nil, a.err
	}
	return cc, a.c, nil
}
