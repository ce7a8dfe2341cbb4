package websocket_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/websocket"
)

// TestBBStaleCancelRace: a read waiting idle, its context cancelled as the message arrives.
// docs/websocket.md: a read that completes has the message; a cancelled one ends the stream. A
// read that completes with the message must leave the stream open and its next layer usable.
func TestBBStaleCancelRace(t *testing.T) {
	for _, trName := range []string{"tcp-pool-strands", "tcp", "tls", "nettest"} {
		t.Run(trName, func(t *testing.T) {
			var tr irTransport
			for _, x := range irTransports {
				if x.name == trName {
					tr = x
				}
			}
			irForget()
			r := tr.run(t)
			counts := map[string]int{}
			for i := range 300 {
				role := roles[i%2]
				var me, peer irSide
				if role == websocket.RoleClient {
					me, peer = tr.open(t, r, nil, nil)
				} else {
					peer, me = tr.open(t, r, nil, nil)
				}
				ctx, cancel := context.WithCancel(context.Background())
				rd, m := me.readMsg(ctx)
				<-rd.started
				var wg sync.WaitGroup
				wg.Go(func() {
					for range i % 40 {
						runtime.Gosched()
					}
					cancel()
				})
				w := peer.write([]byte("first"), true)
				res := rd.wait(t, "first read")
				wg.Wait()
				w.wait(t, "first write")
				if res.Err != nil {
					// docs/websocket.md: "every later operation fails with it".
					lr, _ := me.readMsg(nil)
					lw := me.write([]byte("late"), false)
					le, lwe := lr.wait(t, "later read").Err, lw.wait(t, "later write").Err
					if !irSameErr(le, res.Err) || !irSameErr(lwe, res.Err) {
						counts[fmt.Sprintf("%s cancelled (%v), then: read %v, write %v", roleName(role), res.Err, le, lwe)]++
					} else {
						counts["cancelled"]++
					}
					me.next.Close()
					peer.next.Close()
					continue
				}
				if string(m.data) != "first" {
					t.Fatalf("first read %q", m.data)
				}
				open := !irEnded(t, me)
				rd2, m2 := me.readMsg(nil)
				<-rd2.started
				w2 := peer.write([]byte("second"), true)
				select {
				case <-rd2.done:
				case <-time.After(5 * time.Second):
				}
				w2.wait(t, "second write")
				if !open || !rd2.isDone() || rd2.res.Err != nil || string(m2.data) != "second" {
					var e error
					if rd2.isDone() {
						e = rd2.res.Err
					}
					counts[fmt.Sprintf("%s read the message, then: open %v, next read done %v: %v", roleName(role), open, rd2.isDone(), e)]++
					me.next.Close()
					peer.next.Close()
					rd2.wait(t, "second read after the close")
					continue
				}
				counts["read, stream fine"]++
				irEndByPeerClose(t, me, peer, roleName(role))
			}
			r.drain(t)
			t.Logf("%v", counts)
			for k := range counts {
				if k != "cancelled" && k != "read, stream fine" {
					t.Errorf("a read that completed with its message left the stream broken: %v", counts)
					break
				}
			}
		})
	}
}

// TestBBStaleCancelRaceRaw: the same over loopback TCP with a raw client, on an IOContext
// run by one goroutine: a read waiting idle with a context, the context cancelled by another
// goroutine as the frame arrives. When the read completes with the message, the next read (no
// context) must get the next message, not the first read's cancellation.
func TestBBStaleCancelRaceRaw(t *testing.T) {
	irForget()
	r := irIOCRunner(t)
	counts := map[string]int{}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 600 {
		role := roles[i%2]
		masked := role == websocket.RoleServer
		x := irRawTCPFor(t, r, role, nil)
		msg := irPayload(rng, []int{0, 1, 125, 126, 1000}[rng.IntN(5)], true)
		ctx, cancel := context.WithCancel(context.Background())
		rd, m := x.side.readMsg(ctx)
		<-rd.started
		irRace(rng, 400, context.Canceled, cancel, func(r *rand.Rand) {
			x.writeInPieces(r, rawFrame(true, websocket.OpText, masked, msg))
		})
		res := rd.wait(t, "first read")
		if res.Err != nil || !bytes.Equal(m.data, msg) {
			counts["cancelled"]++
			x.conn.Close()
			x.sock.Close()
			continue
		}
		rd2, m2 := x.side.readMsg(nil)
		x.conn.Write(rawFrame(true, websocket.OpBinary, masked, []byte("next")))
		if res := rd2.wait(t, "next read"); res.Err != nil || string(m2.data) != "next" {
			counts[fmt.Sprintf("%s read the message, then the next read: %v", roleName(role), res.Err)]++
		} else {
			counts["read, next read fine"]++
		}
		x.conn.Close()
		x.sock.Close()
	}
	r.drain(t)
	t.Logf("%v", counts)
	for k := range counts {
		if k != "cancelled" && k != "read, next read fine" {
			t.Errorf("a read that completed with its message left its context to abort the next read: %v", counts)
			break
		}
	}
}

// TestBBStaleCancelSocket is the same one layer down, on a net.TCPSocket alone:
// a read bound to a context, the context cancelled by another goroutine as the data arrives; the
// read's handler starts the next read (no context) at once. When the first read completes with
// its data, the next must get the next data: docs/net.md, "Cancellation: a handler's context
// aborts a pending read [...]" (that read, not a later one on the same socket).
func TestBBStaleCancelSocket(t *testing.T) {
	r := irIOCRunner(t)
	counts := map[string]int{}
	for i := range 2000 {
		a, b := rcTCPPair(t, r.ex)
		ctx, cancel := context.WithCancel(context.Background())
		buf1, buf2 := make([]byte, 64), make([]byte, 64)
		first, second := completion.NewFuture[net.IOResult](), completion.NewFuture[net.IOResult]()
		r.ex.Post(func() {
			a.AsyncReadSome(buf1, completion.WithContext(ctx, completion.Bind[net.IOResult](r.ex, completion.Callback(func(res net.IOResult) {
				if res.Err == nil {
					a.AsyncReadSome(buf2, second) // the next read, at once, with no context
				}
				first.Complete(res)
			}))))
		})
		var wg sync.WaitGroup
		wg.Go(func() {
			for range i % 50 {
				runtime.Gosched()
			}
			cancel()
		})
		fw := completion.NewFuture[net.IOResult]()
		b.AsyncWriteSome([]byte("first"), fw)
		res := first.Wait()
		wg.Wait()
		fw.Wait()
		if res.Err != nil {
			counts["cancelled"]++
		} else {
			b.AsyncWriteSome([]byte("second"), completion.Detached[net.IOResult]())
			if res2 := second.Wait(); res2.Err != nil {
				counts["read, then the next read: "+res2.Err.Error()]++
			} else {
				counts["read, next read fine"]++
			}
		}
		a.Close()
		b.Close()
	}
	r.drain(t)
	t.Logf("%v", counts)
	for k := range counts {
		if k != "cancelled" && k != "read, next read fine" {
			t.Errorf("a read's context cancelled as the read completed aborted the next read: %v", counts)
			break
		}
	}
}
