package completion_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/beastgo/beast/completion"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCanceledErrorMatchesAbortAndTheContextsError(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	shutdown := errors.New("server shutting down")
	withCause, cancel3 := context.WithCancelCause(context.Background())
	cancel3(shutdown)
	slow := errors.New("peer too slow")
	expiredWithCause, cancel4 := context.WithDeadlineCause(context.Background(), time.Unix(0, 0), slow)
	defer cancel4()
	tests := []struct {
		name      string
		ctx       context.Context
		ctxErr    error // what ctx.Err() says
		cause     error // what context.Cause says
		notCause  error
		errString string
	}{
		{"canceled", canceled, context.Canceled, context.Canceled, context.DeadlineExceeded, "operation aborted: context canceled"},
		{"deadline exceeded", expired, context.DeadlineExceeded, context.DeadlineExceeded, context.Canceled, "operation aborted: context deadline exceeded"},
		{"canceled with a cause", withCause, context.Canceled, shutdown, context.DeadlineExceeded, "operation aborted: context canceled: server shutting down"},
		{"deadline with a cause", expiredWithCause, context.DeadlineExceeded, slow, context.Canceled, "operation aborted: context deadline exceeded: peer too slow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := completion.Canceled(tt.ctx)
			for _, e := range []error{err, fmt.Errorf("read: %w", err)} { // also once wrapped
				if !errors.Is(e, completion.ErrOperationAborted) {
					t.Errorf("errors.Is(%v, ErrOperationAborted) = false", e)
				}
				for _, want := range []error{tt.ctxErr, tt.cause} {
					if !errors.Is(e, want) {
						t.Errorf("errors.Is(%v, %v) = false", e, want)
					}
				}
				if errors.Is(e, tt.notCause) {
					t.Errorf("errors.Is(%v, %v) = true", e, tt.notCause)
				}
				var ce *completion.CanceledError
				if !errors.As(e, &ce) {
					t.Fatalf("errors.As(%v, *CanceledError) = false", e)
				}
				if ce.Err != tt.ctxErr || ce.Cause != tt.cause {
					t.Errorf("Err, Cause = %v, %v; want %v, %v", ce.Err, ce.Cause, tt.ctxErr, tt.cause)
				}
			}
			if !strings.Contains(err.Error(), tt.errString) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tt.errString)
			}
		})
	}
	// A CanceledError built by hand, with a cause only, neither panics nor loses the cause.
	boom := errors.New("boom")
	if err := (&completion.CanceledError{Cause: boom}); !errors.Is(err, boom) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("hand-built CanceledError %q does not carry its cause", err.Error())
	}
	// ErrOperationAborted alone is not a cancellation by context.
	if errors.Is(completion.ErrOperationAborted, context.Canceled) {
		t.Fatal("ErrOperationAborted matches context.Canceled")
	}
}

// noSetter is a result struct without SetErr: it cannot carry an error.
type noSetter struct{ N int }

// valueSetter has SetErr on the value receiver, which cannot change the result: Fail needs *R.
type valueSetter struct{ Err error }

func (valueSetter) SetErr(error) {}

func TestFail(t *testing.T) {
	boom := errors.New("boom")
	t.Run("error", func(t *testing.T) {
		if got := completion.Fail[error](boom); got != boom {
			t.Fatalf("Fail[error] = %v, want %v", got, boom)
		}
	})
	t.Run("struct with SetErr", func(t *testing.T) {
		got := completion.Fail[result](boom)
		if diff := cmp.Diff(result{Err: boom}, got, cmpopts.EquateErrors()); diff != "" {
			t.Fatalf("Fail[result] (-want +got):\n%s", diff)
		}
	})
	panics := []struct {
		name string
		fail func()
		typ  string
	}{
		{"int", func() { completion.Fail[int](boom) }, "int"},
		{"struct without SetErr", func() { completion.Fail[noSetter](boom) }, "noSetter"},
		{"pointer to a struct with SetErr", func() { completion.Fail[*result](boom) }, "*completion_test.result"},
	}
	for _, tt := range panics {
		t.Run(tt.name+" panics", func(t *testing.T) {
			v := mustPanic(t, tt.fail)
			s, _ := v.(string)
			if !strings.Contains(s, tt.typ) || !strings.Contains(s, "SetErr") {
				t.Fatalf("panic value %q should name the type %s and SetErr", s, tt.typ)
			}
		})
	}
}

func TestCanFailAgreesWithFail(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		canFail func() bool
		fail    func()
		want    bool
	}{
		{"error", completion.CanFail[error], func() { completion.Fail[error](boom) }, true},
		{"struct with SetErr", completion.CanFail[result], func() { completion.Fail[result](boom) }, true},
		// A value-receiver SetErr is in *R's method set as well, so Fail accepts the type (that
		// such a SetErr cannot set anything is the type's own bug).
		{"struct with value SetErr", completion.CanFail[valueSetter], func() { completion.Fail[valueSetter](boom) }, true},
		{"pointer to a struct with SetErr", completion.CanFail[*result], func() { completion.Fail[*result](boom) }, false},
		{"int", completion.CanFail[int], func() { completion.Fail[int](boom) }, false},
		{"string", completion.CanFail[string], func() { completion.Fail[string](boom) }, false},
		{"struct without SetErr", completion.CanFail[noSetter], func() { completion.Fail[noSetter](boom) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.canFail(); got != tt.want {
				t.Fatalf("CanFail = %v, want %v", got, tt.want)
			}
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				tt.fail()
				return false
			}()
			if panicked == tt.want {
				t.Fatalf("CanFail = %v but Fail panicked: %v", tt.want, panicked)
			}
		})
	}
}
