package nettest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	stdnet "net"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/beastgo/beast/internal/gid"
	"github.com/beastgo/beast/net"
	"github.com/beastgo/beast/net/nettest"
)

var modes = []struct {
	name string
	mode nettest.Mode
}{{"Immediate", nettest.Immediate}, {"Later", nettest.Later}}

// inHandler runs f as a handler of ioc, then runs ioc until it is out of work: initiating
// functions are usually called from handlers, where a wrong inline completion would show.
func inHandler(ioc *executor.IOContext, f func()) {
	ioc.Restart()
	ioc.Post(f)
	ioc.Run()
}

func TestReadSome(t *testing.T) {
	tests := []struct {
		name     string
		readSize int
		buffered string
		bufLen   int
		want     net.IOResult
		wantData string
	}{
		{"all that is buffered", 0, "hello", 10, net.IOResult{N: 5}, "hello"},
		{"as much as fits", 0, "hello", 3, net.IOResult{N: 3}, "hel"},
		{"one byte at a time", 1, "hello", 10, net.IOResult{N: 1}, "h"},
		{"read size larger than buffered", 8, "hello", 10, net.IOResult{N: 5}, "hello"},
		{"read size smaller than buffer", 2, "hello", 10, net.IOResult{N: 2}, "he"},
		{"zero length", 0, "hello", 0, net.IOResult{}, ""},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				a, _ := nettest.NewPair(ioc, nettest.Options{ReadSize: tt.readSize, Mode: m.mode}, nettest.Options{})
				a.Append([]byte(tt.buffered))
				buf := make([]byte, tt.bufLen)
				var r recorder
				inHandler(ioc, func() { r.start(func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(buf, h) }) })
				if diff := cmp.Diff(tt.want, r.once(t)); diff != "" {
					t.Fatalf("result (-want +got):\n%s", diff)
				}
				if got := string(buf[:tt.want.N]); got != tt.wantData {
					t.Fatalf("read %q, want %q", got, tt.wantData)
				}
				if got, want := string(a.Unread()), tt.buffered[tt.want.N:]; got != want {
					t.Fatalf("left unread %q, want %q", got, want)
				}
			})
		}
	}
}

func TestWriteSome(t *testing.T) {
	tests := []struct {
		name      string
		writeSize int
		data      string
		want      net.IOResult
	}{
		{"all of it", 0, "hello", net.IOResult{N: 5}},
		{"write size", 2, "hello", net.IOResult{N: 2}},
		{"write size larger than data", 9, "hello", net.IOResult{N: 5}},
		{"zero length", 0, "", net.IOResult{}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				a, b := nettest.NewPair(ioc, nettest.Options{WriteSize: tt.writeSize, Mode: m.mode}, nettest.Options{})
				var r recorder
				inHandler(ioc, func() {
					r.start(func(h completion.Handler[net.IOResult]) { a.AsyncWriteSome([]byte(tt.data), h) })
				})
				if diff := cmp.Diff(tt.want, r.once(t)); diff != "" {
					t.Fatalf("result (-want +got):\n%s", diff)
				}
				if got, want := string(b.Unread()), tt.data[:tt.want.N]; got != want {
					t.Fatalf("peer has %q to read, want %q", got, want)
				}
			})
		}
	}
}

// A read with nothing to read waits, holding work so that Run waits with it, until the peer writes.
func TestReadWaitsForPeerWrite(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			ex := &countingExecutor{Executor: ioc}
			a, b := nettest.NewPair(ex, nettest.Options{Mode: m.mode}, nettest.Options{Mode: m.mode})
			buf := make([]byte, 8)
			var r recorder
			r.start(func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(buf, h) })
			ioc.Poll()
			if len(r.got) != 0 {
				t.Fatalf("read completed with nothing to read: %+v", r.got)
			}
			if ioc.Stopped() || ex.work.Load() != 1 {
				t.Fatalf("pending read: stopped %v, work %d; want running with 1", ioc.Stopped(), ex.work.Load())
			}
			var w recorder
			w.start(func(h completion.Handler[net.IOResult]) { b.AsyncWriteSome([]byte("ping"), h) })
			ioc.Run()
			if diff := cmp.Diff(net.IOResult{N: 4}, r.once(t)); diff != "" {
				t.Fatalf("read (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(net.IOResult{N: 4}, w.once(t)); diff != "" {
				t.Fatalf("write (-want +got):\n%s", diff)
			}
			if string(buf[:4]) != "ping" {
				t.Fatalf("read %q", buf[:4])
			}
			if n := ex.work.Load(); n != 0 {
				t.Fatalf("%d units of work left", n)
			}
		})
	}
}

