package completion

import (
	"context"
	"errors"
)

// ErrOperationAborted is the error of an operation that was cancelled or whose I/O object was
// closed before it completed (Asio's operation_aborted).
var ErrOperationAborted = errors.New("completion: operation aborted")

// CanceledError is the error of an operation cancelled through its handler's context. Both
// errors.Is(err, ErrOperationAborted) and errors.Is(err, context.Canceled) (or
// context.DeadlineExceeded, whichever the context reports) hold for it, and so does errors.Is with
// the cause given to context.WithCancelCause (or WithDeadlineCause, WithTimeoutCause).
type CanceledError struct {
	Err   error // ctx.Err(): context.Canceled or context.DeadlineExceeded
	Cause error // context.Cause(ctx): the cause the context was given, or Err when none was
}

// Error says that the operation was aborted, and why.
func (e *CanceledError) Error() string {
	msg := "completion: operation aborted"
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Cause != nil && e.Cause != e.Err {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns ErrOperationAborted, the context's error and its cause, if it has another.
func (e *CanceledError) Unwrap() []error {
	errs := []error{ErrOperationAborted}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Cause != nil && e.Cause != e.Err {
		errs = append(errs, e.Cause)
	}
	return errs
}

// Canceled returns the error for an operation cancelled because ctx is done.
func Canceled(ctx context.Context) error {
	return &CanceledError{Err: ctx.Err(), Cause: context.Cause(ctx)}
}

// ErrorSetter is implemented (with a pointer receiver) by result structs that carry an error, so
// that generic code such as a composed operation cancelled before it starts can build a failed
// result: func (r *IOResult) SetErr(err error) { r.Err = err }.
type ErrorSetter interface {
	SetErr(err error)
}

// Fail returns a result of type R that carries err: err itself when R is error, or the zero R with
// SetErr(err) applied when *R is an [ErrorSetter]. It panics for any other R, which cannot carry
// an error; that is a programming error in the operation's result type.
func Fail[R any](err error) R {
	var r R
	switch p := any(&r).(type) {
	case *error:
		*p = err
	case ErrorSetter:
		p.SetErr(err)
	default:
		panic("completion: result type " + typeName[R]() + " cannot carry an error: give *R a SetErr method")
	}
	return r
}

// CanFail reports whether [Fail] can build an R.
func CanFail[R any]() bool {
	var r R
	switch any(&r).(type) {
	case *error, ErrorSetter:
		return true
	}
	return false
}
