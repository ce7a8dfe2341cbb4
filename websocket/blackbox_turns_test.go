package websocket_test

// Black-box tests, from docs/websocket.md and the package documentation only, of the write turn
// when control frames and writes race on one stream ("Control frames between fragments", "Control
// frames", "Closing"): frames take turns and never go inside one another; pings, pongs and a close
// go out in the order started; a second ping or pong while one is pending, and a second close, fail
// with ErrOperationInProgress; once a close has started, later pings, pongs and writes fail with
// ErrClosed and nothing follows the close frame. And the control callback: set, set to nil and set
// again while a read is in flight, it sees exactly the frames documented, and none after this
// side's close frame. And the keep-alive ping, which never gets in a user ping's way.

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
	"github.com/beastgo/beast/websocket"
)

// tnCtl is one control operation a turns test started.
type tnCtl struct {
	kind    string // "ping", "pong", "close"
	payload string
	r       *rec[error]
	// At its start: whether a ping or pong (for a close: a close) started before was certainly
	// still pending (its frame not yet sent), certainly over (its handler had run), or either.
	mustBusy, mustFree bool
	afterClose         bool // a close had started before it
}

// TestBBTurnsRacingControlFramesAndWrites: a message cut into frames by AutoFragment is written a
// few bytes per next-layer write while pings, pongs, a second write and closes are started at
// random next-layer writes, seed after seed. On the wire every frame is whole, the message's
// frames keep their order, each ping or pong that succeeded appears once, in the order started,
// the failed ones nowhere, and nothing follows a close frame; the results are the documented ones.
func TestBBTurnsRacingControlFramesAndWrites(t *testing.T) {
	msg := []byte(strings.Repeat("0123456789abcdef", 6)) // 96 bytes: 12 frames of 8
	wo := &websocket.Options{AutoFragment: true, WriteBufferBytes: 8}
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	var st tnStats
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			for seed := range seeds {
				name := fmt.Sprintf("%s/mode%d/seed%d", roleName(role), mode, seed)
				tnOneRace(t, name, role, mode, seed, msg, wo, &st)
				if t.Failed() {
					return
				}
			}
		}
	}
	// What the seeds exercised, so that a change that makes them miss the races shows.
	t.Logf("controls sent %d, refused busy %d, refused after a close %d, closes %d, writes cut by a close %d, second writes refused %d",
		st.sent, st.busy, st.afterClose, st.closes, st.cut, st.secondBusy)
	if st.busy == 0 || st.afterClose == 0 || st.cut == 0 || st.secondBusy == 0 {
		t.Errorf("the seeds no longer reach every race: %+v", st)
	}
}

// tnStats counts what the races exercised.
type tnStats struct{ sent, busy, afterClose, closes, cut, secondBusy int }