// Every completion runs on the handler's associated executor, and the operation holds work on
// both executors until then.
func TestCompletesOnAssociatedExecutor(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			io1, io2 := executor.NewIOContext(), executor.NewIOContext()
			a, b := nettest.NewPair(io1, nettest.Options{Mode: m.mode}, nettest.Options{Mode: m.mode})
			b.Append([]byte("x"))
			var onIO2 [2]bool
			results := make([]net.IOResult, 2)
			for i, start := range []func(completion.Handler[net.IOResult]){
				func(h completion.Handler[net.IOResult]) { b.AsyncReadSome(make([]byte, 1), h) },
				func(h completion.Handler[net.IOResult]) { a.AsyncWriteSome([]byte("y"), h) },
			} {
				start(completion.Bind(io2, completion.Callback(func(r net.IOResult) {
					onIO2[i] = io2.RunningInThisThread()
					results[i] = r
				})))
			}
			var wg sync.WaitGroup
			wg.Go(func() { io1.Run() })
			wg.Go(func() { io2.Run() })
			wg.Wait()
			if diff := cmp.Diff([]net.IOResult{{N: 1}, {N: 1}}, results); diff != "" {
				t.Fatalf("results (-want +got):\n%s", diff)
			}
			if gid.Known && onIO2 != [2]bool{true, true} {
				t.Fatalf("handlers ran on the bound executor: %v", onIO2)
			}
		})
	}
}

// opOn names an operation a test starts on one end of a pair.
type opOn struct {
	end   int // 0 or 1
	write bool
}

func (o opOn) start(ends [2]*nettest.Stream, h completion.Handler[net.IOResult]) {
	if o.write {
		ends[o.end].AsyncWriteSome([]byte("ab"), h)
	} else {
		ends[o.end].AsyncReadSome(make([]byte, 2), h)
	}
}

func TestFailCount(t *testing.T) {
	boom := errors.New("boom")
	read0, write0, write1 := opOn{0, false}, opOn{0, true}, opOn{1, true}
	tests := []struct {
		name      string
		n         int
		err       error
		shared    bool // both ends count on the FailCount; otherwise only end 0
		ops       []opOn
		wantErrs  []error
		wantCount int
	}{
		{"zero fails nothing", 0, boom, false, []opOn{write0, read0, write0}, []error{nil, nil, nil}, 3},
		{"first", 1, boom, false, []opOn{write0, read0}, []error{boom, boom}, 2},
		{"third and after", 3, boom, false, []opOn{write0, write0, write0, write0}, []error{nil, nil, boom, boom}, 4},
		{"nil error injects ErrInjected", 1, nil, false, []opOn{write0}, []error{nettest.ErrInjected}, 1},
		{"other end not counted", 1, boom, false, []opOn{write1, read0}, []error{nil, boom}, 1},
		{"shared by both ends", 2, boom, true, []opOn{write1, read0, write1}, []error{nil, boom, boom}, 3},
		{"zero-length operations count", 2, boom, false, []opOn{write0, write0}, []error{nil, boom}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ioc := executor.NewIOContext()
			fc := nettest.NewFailCount(tt.n, tt.err)
			o1 := nettest.Options{}
			if tt.shared {
				o1.Fail = fc
			}
			a, b := nettest.NewPair(ioc, nettest.Options{Fail: fc}, o1)
			a.Append([]byte("0123456789"))
			b.Append([]byte("0123456789"))
			ends := [2]*nettest.Stream{a, b}
			var errs []error
			for i, o := range tt.ops {
				var r recorder
				inHandler(ioc, func() {
					if tt.name == "zero-length operations count" {
						r.start(func(h completion.Handler[net.IOResult]) { ends[o.end].AsyncWriteSome(nil, h) })
						return
					}
					r.start(func(h completion.Handler[net.IOResult]) { o.start(ends, h) })
				})
				res := r.once(t)
				if res.Err != nil && res.N != 0 {
					t.Fatalf("op %d failed with %d bytes moved", i, res.N)
				}
				errs = append(errs, res.Err)
			}
			if diff := cmp.Diff(tt.wantErrs, errs, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if fc.Count() != tt.wantCount {
				t.Fatalf("Count() = %d, want %d", fc.Count(), tt.wantCount)
			}
		})
	}
}

