package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
)

// The client of the websocket group is the same for every server and costs as little as it can:
// a blocking net.Conn per connection, an upgrade request written by hand, and for each round
// trip one write of a frame masked once in advance and a read of the echo through a bufio.Reader
// that discards the payload (checking it only on the first and last trips of each connection). It
// never allocates per round trip except to record the latency.

// wsClientKey is the Sec-WebSocket-Key of every upgrade request: RFC 6455's sample nonce. The
// client does not check Sec-WebSocket-Accept; the servers are known and trusted.
const wsClientKey = "dGhlIHNhbXBsZSBub25jZQ=="

// wsClientReadBuf is the client's read buffer: a 64 KiB echo's frame fits whole.
const wsClientReadBuf = 64<<10 + 16

// errServerClosed is what the client reports when a server sends a close frame.
var errServerClosed = errors.New("the server sent a close frame")

// wsClientConn is one connection of the client.
type wsClientConn struct {
	conn  net.Conn
	br    *bufio.Reader
	frame []byte // the message as one masked binary frame
	msg   []byte // the message itself, to check an echo against
	back  []byte // where a checked echo is read
}

// dialWS connects from local (nil: the system's choice) to addr, upgrades the connection and
// prepares size-byte messages.
func dialWS(addr string, local net.IP, size int) (*wsClientConn, error) {
	conn, err := dialFrom(addr, local)
	if err != nil {
		return nil, err
	}
	c := &wsClientConn{conn: conn, br: bufio.NewReaderSize(conn, wsClientReadBuf)}
	c.msg = make([]byte, size)
	for i := range c.msg {
		c.msg[i] = byte('a' + i%26)
	}
	c.frame = encodeClientFrame(c.msg, [4]byte{0x37, 0xfa, 0x21, 0x3d})
	c.back = make([]byte, size)
	if err := c.handshake(addr); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// handshake sends the upgrade request and reads the server's 101.
func (c *wsClientConn) handshake(addr string) error {
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + wsClientKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c.conn, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return fmt.Errorf("reading the upgrade response: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade answered %s", resp.Status)
	}
	return nil
}

// encodeClientFrame is payload as one final binary frame masked with key, as a client must send
// it (RFC 6455 5.2).
func encodeClientFrame(payload []byte, key [4]byte) []byte {
	f := []byte{0x82} // FIN, binary
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// roundTrip sends the message and reads its echo, checking the echo's bytes when check is set.
func (c *wsClientConn) roundTrip(check bool) error {
	if _, err := c.conn.Write(c.frame); err != nil {
		return err
	}
	var dst []byte
	if check {
		dst = c.back
	}
	n, err := readMessage(c.br, dst)
	if err != nil {
		return err
	}
	if n != len(c.msg) {
		return fmt.Errorf("the echo of a %d-byte message has %d bytes", len(c.msg), n)
	}
	if check && !bytes.Equal(c.back, c.msg) {
		return fmt.Errorf("the echo of a %d-byte message has other bytes", len(c.msg))
	}
	return nil
}

// readMessage reads one data message from a server, frame by frame, and returns its length. The
// payload goes into dst when dst is not nil (bytes beyond len(dst) are dropped) and is discarded
// otherwise. Pings and pongs between the frames are skipped; a close frame is errServerClosed.
func readMessage(br *bufio.Reader, dst []byte) (int, error) {
	total := 0
	for {
		h, err := br.Peek(2)
		if err != nil {
			return total, err
		}
		fin, op, masked := h[0]&0x80 != 0, h[0]&0x0f, h[1]&0x80 != 0
		if masked {
			return total, errors.New("the server masked a frame")
		}
		n, hl := int64(h[1]&0x7f), 2
		switch n {
		case 126:
			hl = 4
		case 127:
			hl = 10
		}
		if hl > 2 {
			if h, err = br.Peek(hl); err != nil {
				return total, err
			}
			if hl == 4 {
				n = int64(binary.BigEndian.Uint16(h[2:4]))
			} else {
				n = int64(binary.BigEndian.Uint64(h[2:10]))
			}
		}
		if _, err := br.Discard(hl); err != nil {
			return total, err
		}
		control := op >= 0x8
		rest := n
		if !control && dst != nil && total < len(dst) {
			k := min(int64(len(dst)-total), n)
			if _, err := io.ReadFull(br, dst[total:total+int(k)]); err != nil {
				return total, err
			}
			rest -= k
		}
		if _, err := br.Discard(int(rest)); err != nil {
			return total, err
		}
		if op == 0x8 {
			return total, errServerClosed
		}
		if control {
			continue
		}
		total += int(n)
		if fin {
			return total, nil
		}
	}
}

// close resets the connection (SO_LINGER 0), so that the thousands of connections a run opens
// leave no TIME_WAIT behind to run the ports out.
func (c *wsClientConn) close() {
	if tc, ok := c.conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.conn.Close()
}

// localAddrs is how many loopback source addresses (127.0.0.1, .2, ...) the client spreads its
// connections over on Linux, where all of 127/8 is the loopback: each has its own ephemeral ports.
const localAddrs = 16

// localAddr is the source address of the i-th connection: nil (the system's choice) except on
// Linux.
func localAddr(i int) net.IP {
	if runtime.GOOS != "linux" {
		return nil
	}
	return net.IPv4(127, 0, 0, byte(1+i%localAddrs))
}