func tnOneRace(t *testing.T, name string, role websocket.Role, mode nettest.Mode, seed int, msg []byte, wo *websocket.Options, st *tnStats) {
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(mode)))
	o := nettest.Options{Mode: mode, WriteSize: 3 + rng.IntN(6)}
	p := openHookedPair(t, o, o, wo, wo)
	s, own, peer := p.ends(role)
	// The stream reads throughout, so that it answers the peer's ping with a pong.
	rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
	var ctls []*tnCtl
	var second *rec[net.IOResult]
	peerPinged := false
	closeAt := -1
	if rng.IntN(3) > 0 {
		closeAt = 1 + rng.IntN(24)
	}
	// Which kinds start at which next-layer write.
	plan := map[int][]string{}
	for range 2 + rng.IntN(5) {
		k := 1 + rng.IntN(24)
		plan[k] = append(plan[k], []string{"ping", "pong"}[rng.IntN(2)])
	}
	if closeAt > 0 {
		plan[closeAt] = append(plan[closeAt], "close")
		if rng.IntN(2) == 0 {
			k := closeAt + rng.IntN(4)
			plan[k] = append(plan[k], "close")
		}
	}
	writeAt, pingAt := 1+rng.IntN(12), 1+rng.IntN(12)
	seq := 0
	sentCtl := func(kind, payload string) bool {
		fs, _ := parseFrames(peer.Unread())
		for _, f := range fs {
			if f.op.IsControl() && tnKind(f.op) == kind && string(f.payload) == payload {
				return true
			}
		}
		return false
	}
	start := func(kind string) {
		seq++
		c := &tnCtl{kind: kind, payload: fmt.Sprintf("%s-%d", kind, seq)}
		for _, prev := range ctls {
			if prev.kind == "close" {
				c.afterClose = true
			}
		}
		// The latest earlier control of the same family decides whether this one must find it busy.
		for j := len(ctls) - 1; j >= 0; j-- {
			prev := ctls[j]
			same := (kind == "close") == (prev.kind == "close")
			if !same || (prev.r.done() && prev.r.err() != nil) {
				continue
			}
			if prev.r.done() {
				c.mustFree = true
			} else if !sentCtl(prev.kind, prev.payload) || prev.kind == "close" {
				c.mustBusy = true
			}
			break
		}
		if kind == "close" {
			c.payload = fmt.Sprintf("bye %d", seq)
		}
		c.r = startErr(p.ioc, func(h completion.Handler[error]) {
			switch kind {
			case "ping":
				s.AsyncPing([]byte(c.payload), h)
			case "pong":
				s.AsyncPong([]byte(c.payload), h)
			default:
				s.AsyncClose(websocket.CloseReason{Code: 4000 + websocket.CloseCode(seq), Reason: c.payload}, h)
			}
		})
		ctls = append(ctls, c)
	}
	p.hook(role).before = func(i int) {
		for _, kind := range plan[i] {
			p.ioc.Post(func() { start(kind) })
		}
		if i == writeAt {
			p.ioc.Post(func() {
				second = startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite([]byte("second"), h) })
			})
		}
		if i == pingAt && closeAt < 0 {
			// The peer pings: the read in flight owes a pong, which takes its turn too.
			own.Append(rawFrame(true, websocket.OpPing, role == websocket.RoleServer, []byte("peer-ping")))
			peerPinged = true
		}
	}
	w := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncWrite(msg, h) })
	// Run until the write and every operation started are over, or wait for the peer's answer
	// (a close whose frame is out).
	p.runUntil(func() bool {
		for _, c := range ctls {
			if !c.r.done() && !(c.kind == "close" && hasClose(peer)) {
				return false
			}
		}
		return w.done() && (second == nil || second.done())
	})
	p.hook(role).before = nil
	answered := false
	if hasClose(peer) {
		answerClose(own, role, closePayload(1000, ""))
		answered = true
	}
	p.runUntil(func() bool {
		for _, c := range ctls {
			if !c.r.done() {
				return false
			}
		}
		return w.done() && (second == nil || second.done()) && (!answered || rd.done())
	})

	fs := sentFrames(t, peer)
	w.check(t, name+" write")
	// Where the close frame is, and nothing after it.
	closeIdx := -1
	for i, f := range fs {
		if f.op == websocket.OpClose {
			if closeIdx >= 0 {
				t.Fatalf("%s: two close frames: %v", name, fs)
			}
			closeIdx = i
		}
	}
	if closeIdx >= 0 && closeIdx != len(fs)-1 {
		t.Fatalf("%s: frames after the close frame: %v", name, fs)
	}
	// The message's frames in order, its bytes a prefix of the message, then "second" when it
	// was accepted.
	var data []wireFrame
	for _, f := range fs {
		if !f.op.IsControl() {
			data = append(data, f)
		}
	}
	var got []byte
	msgDone := false
	for i, f := range data {
		wantOp := websocket.OpContinuation
		if i == 0 || msgDone {
			wantOp = websocket.OpText
		}
		if f.op != wantOp {
			t.Fatalf("%s: data frame %d is %v, want op %d: %v", name, i, f, wantOp, fs)
		}
		got = append(got, f.payload...)
		msgDone = f.fin
	}
	sent := got
	if second != nil && second.err() == nil {
		if !bytes.HasSuffix(got, []byte("second")) {
			t.Fatalf("%s: the second write succeeded but its message is not on the wire after the first", name)
		}
		sent = got[:len(got)-len("second")]
	}
	if !bytes.HasPrefix(msg, sent) {
		t.Fatalf("%s: the message's bytes on the wire are not its prefix: %q", name, sent)
	}
	if w.err() == nil && (w.n() != len(msg) || !bytes.Equal(sent, msg)) {
		t.Fatalf("%s: the write succeeded with %d bytes, %d on the wire", name, w.n(), len(sent))
	}
	if w.err() != nil && (!errors.Is(w.err(), websocket.ErrClosed) || w.n() != len(sent) || closeIdx < 0) {
		t.Fatalf("%s: the write failed with %d %v, %d bytes on the wire, close frame at %d", name, w.n(), w.err(), len(sent), closeIdx)
	}
	if w.err() != nil {
		st.cut++
	}
	if second != nil && errors.Is(second.err(), websocket.ErrOperationInProgress) {
		st.secondBusy++
	}
	if second != nil {
		if e := second.err(); e != nil && !errors.Is(e, websocket.ErrOperationInProgress) && !errors.Is(e, websocket.ErrClosed) {
			t.Fatalf("%s: the second write: %v", name, e)
		}
		if !w.done() || (second.err() == nil && w.err() != nil) {
			t.Fatalf("%s: a second write succeeded beside a first that failed", name)
		}
	}
	// Control frames: each successful ping or pong once, in the order started; failures nowhere.
	var wantOrder, gotOrder []string
	firstClose := -1
	for i, c := range ctls {
		c.r.check(t, name+" "+c.kind)
		err := c.r.err()
		switch {
		case c.kind == "close" && firstClose < 0:
			firstClose = i
			if !answered || err != nil {
				t.Fatalf("%s: the close: %v (answered %v)", name, err, answered)
			}
			wantOrder = append(wantOrder, "close:"+fmt.Sprint(4000+i+1))
		case c.kind == "close":
			if !errors.Is(err, websocket.ErrOperationInProgress) && !(errors.Is(err, websocket.ErrClosed) && !c.mustBusy) {
				t.Fatalf("%s: a second close: %v, want ErrOperationInProgress", name, err)
			}
		case c.afterClose:
			if !errors.Is(err, websocket.ErrClosed) && !errors.Is(err, websocket.ErrOperationInProgress) {
				t.Fatalf("%s: a %s started after the close: %v, want ErrClosed", name, c.kind, err)
			}
		case c.mustBusy:
			if !errors.Is(err, websocket.ErrOperationInProgress) {
				t.Fatalf("%s: a %s started while another was pending: %v, want ErrOperationInProgress", name, c.kind, err)
			}
		case c.mustFree:
			if err != nil {
				t.Fatalf("%s: a %s started once the last had completed: %v", name, c.kind, err)
			}
		default:
			if err != nil && !errors.Is(err, websocket.ErrOperationInProgress) {
				t.Fatalf("%s: %s: %v", name, c.kind, err)
			}
		}
		if c.kind != "close" && err == nil {
			wantOrder = append(wantOrder, c.kind+":"+c.payload)
		}
		switch {
		case c.kind == "close" && err == nil:
			st.closes++
		case err == nil:
			st.sent++
		case errors.Is(err, websocket.ErrOperationInProgress):
			st.busy++
		case errors.Is(err, websocket.ErrClosed):
			st.afterClose++
		}
	}
	pongs := 0
	for _, f := range fs {
		switch {
		case f.op == websocket.OpClose:
			gotOrder = append(gotOrder, "close:"+fmt.Sprint(int(f.closeCode())))
		case f.op == websocket.OpPong && string(f.payload) == "peer-ping":
			pongs++
		case f.op.IsControl():
			gotOrder = append(gotOrder, tnKind(f.op)+":"+string(f.payload))
		}
	}
	// A control started before the close goes out before it; the close is the last control.
	if fmt.Sprint(gotOrder) != fmt.Sprint(wantOrder) {
		t.Fatalf("%s: control frames on the wire %v, want %v (all frames %v)", name, gotOrder, wantOrder, fs)
	}
	if peerPinged && pongs != 1 {
		t.Fatalf("%s: the peer's ping was answered %d times, want once", name, pongs)
	}
}

