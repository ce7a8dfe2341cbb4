//go:build race

package websocket

// raceEnabled: under the race detector sync.Pool drops what it is given at random, on purpose, so
// counting allocations of the pooled write and control states means nothing there; the tests that
// count them run in the build without it (CI runs both).
const raceEnabled = true
