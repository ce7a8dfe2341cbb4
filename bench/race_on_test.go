//go:build race

package main

// raceEnabled: under the race detector sync.Pool drops what it is given at random, so the
// servers' pooled states allocate, and allocation counts say nothing about the code.
const raceEnabled = true