// tnKind names a control opcode as the tests' kinds do.
func tnKind(op websocket.Opcode) string {
	switch op {
	case websocket.OpPing:
		return "ping"
	case websocket.OpPong:
		return "pong"
	}
	return "close"
}

// TestBBControlCallbackSwitchedDuringARead: a read of a fragmented message is in flight while the
// peer's control frames arrive between its fragments and the callback is set, cleared and set
// again between them. Each callback sees exactly the frames that arrived while it was set (a
// close frame with its reason), none sees the frames that arrived while the callback was nil,
// every ping is answered with its payload whoever watches, and the message arrives whole.
func TestBBControlCallbackSwitchedDuringARead(t *testing.T) {
	for _, role := range roles {
		for _, mode := range []nettest.Mode{nettest.Immediate, nettest.Later} {
			name := fmt.Sprintf("%s/mode%d", roleName(role), mode)
			o := nettest.Options{Mode: mode, ReadSize: 5}
			p := openBBPair(t, o, o, nil, nil)
			s, own, peer := p.ends(role)
			m := role == websocket.RoleServer
			var a, b []string
			cbA := func(k websocket.FrameType, pl []byte) { a = append(a, k.String()+":"+string(pl)) }
			cbB := func(k websocket.FrameType, pl []byte) { b = append(b, k.String()+":"+string(pl)) }
			var buf net.FlatBuffer
			rd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(&buf, h) })
			step := func(frames ...[]byte) {
				own.Append(cat(frames...))
				p.runUntil(func() bool { return len(own.Unread()) == 0 })
				// Then what is ready (the pongs on their way), without waiting for the read,
				// which stays pending until its message ends.
				for p.ioc.Poll() > 0 {
				}
				p.ioc.Restart()
			}
			s.SetControlCallback(cbA)
			step(rawFrame(false, websocket.OpText, m, []byte("one ")), rawFrame(true, websocket.OpPing, m, []byte("p1")),
				rawFrame(true, websocket.OpPong, m, []byte("q1")))
			p.ioc.Post(func() { s.SetControlCallback(nil) })
			step(rawFrame(false, websocket.OpContinuation, m, []byte("two ")), rawFrame(true, websocket.OpPing, m, []byte("p2")),
				rawFrame(true, websocket.OpPong, m, []byte("q2")))
			p.ioc.Post(func() { s.SetControlCallback(cbB) })
			step(rawFrame(true, websocket.OpPing, m, []byte("p3")), rawFrame(true, websocket.OpContinuation, m, []byte("three")))
			if !rd.done() || rd.err() != nil || string(buf.Bytes()) != "one two three" {
				t.Fatalf("%s: read %v %v %q", name, rd.done(), rd.err(), buf.Bytes())
			}
			// A second read meets the peer's close: B sees it with its reason.
			rd2 := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
			own.Append(rawFrame(true, websocket.OpClose, m, closePayload(4321, "over")))
			own.Remote().Shutdown(net.ShutdownWrite)
			p.run()
			if !errors.Is(rd2.err(), websocket.ErrClosed) || s.Reason() != (websocket.CloseReason{Code: 4321, Reason: "over"}) {
				t.Fatalf("%s: second read %v, Reason %+v", name, rd2.err(), s.Reason())
			}
			if want := []string{"ping:p1", "pong:q1"}; fmt.Sprint(tnLower(a)) != fmt.Sprint(want) {
				t.Fatalf("%s: first callback saw %v, want %v", name, a, want)
			}
			if want := []string{"ping:p3", "close:over"}; fmt.Sprint(tnLower(b)) != fmt.Sprint(want) {
				t.Fatalf("%s: second callback saw %v, want %v", name, b, want)
			}
			var pongs []string
			for _, f := range sentFrames(t, peer) {
				if f.op == websocket.OpPong {
					pongs = append(pongs, string(f.payload))
				}
			}
			if fmt.Sprint(pongs) != "[p1 p2 p3]" {
				t.Fatalf("%s: pongs sent %v, want one per ping whatever the callback", name, pongs)
			}
		}
	}
}

