//go:build race

package composed_test

// raceEnabled: under the race detector sync.Pool drops what it is given at random, on purpose, and
// the executor's queue takes its chunks from one, so a count of allocations over many handlers may
// find a chunk made again; the tests that compare such counts do so in the build without it (CI
// runs both).
const raceEnabled = true
