package net

import (
	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/executor"
)

// postResult completes h with r from outside any operation state: posted to the I/O executor and
// then dispatched to h's executor, as every immediate completion is. It allocates; it serves only
// misuse and setup errors.
func postResult[R any](ex executor.Executor, h completion.Handler[R], r R) {
	w := completion.StartWork(ex, completion.AssociatedExecutor(h, ex))
	ex.Post(func() {
		w.Handler().Dispatch(func() { h.Complete(r) })
		w.Finish()
	})
}
