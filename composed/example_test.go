package composed_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/executor"
)

// IOResult is the result of a read or a write: how many bytes moved, and the error that stopped
// it: the shape of net.IOResult, which this package, a layer below net, cannot import.
type IOResult struct {
	N   int
	Err error
}

// SetErr lets generic code build a failed IOResult (completion.Fail), as a composed operation
// whose context is already done when it starts does.
func (r *IOResult) SetErr(err error) { r.Err = err }

// stream is an in-memory asynchronous stream, enough for the examples. A read delivers at most
// chunk bytes and posts its completion, as a socket's read that finds data does. When the data
// runs out a read reports io.EOF, unless the stream is quiet: then it waits, as a read from a
// peer that sends nothing does, until its handler's context ends.
type stream struct {
	ex    executor.Executor
	data  []byte
	chunk int
	quiet bool
}

// AsyncReadSome reads at most len(b) bytes into b.
func (s *stream) AsyncReadSome(b []byte, h completion.Handler[IOResult]) {
	hex := completion.AssociatedExecutor(h, s.ex)
	if len(s.data) == 0 && s.quiet {
		s.ex.OnWorkStarted() // a pending read is outstanding work: Run waits for it
		completion.OnCancel(h, s.ex, func(err error) {
			hex.Dispatch(func() { h.Complete(IOResult{Err: err}) })
			s.ex.OnWorkFinished()
		})
		return
	}
	r := IOResult{Err: io.EOF}
	if len(s.data) > 0 {
		r = IOResult{N: copy(b[:min(len(b), s.chunk)], s.data)}
		s.data = s.data[r.N:]
	}
	hex.Post(func() { h.Complete(r) }) // posted: never inside AsyncReadSome
}

// AsyncReadExactly reads exactly n bytes from s into buf, in as many reads as it takes: a composed
// operation written as a state machine for composed.Start. It delivers n, or the count read
// before an error stopped it. A buffer shorter than n is an error reported like any other.
func AsyncReadExactly(s *stream, buf []byte, n int, h completion.Handler[IOResult]) {
	rx := &readExactly{s: s, buf: buf, want: n}
	composed.Start(s.ex, h, rx.step)
}

// readExactly is the operation's state: its arguments, its progress, and the Slot where each
// read's result lands.
type readExactly struct {
	s    *stream
	buf  []byte
	want int
	got  int
	read composed.Slot[IOResult]
}

// step is the body: Start runs it once, then again each time the read in flight completes.
func (rx *readExactly) step(op *composed.Op[IOResult]) {
	if !op.Resumed() {
		rx.begin(op)
		return
	}
	rx.readDone(op)
}

// begin checks the arguments and starts the first read.
func (rx *readExactly) begin(op *composed.Op[IOResult]) {
	if rx.want > len(rx.buf) {
		op.Complete(IOResult{Err: io.ErrShortBuffer}) // posted: never inside AsyncReadExactly
		return
	}
	rx.readMore(op)
}

// readMore starts a read into the part of buf still to fill; its result lands in rx.read.
func (rx *readExactly) readMore(op *composed.Op[IOResult]) {
	rx.s.AsyncReadSome(rx.buf[rx.got:rx.want], composed.Into(op, &rx.read))
}

// readDone counts what a read delivered, and reads again until n bytes are in.
func (rx *readExactly) readDone(op *composed.Op[IOResult]) {
	r := rx.read.Value
	rx.got += r.N
	switch {
	case r.Err != nil:
		op.Complete(IOResult{N: rx.got, Err: r.Err})
	case rx.got == rx.want:
		op.Complete(IOResult{N: rx.got})
	case op.Err() != nil: // cancelled between two reads
		op.Complete(IOResult{N: rx.got, Err: op.Err()})
	default:
		rx.readMore(op)
	}
}

// AsyncReadExactlySpawned is AsyncReadExactly written as straight-line code with composed.Spawn.
// Await returns the cancellation error once the context is done, so the loop needs no check of
// its own.
func AsyncReadExactlySpawned(s *stream, buf []byte, n int, h completion.Handler[IOResult]) {
	composed.Spawn(s.ex, h, func(y *composed.Yield) IOResult {
		if n > len(buf) {
			return IOResult{Err: io.ErrShortBuffer}
		}
		got := 0
		for got < n {
			r := composed.Await(y, func(h completion.Handler[IOResult]) {
				s.AsyncReadSome(buf[got:n], h)
			})
			got += r.N
			if r.Err != nil {
				return IOResult{N: got, Err: r.Err}
			}
		}
		return IOResult{N: got}
	})
}

