package completion_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
	"github.com/google/go-cmp/cmp"
)

// Compile-time checks: each token is a Handler of the result type, and Callback infers R from its
// function, so completion.Callback(func(r int) {}) is a Handler[int] without type arguments.
var (
	_ completion.Handler[int]    = completion.Callback(func(r int) {})
	_ completion.Handler[string] = completion.Callback(func(string) {})
	_ completion.Handler[int]    = completion.NewFuture[int]()
	_ completion.Handler[int]    = completion.Chan(make(chan int)) // R inferred from a two-way channel
	_ completion.Handler[int]    = completion.Detached[int]()
	_ completion.Handler[int]    = completion.Bind(executor.Inline{}, completion.Callback(func(int) {}))
)

// result is a typical multi-value result, like net.IOResult.
type result struct {
	N   int
	Err error
}

func (r *result) SetErr(err error) { r.Err = err }

// mustPanic calls f and returns what it panicked with; it fails the test if f returns normally.
func mustPanic(t *testing.T, f func()) (v any) {
	t.Helper()
	defer func() { v = recover() }()
	f()
	t.Fatal("did not panic")
	return nil
}

func TestCallbackCallsTheFunctionWithTheResult(t *testing.T) {
	var got []result
	h := completion.Callback(func(r result) { got = append(got, r) })
	h.Complete(result{N: 3})
	if diff := cmp.Diff([]result{{N: 3}}, got); diff != "" {
		t.Fatalf("callback received (-want +got):\n%s", diff)
	}
}

func TestFutureCompleteThenWait(t *testing.T) {
	f := completion.NewFuture[result]()
	if r, ok := f.Result(); ok {
		t.Fatalf("Result before Complete = %+v, true", r)
	}
	select {
	case <-f.Done():
		t.Fatal("Done is closed before Complete")
	default:
	}
	want := result{N: 7, Err: errors.New("x")}
	f.Complete(want)
	select {
	case <-f.Done():
	default:
		t.Fatal("Done is not closed after Complete")
	}
	r, ok := f.Result()
	if !ok {
		t.Fatal("Result after Complete reports no result")
	}
	if diff := cmp.Diff(want, r, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
		t.Fatalf("Result (-want +got):\n%s", diff)
	}
	if got := f.Wait(); got != want {
		t.Fatalf("Wait = %+v, want %+v", got, want)
	}
}

func TestFutureWaitBlocksUntilCompleteAndWakesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := completion.NewFuture[int]()
		const waiters = 5
		got := make(chan int, waiters)
		for range waiters {
			go func() { got <- f.Wait() }()
		}
		ctxWaiter := make(chan error, 1)
		go func() {
			v, err := f.WaitContext(context.Background())
			if v != 42 {
				err = fmt.Errorf("WaitContext = %d", v)
			}
			ctxWaiter <- err
		}()
		synctest.Wait() // every waiter is blocked
		if len(got) != 0 || len(ctxWaiter) != 0 {
			t.Fatal("a waiter returned before Complete")
		}
		f.Complete(42)
		for range waiters {
			if v := <-got; v != 42 {
				t.Fatalf("Wait = %d, want 42", v)
			}
		}
		if err := <-ctxWaiter; err != nil {
			t.Fatal(err)
		}
	})
}

