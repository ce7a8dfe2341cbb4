package testkit

import (
	"context"
	"errors"

	"github.com/beastgo/beast/completion"
)

// Cancelled reports whether err is what an operation cancelled by its context completes with.
func Cancelled(err error) bool {
	return errors.Is(err, completion.ErrOperationAborted) && errors.Is(err, context.Canceled)
}
