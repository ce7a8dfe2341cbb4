package nettest

import (
	"errors"
	"sync/atomic"
)

// ErrInjected is the error a [FailCount] made with a nil error injects: Beast's
// error::test_failure.
var ErrInjected = errors.New("nettest: injected failure")

// FailCount decides which operations of a stream fail: Beast's fail_count. It counts every read
// and write started on the ends it is given to (both ends of a pair may share one, to count their
// operations together), and from the Nth on, each fails with its error: a broken connection stays
// broken. A failed operation moves no byte and completes, posted, with the error.
//
// A FailCount made with n == 0 fails nothing; it only counts, which is how a test learns how many
// operations a composed operation needs before it walks a failure through each of them.
//
// It is safe for concurrent use.
type FailCount struct {
	n     int64
	err   error
	count atomic.Int64
}

// NewFailCount returns a FailCount that fails the nth operation and every later one with err
// (ErrInjected if err is nil); n == 0 fails none. Operations are counted from 1.
func NewFailCount(n int, err error) *FailCount {
	if err == nil {
		err = ErrInjected
	}
	return &FailCount{n: int64(n), err: err}
}

// Count returns how many operations have been counted.
func (f *FailCount) Count() int { return int(f.count.Load()) }

// Err returns the error the FailCount injects.
func (f *FailCount) Err() error { return f.err }

// next counts one operation and returns the error it must fail with, or nil. A nil FailCount
// counts nothing and fails nothing.
func (f *FailCount) next() error {
	if f == nil {
		return nil
	}
	if c := f.count.Add(1); f.n > 0 && c >= f.n {
		return f.err
	}
	return nil
}