func TestFutureWaitContext(t *testing.T) {
	tests := []struct {
		name string
		// run completes the future and/or ends the context, in some order, and returns the
		// context to wait with.
		run     func(t *testing.T, f *completion.Future[int]) context.Context
		want    int
		wantErr error
	}{
		{
			name: "result arrives while waiting",
			run: func(t *testing.T, f *completion.Future[int]) context.Context {
				go func() { time.Sleep(time.Second); f.Complete(5) }()
				return t.Context()
			},
			want: 5,
		},
		{
			name: "context canceled while waiting",
			run: func(t *testing.T, f *completion.Future[int]) context.Context {
				ctx, cancel := context.WithCancel(t.Context())
				go func() { time.Sleep(time.Second); cancel() }()
				return ctx
			},
			wantErr: context.Canceled,
		},
		{
			name: "deadline passes while waiting",
			run: func(t *testing.T, f *completion.Future[int]) context.Context {
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				t.Cleanup(cancel)
				return ctx
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			// "Whichever comes first": the result came first, so it wins even though the context
			// has also ended by the time WaitContext looks.
			name: "result already there and context already canceled",
			run: func(t *testing.T, f *completion.Future[int]) context.Context {
				f.Complete(9)
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				return ctx
			},
			want: 9,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Repeated: a select between two ready channels picks at random, so an answer that
			// depends on that choice shows up within a few rounds.
			for range 64 {
				synctest.Test(t, func(t *testing.T) {
					f := completion.NewFuture[int]()
					ctx := tt.run(t, f)
					got, err := f.WaitContext(ctx)
					if got != tt.want || err != tt.wantErr {
						t.Fatalf("WaitContext = %d, %v; want %d, %v", got, err, tt.want, tt.wantErr)
					}
				})
			}
		})
	}
}

func TestFutureSecondCompletePanicsAndKeepsTheFirstResult(t *testing.T) {
	f := completion.NewFuture[int]()
	f.Complete(1)
	v := mustPanic(t, func() { f.Complete(2) })
	if s, _ := v.(string); !strings.Contains(s, "twice") {
		t.Fatalf("panic value %v does not say the future was completed twice", v)
	}
	if got := f.Wait(); got != 1 {
		t.Fatalf("Wait after a second Complete = %d, want the first result 1", got)
	}
}

func TestChanSendsTheResult(t *testing.T) {
	ch := make(chan result, 1)
	h := completion.Chan(ch)
	h.Complete(result{N: 4})
	select {
	case got := <-ch:
		if diff := cmp.Diff(result{N: 4}, got); diff != "" {
			t.Fatalf("received (-want +got):\n%s", diff)
		}
	default:
		t.Fatal("nothing was sent on the channel")
	}
}

func TestChanBlocksUntilReceived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ch := make(chan int) // unbuffered: Complete waits for a receiver
		returned := make(chan struct{})
		go func() {
			completion.Chan(ch).Complete(8)
			close(returned)
		}()
		synctest.Wait()
		select {
		case <-returned:
			t.Fatal("Complete on an unbuffered channel returned with no receiver")
		default:
		}
		if v := <-ch; v != 8 {
			t.Fatalf("received %d", v)
		}
		<-returned
	})
}

func TestDetachedDiscardsAndHasNoAssociations(t *testing.T) {
	h := completion.Detached[result]()
	h.Complete(result{N: 1})
	h.Complete(result{N: 2}) // discarding twice is still nothing
	fallback := executor.NewIOContext()
	if got := completion.AssociatedExecutor(h, fallback); got != executor.Executor(fallback) {
		t.Fatalf("AssociatedExecutor(Detached) = %v, want the fallback", got)
	}
	if got := completion.AssociatedContext(h); got != nil {
		t.Fatalf("AssociatedContext(Detached) = %v, want nil", got)
	}
}

func TestAwaitReturnsTheOperationsResult(t *testing.T) {
	// A toy operation on an IOContext run by another goroutine: Await blocks until the handler
	// receives the result on the context.
	io := executor.NewIOContext()
	guard := executor.MakeWorkGuard(io)
	var wg sync.WaitGroup
	wg.Go(func() { io.Run() })
	defer wg.Wait()
	defer guard.Reset()

	var ranOnIO bool
	got := completion.Await(func(h completion.Handler[result]) {
		if _, ok := h.(*completion.Future[result]); !ok {
			t.Errorf("Await passed a %T, want a *Future", h)
		}
		ex := completion.AssociatedExecutor(h, io)
		ex.Post(func() {
			ranOnIO = io.RunningInThisThread()
			h.Complete(result{N: 12})
		})
	})
	if diff := cmp.Diff(result{N: 12}, got); diff != "" {
		t.Fatalf("Await (-want +got):\n%s", diff)
	}
	if gidKnown() && !ranOnIO {
		t.Fatal("the handler did not run on the operation's executor")
	}
}
