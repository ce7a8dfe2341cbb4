//go:build !race

package composed_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