// recordReader reads one fixed-size record at a time from a stream. It keeps the state of its read
// operation, the Op included, from one read to the next, as a stream object keeps its read
// operation's: once the first read has bound what it needs, reading a record allocates nothing.
type recordReader struct {
	rx readExactly
	op composed.Op[IOResult]
}

func newRecordReader(s *stream, size int) *recordReader {
	return &recordReader{rx: readExactly{s: s, buf: make([]byte, size)}}
}

// Step is the read's body. The reader is its own composed.Body, so starting a read binds no
// closure.
func (r *recordReader) Step(op *composed.Op[IOResult]) { r.rx.step(op) }

// AsyncRead reads the next record. One read at a time: the next may start once h has been called,
// from h too.
func (r *recordReader) AsyncRead(h completion.Handler[IOResult]) {
	r.rx.want, r.rx.got = len(r.rx.buf), 0
	r.op.Start(r.rx.s.ex, h, r)
}

// An Op kept in an object's state and started again for each operation: here from the handler of
// the one before.
func ExampleOp_Start() {
	ioc := executor.NewIOContext()
	r := newRecordReader(&stream{ex: ioc, data: []byte("helloworld!"), chunk: 3}, 5)
	var next completion.Func[IOResult]
	next = func(res IOResult) {
		fmt.Printf("%q %v\n", r.rx.buf[:res.N], res.Err)
		if res.Err == nil {
			r.AsyncRead(next) // the Op is free again once its handler runs
		}
	}
	r.AsyncRead(next)
	ioc.Run()
	// Output:
	// "hello" <nil>
	// "world" <nil>
	// "!" EOF
}

// A composed operation written with Start, called with a callback: the callback runs on the
// IOContext, inside Run, once the operation has made as many reads as it needed.
func ExampleStart() {
	ioc := executor.NewIOContext()
	s := &stream{ex: ioc, data: []byte("hello, world"), chunk: 2}
	buf := make([]byte, 5)

	AsyncReadExactly(s, buf, 5, completion.Callback(func(r IOResult) {
		fmt.Printf("read %d bytes %q, err %v\n", r.N, buf[:r.N], r.Err)
	}))
	ioc.Run()
	// Output: read 5 bytes "hello", err <nil>
}

// The same operation with a future: Run goes to an I/O goroutine, and this one waits for the
// result.
func ExampleStart_future() {
	ioc := executor.NewIOContext()
	s := &stream{ex: ioc, data: []byte("hello, world"), chunk: 2}
	buf := make([]byte, 5)

	f := completion.NewFuture[IOResult]()
	AsyncReadExactly(s, buf, 5, f) // started first: its work keeps Run from returning at once
	var wg sync.WaitGroup
	wg.Go(func() { ioc.Run() })
	r := f.Wait()
	fmt.Printf("read %d bytes %q, err %v\n", r.N, buf[:r.N], r.Err)
	wg.Wait()
	// Output: read 5 bytes "hello", err <nil>
}

// The same operation with a channel: give it room for the result, since the send runs on the
// IOContext.
func ExampleStart_channel() {
	ioc := executor.NewIOContext()
	s := &stream{ex: ioc, data: []byte("hello, world"), chunk: 2}
	buf := make([]byte, 5)

	ch := make(chan IOResult, 1)
	AsyncReadExactly(s, buf, 5, completion.Chan(ch))
	ioc.Run()
	r := <-ch
	fmt.Printf("read %d bytes %q, err %v\n", r.N, buf[:r.N], r.Err)
	// Output: read 5 bytes "hello", err <nil>
}

// A validation error is reported by completing in the first step. Start posts that completion, so
// the handler never runs inside the call that started the operation.
func ExampleStart_validationError() {
	ioc := executor.NewIOContext()
	ioc.Post(func() { // even when started from a handler of the I/O executor
		s := &stream{ex: ioc, data: []byte("hello")}
		AsyncReadExactly(s, make([]byte, 2), 5, completion.Callback(func(r IOResult) {
			fmt.Println("handler:", r.Err)
		}))
		fmt.Println("AsyncReadExactly returned")
	})
	ioc.Run()
	// Output:
	// AsyncReadExactly returned
	// handler: short buffer
}

// The operation written with Spawn, as straight-line code, called with a callback. The caller
// cannot tell the two versions apart.
func ExampleSpawn() {
	ioc := executor.NewIOContext()
	s := &stream{ex: ioc, data: []byte("hello, world"), chunk: 2}
	buf := make([]byte, 5)

	AsyncReadExactlySpawned(s, buf, 5, completion.Callback(func(r IOResult) {
		fmt.Printf("read %d bytes %q, err %v\n", r.N, buf[:r.N], r.Err)
	}))
	ioc.Run()
	// Output: read 5 bytes "hello", err <nil>
}