// A failed operation moves nothing: the bytes stay for the next read, and a failed write sends
// nothing.
func TestFailedOperationsMoveNothing(t *testing.T) {
	ioc := executor.NewIOContext()
	a, b := nettest.NewPair(ioc, nettest.Options{Fail: nettest.NewFailCount(1, nil)}, nettest.Options{})
	a.Append([]byte("keep"))
	var rd, wr recorder
	inHandler(ioc, func() {
		rd.start(func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(make([]byte, 4), h) })
	})
	inHandler(ioc, func() {
		wr.start(func(h completion.Handler[net.IOResult]) { a.AsyncWriteSome([]byte("lost"), h) })
	})
	if rd.once(t).Err != nettest.ErrInjected || wr.once(t).Err != nettest.ErrInjected {
		t.Fatalf("read %+v, write %+v", rd.got, wr.got)
	}
	if string(a.Unread()) != "keep" || len(b.Unread()) != 0 {
		t.Fatalf("unread: a %q, b %q", a.Unread(), b.Unread())
	}
}

func TestClose(t *testing.T) {
	type step struct {
		end   int
		op    string // "read", "write", "close", "shutwr", "shutrd" (Shutdown of write, of read)
		pend  bool   // start without running the context, so the operation is pending at the next step
		want  net.IOResult
		isErr error // errors.Is instead of equality, when set
	}
	tests := []struct {
		name     string
		buffered [2]string // what each end has to read
		steps    []step
	}{
		{"pending read on the closed end is aborted", [2]string{}, []step{
			{end: 0, op: "read", pend: true, want: net.IOResult{Err: completion.ErrOperationAborted}},
			{end: 0, op: "close"},
		}},
		{"later operations on the closed end fail with ErrClosed", [2]string{"data", ""}, []step{
			{end: 0, op: "close"},
			{end: 0, op: "read", isErr: stdnet.ErrClosed},
			{end: 0, op: "write", isErr: nettest.ErrClosed},
		}},
		{"the peer reads what was written, then EOF", [2]string{"", "bye"}, []step{
			{end: 0, op: "close"},
			{end: 1, op: "read", want: net.IOResult{N: 3}},
			{end: 1, op: "read", want: net.IOResult{Err: io.EOF}},
			{end: 1, op: "read", want: net.IOResult{Err: io.EOF}},
		}},
		{"a pending read on the peer gets EOF", [2]string{}, []step{
			{end: 1, op: "read", pend: true, want: net.IOResult{Err: io.EOF}},
			{end: 0, op: "close"},
		}},
		{"writes to a closed peer fail", [2]string{}, []step{
			{end: 0, op: "close"},
			{end: 1, op: "write", want: net.IOResult{Err: io.ErrClosedPipe}},
		}},
		{"shutdown write: the peer reads the rest then EOF, and both still carry the other way", [2]string{"in", "bye"}, []step{
			{end: 0, op: "shutwr"},
			{end: 1, op: "read", want: net.IOResult{N: 3}},
			{end: 1, op: "read", want: net.IOResult{Err: io.EOF}},
			{end: 0, op: "read", want: net.IOResult{N: 2}},
			{end: 1, op: "write", want: net.IOResult{N: 2}},
			{end: 0, op: "read", want: net.IOResult{N: 2}},
			{end: 0, op: "write", want: net.IOResult{Err: io.ErrClosedPipe}},
		}},
		{"shutdown write: a pending read on the peer gets EOF", [2]string{}, []step{
			{end: 1, op: "read", pend: true, want: net.IOResult{Err: io.EOF}},
			{end: 0, op: "shutwr"},
		}},
		{"shutdown read: reads end with EOF, a pending one too, and writes to it are dropped", [2]string{}, []step{
			{end: 0, op: "read", pend: true, want: net.IOResult{Err: io.EOF}},
			{end: 0, op: "shutrd"},
			{end: 1, op: "write", want: net.IOResult{N: 2}},
			{end: 0, op: "read", want: net.IOResult{Err: io.EOF}},
			{end: 0, op: "write", want: net.IOResult{N: 2}},
			{end: 1, op: "read", want: net.IOResult{N: 2}},
		}},
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				a, b := nettest.NewPair(ioc, nettest.Options{Mode: m.mode}, nettest.Options{Mode: m.mode})
				ends := [2]*nettest.Stream{a, b}
				a.Append([]byte(tt.buffered[0]))
				b.Append([]byte(tt.buffered[1]))
				var pending []*recorder
				var pendingSteps []step
				check := func(s step, r *recorder) {
					t.Helper()
					got := r.once(t)
					if s.isErr != nil {
						if !errors.Is(got.Err, s.isErr) {
							t.Fatalf("%s on end %d: %v, want %v", s.op, s.end, got.Err, s.isErr)
						}
						return
					}
					if diff := cmp.Diff(s.want, got, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
						t.Fatalf("%s on end %d (-want +got):\n%s", s.op, s.end, diff)
					}
				}
				for _, s := range tt.steps {
					if s.op == "close" || s.op == "shutwr" || s.op == "shutrd" {
						var err error
						switch s.op {
						case "close":
							err = ends[s.end].Close()
						case "shutwr":
							err = ends[s.end].Shutdown(net.ShutdownWrite)
						case "shutrd":
							err = ends[s.end].Shutdown(net.ShutdownRead)
						}
						if err != nil {
							t.Fatalf("%s: %v", s.op, err)
						}
						ioc.Run()
						ioc.Restart()
						for i, r := range pending {
							check(pendingSteps[i], r)
						}
						pending, pendingSteps = nil, nil
						continue
					}
					r := new(recorder)
					r.start(func(h completion.Handler[net.IOResult]) {
						if s.op == "read" {
							ends[s.end].AsyncReadSome(make([]byte, 8), h)
						} else {
							ends[s.end].AsyncWriteSome([]byte("xy"), h)
						}
					})
					if s.pend {
						ioc.Poll()
						if len(r.got) != 0 {
							t.Fatalf("%s on end %d completed at once: %+v", s.op, s.end, r.got)
						}
						pending, pendingSteps = append(pending, r), append(pendingSteps, s)
						continue
					}
					ioc.Run()
					ioc.Restart()
					check(s, r)
				}
				if err := a.Close(); err != nil && !errors.Is(err, nettest.ErrClosed) {
					t.Fatalf("final Close: %v", err)
				}
			})
		}
	}
}

