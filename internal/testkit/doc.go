// Package testkit holds what the black-box tests of several packages (net, websocket) share: how
// many rounds to run, a watchdog for a completion that never comes, an executor that knows when
// its handlers run, a collector of the broken promises handlers find on any goroutine, and the
// ways to run an IOContext on several goroutines for a test. Only tests import it.
package testkit
