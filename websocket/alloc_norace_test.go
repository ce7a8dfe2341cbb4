//go:build !race

package websocket_test

// raceEnabled: see alloc_race_test.go.
const raceEnabled = false
