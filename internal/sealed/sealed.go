// Package sealed holds Key, the type of a parameter that only beastgo's own packages can pass.
//
// An exported method that takes a Key is callable only from inside this module: Go's internal
// rule keeps other modules from importing this package, and Key has no exported field, so they
// can neither name nor build a value of it. It is how package composed lets package net reach a
// fast path that would let a user's code race if it were public.
package sealed

// Key is the proof that the caller is one of beastgo's own packages. Its zero value is the key.
type Key struct{ _ struct{} }
