//go:build race

package websocket_test

// raceEnabled is race_on_test.go's, for the black-box tests: under the race detector sync.Pool
// drops what it is given at random, on purpose, so allocation counts mean nothing there.
const raceEnabled = true
