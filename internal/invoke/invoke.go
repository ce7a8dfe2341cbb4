// Package invoke completes handlers from code that knows it runs on their associated executor:
// beastgo's own I/O objects, which dispatch a completion to its handler's executor before they
// call the handler.
package invoke

import (
	"github.com/beastgo/beast/completion"
	"github.com/beastgo/beast/composed"
	"github.com/beastgo/beast/internal/sealed"
)

// Invoke completes h with v from a goroutine that is running a handler of h's associated
// executor: Asio's invocation of a handler once dispatched. A composed.Slot then lands at once,
// without the check its Complete makes that it runs on the operation's step executor (a goroutine
// lookup on every step, and a post where goroutines cannot be told apart); any other handler is
// completed as usual. Called from anywhere else, it lets the operation's steps race with the
// executor's other handlers, which is why it is internal.
func Invoke[T any](h completion.Handler[T], v T) {
	if s, ok := h.(*composed.Slot[T]); ok { // a concrete type: one compare, also in generic code
		s.Land(v, sealed.Key{})
		return
	}
	h.Complete(v)
}