func TestShutdownMisuse(t *testing.T) {
	a, _ := nettest.NewPair(executor.NewIOContext(), nettest.Options{}, nettest.Options{})
	if err := a.Shutdown(net.ShutdownHow(7)); err == nil {
		t.Fatal("Shutdown of no direction succeeded")
	}
	if err := a.Shutdown(net.ShutdownBoth); err != nil {
		t.Fatal(err)
	}
	if err := a.Shutdown(net.ShutdownWrite); err != nil {
		t.Fatalf("second Shutdown: %v, want nil", err)
	}
	a.Close()
	if err := a.Shutdown(net.ShutdownWrite); !errors.Is(err, nettest.ErrClosed) {
		t.Fatalf("Shutdown after Close: %v, want ErrClosed", err)
	}
}

func TestCloseTwice(t *testing.T) {
	a, _ := nettest.NewPair(executor.NewIOContext(), nettest.Options{}, nettest.Options{})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); !errors.Is(err, nettest.ErrClosed) || !errors.Is(err, stdnet.ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
}

func TestCancel(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name+"/pending read", func(t *testing.T) {
			ioc := executor.NewIOContext()
			ex := &countingExecutor{Executor: ioc}
			a, _ := nettest.NewPair(ex, nettest.Options{Mode: m.mode}, nettest.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			var r recorder
			r.start(func(h completion.Handler[net.IOResult]) {
				a.AsyncReadSome(make([]byte, 4), completion.WithContext(ctx, h))
			})
			ioc.Poll()
			cancel()
			ioc.Run()
			got := r.once(t)
			if !errors.Is(got.Err, context.Canceled) || !errors.Is(got.Err, completion.ErrOperationAborted) {
				t.Fatalf("cancelled read: %+v", got)
			}
			// The end still works: the next read gets what arrives.
			ioc.Restart()
			a.Append([]byte("late"))
			var r2 recorder
			r2.start(func(h completion.Handler[net.IOResult]) { a.AsyncReadSome(make([]byte, 4), h) })
			ioc.Run()
			if diff := cmp.Diff(net.IOResult{N: 4}, r2.once(t)); diff != "" {
				t.Fatalf("read after cancel (-want +got):\n%s", diff)
			}
			if n := ex.work.Load(); n != 0 {
				t.Fatalf("%d units of work left", n)
			}
		})
		t.Run(m.name+"/context already done", func(t *testing.T) {
			ioc := executor.NewIOContext()
			a, _ := nettest.NewPair(ioc, nettest.Options{Mode: m.mode}, nettest.Options{})
			a.Append([]byte("data"))
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var r recorder
			inHandler(ioc, func() {
				r.start(func(h completion.Handler[net.IOResult]) {
					a.AsyncReadSome(make([]byte, 4), completion.WithContext(ctx, h))
				})
			})
			if got := r.once(t); !errors.Is(got.Err, context.Canceled) || got.N != 0 {
				t.Fatalf("read with a done context: %+v", got)
			}
			if string(a.Unread()) != "data" {
				t.Fatalf("a cancelled read consumed data: %q left", a.Unread())
			}
		})
		t.Run(m.name+"/cancel after completion changes nothing", func(t *testing.T) {
			ioc := executor.NewIOContext()
			a, _ := nettest.NewPair(ioc, nettest.Options{Mode: m.mode}, nettest.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			var r recorder
			r.start(func(h completion.Handler[net.IOResult]) {
				a.AsyncReadSome(make([]byte, 4), completion.WithContext(ctx, h))
			})
			ioc.Poll()
			a.Append([]byte("abcd"))
			ioc.Run()
			cancel()
			ioc.Restart()
			ioc.Run()
			if diff := cmp.Diff(net.IOResult{N: 4}, r.once(t)); diff != "" {
				t.Fatalf("read (-want +got):\n%s", diff)
			}
		})
	}
}

