//go:build race

package net

// raceEnabled: the race detector slows each syscall and handler about tenfold, so the heaviest
// tests move less data under it (the paths they exercise are the same).
const raceEnabled = true