// The spawned operation with a future.
func ExampleSpawn_future() {
	ioc := executor.NewIOContext()
	s := &stream{ex: ioc, data: []byte("hello, world"), chunk: 2}
	buf := make([]byte, 5)

	f := completion.NewFuture[IOResult]()
	AsyncReadExactlySpawned(s, buf, 5, f)
	var wg sync.WaitGroup
	wg.Go(func() { ioc.Run() })
	r := f.Wait()
	fmt.Printf("read %d bytes %q, err %v\n", r.N, buf[:r.N], r.Err)
	wg.Wait()
	// Output: read 5 bytes "hello", err <nil>
}

// The spawned operation with a channel; here the stream ends early, and the operation reports the
// bytes it did read with the error.
func ExampleSpawn_channel() {
	ioc := executor.NewIOContext()
	s := &stream{ex: ioc, data: []byte("hel"), chunk: 2}
	buf := make([]byte, 5)

	ch := make(chan IOResult, 1)
	AsyncReadExactlySpawned(s, buf, 5, completion.Chan(ch))
	ioc.Run()
	r := <-ch
	fmt.Printf("read %d bytes %q, err %v\n", r.N, buf[:r.N], r.Err)
	// Output: read 3 bytes "hel", err EOF
}

// Cancelling a composed operation: bind a context to its handler. Here a deadline ends a read from
// a peer that sent four of the eight bytes expected and then fell silent: the read in flight is
// cancelled, and the operation completes with an error that matches both ErrOperationAborted and
// the context's error.
func Example_withContext() {
	ioc := executor.NewIOContext()
	s := &stream{ex: ioc, data: []byte("abcd"), chunk: 3, quiet: true}
	buf := make([]byte, 8)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	AsyncReadExactly(s, buf, 8, completion.WithContext(ctx, completion.Callback(func(r IOResult) {
		fmt.Println(r.Err)
		fmt.Println("aborted:", errors.Is(r.Err, completion.ErrOperationAborted))
		fmt.Println("deadline:", errors.Is(r.Err, context.DeadlineExceeded))
	})))
	ioc.Run()
	// Output:
	// completion: operation aborted: context deadline exceeded
	// aborted: true
	// deadline: true
}

// AllOf runs operations at once and delivers every result when the last completes; Order says in
// which order they completed. A Start operation and a Spawn one mix freely.
func ExampleAllOf() {
	ioc := executor.NewIOContext()
	left := &stream{ex: ioc, data: []byte("left!"), chunk: 2}  // three reads
	right := &stream{ex: ioc, data: []byte("right"), chunk: 5} // one read
	bufL, bufR := make([]byte, 5), make([]byte, 5)

	composed.AllOf(ioc, completion.Callback(func(g composed.GroupResult[IOResult]) {
		fmt.Printf("left %q, right %q\n", bufL[:g.Results[0].N], bufR[:g.Results[1].N])
		fmt.Println("order:", g.Order)
	}),
		func(h completion.Handler[IOResult]) { AsyncReadExactly(left, bufL, 5, h) },
		func(h completion.Handler[IOResult]) { AsyncReadExactlySpawned(right, bufR, 5, h) },
	)
	ioc.Run()
	// Output:
	// left "left!", right "right"
	// order: [1 0]
}

// FirstOf cancels the other operations once one completes, then delivers every result. Here a read
// from a silent peer races a read from one that answers; the silent one is cancelled.
func ExampleFirstOf() {
	ioc := executor.NewIOContext()
	silent := &stream{ex: ioc, quiet: true}
	talker := &stream{ex: ioc, data: []byte("pong"), chunk: 4}
	bufS, bufT := make([]byte, 4), make([]byte, 4)

	composed.FirstOf(ioc, completion.Callback(func(g composed.GroupResult[IOResult]) {
		fmt.Println("first:", g.Order[0])
		fmt.Println("silent: aborted:", errors.Is(g.Results[0].Err, completion.ErrOperationAborted))
		fmt.Printf("talker: %q\n", bufT[:g.Results[1].N])
	}),
		func(h completion.Handler[IOResult]) { AsyncReadExactly(silent, bufS, 4, h) },
		func(h completion.Handler[IOResult]) { AsyncReadExactly(talker, bufT, 4, h) },
	)
	ioc.Run()
	// Output:
	// first: 1
	// silent: aborted: true
	// talker: "pong"
}