// tnLower lower-cases the frame type names the callbacks recorded, whatever their case.
func tnLower(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = strings.ToLower(c)
	}
	return out
}

// TestBBControlCallbackSilentAfterOurClose: once this side's close frame has gone out, the frames
// the close discards (a ping, a pong, data) reach no callback, not even one set after the close
// started, and no pong answers the ping; the peer's close frame ends the close with nil.
func TestBBControlCallbackSilentAfterOurClose(t *testing.T) {
	for _, role := range roles {
		for _, withRead := range []bool{false, true} {
			name := fmt.Sprintf("%s/read pending %v", roleName(role), withRead)
			p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil, nil)
			s, own, peer := p.ends(role)
			m := role == websocket.RoleServer
			var calls []string
			s.SetControlCallback(func(k websocket.FrameType, pl []byte) { calls = append(calls, k.String()+":"+string(pl)) })
			var rd *rec[net.IOResult]
			if withRead {
				rd = startIO(p.ioc, func(h completion.Handler[net.IOResult]) { s.AsyncRead(net.NewFlatBuffer(0), h) })
			}
			cl := startErr(p.ioc, func(h completion.Handler[error]) { s.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
			p.runUntil(func() bool { return hasClose(peer) })
			s.SetControlCallback(func(k websocket.FrameType, pl []byte) { calls = append(calls, "late "+k.String()+":"+string(pl)) })
			own.Append(cat(rawFrame(true, websocket.OpPing, m, []byte("late-ping")), rawFrame(true, websocket.OpPong, m, []byte("late-pong")),
				rawFrame(true, websocket.OpText, m, []byte("data")), rawFrame(true, websocket.OpClose, m, closePayload(1000, "ok"))))
			own.Remote().Shutdown(net.ShutdownWrite)
			p.run()
			cl.check(t, name+" close")
			if cl.err() != nil || len(calls) != 0 {
				t.Fatalf("%s: close %v, callbacks %v; want nil and none", name, cl.err(), calls)
			}
			if withRead && !errors.Is(rd.err(), websocket.ErrClosed) {
				t.Fatalf("%s: the pending read: %v, want ErrClosed", name, rd.err())
			}
			fs := sentFrames(t, peer)
			if len(fs) != 1 || fs[0].op != websocket.OpClose {
				t.Fatalf("%s: sent %v, want the close frame alone", name, fs)
			}
			if s.Reason() != (websocket.CloseReason{Code: 1000, Reason: "ok"}) {
				t.Fatalf("%s: Reason %+v", name, s.Reason())
			}
		}
	}
}

// TestBBKeepAlivePingBesideUserPings: a server with keep-alive pings and no read in flight (so the
// keep-alive ping goes out at Idle/2) pings in a loop, each ping once the last has completed,
// while the client reads and answers. No user ping fails with ErrOperationInProgress: the
// keep-alive ping has its own. The client sees every user ping once, in order, and a ping that is
// not the user's. Once it has, the server reads (the pongs keep it open) and closes.
func TestBBKeepAlivePingBesideUserPings(t *testing.T) {
	const idleLong = 200 * time.Millisecond // the keep-alive ping at 100 ms; the margin for a loaded machine
	p := openBBPair(t, nettest.Options{}, nettest.Options{}, nil,
		&websocket.Options{Timeout: websocket.Timeout{Idle: idleLong, KeepAlivePings: true}})
	var seen []string
	keepAlive := false
	p.client.SetControlCallback(func(k websocket.FrameType, pl []byte) {
		if k == websocket.FramePing {
			seen = append(seen, string(pl))
			if !strings.HasPrefix(string(pl), "u") {
				keepAlive = true
			}
		}
	})
	crd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.client.AsyncRead(net.NewFlatBuffer(0), h) })
	var sent []string
	var failure error
	var next func()
	next = func() {
		if keepAlive || failure != nil {
			return
		}
		payload := fmt.Sprintf("u%d", len(sent))
		p.server.AsyncPing([]byte(payload), completion.Callback(func(err error) {
			if err != nil {
				failure = err
				return
			}
			sent = append(sent, payload)
			// Give the client's read a turn before the next ping, through a timer of the
			// context's, so that the loop does not spin.
			tm := net.NewSteadyTimer(p.ioc)
			tm.ExpiresAfter(time.Millisecond)
			tm.AsyncWait(completion.Callback(func(error) { next() }))
		}))
	}
	next()
	p.runBounded(t, "keep-alive ping", func() bool { return keepAlive || failure != nil })
	if errors.Is(failure, websocket.ErrOperationInProgress) {
		t.Fatalf("a user ping failed with ErrOperationInProgress beside the keep-alive ping (after %d pings)", len(sent))
	}
	if failure != nil && !errors.Is(failure, websocket.ErrTimeout) {
		t.Fatalf("user ping: %v", failure)
	}
	var user []string
	for _, pl := range seen {
		if strings.HasPrefix(pl, "u") {
			user = append(user, pl)
		}
	}
	if len(user) > len(sent)+1 || fmt.Sprint(user[:min(len(user), len(sent))]) != fmt.Sprint(sent[:min(len(user), len(sent))]) {
		t.Fatalf("the client saw user pings %v, the server sent %v", user, sent)
	}
	if failure != nil {
		return // the machine stalled past the idle timeout: the rest cannot be checked
	}
	srd := startIO(p.ioc, func(h completion.Handler[net.IOResult]) { p.server.AsyncRead(net.NewFlatBuffer(0), h) })
	cl := startErr(p.ioc, func(h completion.Handler[error]) { p.server.AsyncClose(websocket.CloseReason{Code: 1000}, h) })
	p.runBounded(t, "close", func() bool { return cl.done() && crd.done() && srd.done() })
	if errors.Is(cl.err(), websocket.ErrTimeout) {
		return // as above
	}
	if cl.err() != nil || !errors.Is(crd.err(), websocket.ErrClosed) {
		t.Fatalf("close %v, client's read %v", cl.err(), crd.err())
	}
}