// A second read (or write) while one is outstanding is misuse, reported as ErrInProgress; the
// first is not disturbed.
func TestSecondOperationInProgress(t *testing.T) {
	for _, m := range modes {
		for _, write := range []bool{false, true} {
			name := m.name + "/read"
			if write {
				name = m.name + "/write"
			}
			t.Run(name, func(t *testing.T) {
				ioc := executor.NewIOContext()
				a, _ := nettest.NewPair(ioc, nettest.Options{Mode: m.mode}, nettest.Options{})
				var first, second recorder
				start := func(r *recorder) {
					r.start(func(h completion.Handler[net.IOResult]) {
						if write {
							a.AsyncWriteSome([]byte("xy"), h)
						} else {
							a.AsyncReadSome(make([]byte, 2), h)
						}
					})
				}
				inHandler(ioc, func() {
					start(&first)
					start(&second)
					a.Append([]byte("xy"))
				})
				if got := second.once(t); got.Err != net.ErrInProgress {
					t.Fatalf("second operation: %+v, want ErrInProgress", got)
				}
				if diff := cmp.Diff(net.IOResult{N: 2}, first.once(t)); diff != "" {
					t.Fatalf("first operation (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// Both ends used at once from the goroutines of a pool, in both directions: the race detector
// checks the locking, the data checks the ordering.
func TestConcurrentUse(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			pool := executor.NewThreadPool(4)
			defer pool.Join()
			opts := nettest.Options{ReadSize: 1000, WriteSize: 777, Mode: m.mode}
			// The streams' composed operations need a serial I/O executor, as in Asio: a strand
			// over the pool, whose turns run on any of its four goroutines.
			a, b := nettest.NewPair(executor.NewStrand(pool.Executor()), opts, opts)
			msg := bytes.Repeat([]byte("0123456789abcdef"), 1<<12)
			var wg sync.WaitGroup
			for _, dir := range [][2]*nettest.Stream{{a, b}, {b, a}} {
				got := make([]byte, len(msg))
				wg.Add(2)
				net.AsyncWrite(dir[0], msg, completion.Callback(func(r net.IOResult) {
					defer wg.Done()
					if r.Err != nil || r.N != len(msg) {
						t.Errorf("write: %+v", r)
					}
				}))
				net.AsyncRead(dir[1], got, completion.Callback(func(r net.IOResult) {
					defer wg.Done()
					if r.Err != nil || !bytes.Equal(got, msg) {
						t.Errorf("read: %+v, data equal %v", r, bytes.Equal(got, msg))
					}
				}))
			}
			wg.Wait()
		})
	}
}
