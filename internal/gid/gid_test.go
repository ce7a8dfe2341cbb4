package gid

import (
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func TestCurrentIsDistinctAcrossLiveGoroutines(t *testing.T) {
	// Every goroutine reads its identifier, then waits until all have read theirs, so all of them
	// are alive at once when the identifiers are compared.
	const n = 64
	ids := make([]uintptr, n)
	var read, wg sync.WaitGroup
	read.Add(n)
	release := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ids[i] = Current()
			read.Done()
			<-release
		})
	}
	read.Wait()
	mine := Current()
	close(release)
	wg.Wait()
	seen := map[uintptr]int{mine: -1}
	for i, id := range ids {
		if !Known {
			if id != 0 {
				t.Fatalf("goroutine %d: Current() = %#x where goroutines are not known, want 0", i, id)
			}
			continue
		}
		if id == 0 {
			t.Fatalf("goroutine %d: Current() = 0", i)
		}
		if j, dup := seen[id]; dup {
			t.Fatalf("goroutines %d and %d (-1: the test's) share the identifier %#x", i, j, id)
		}
		seen[id] = i
	}
}

func TestCurrentIsStableWithinAGoroutine(t *testing.T) {
	first := Current()
	for range 100 {
		runtime.Gosched() // may resume on another thread
		if got := Current(); got != first {
			t.Fatalf("Current() changed from %#x to %#x after a reschedule", first, got)
		}
	}
	// A deep call chain makes the runtime move the goroutine's stack; the identifier stays.
	if got := deep(2000); got != first {
		t.Fatalf("Current() changed from %#x to %#x after the stack grew", first, got)
	}
}

// deep calls itself n times with a frame large enough to grow the stack, and returns Current.
func deep(n int) uintptr {
	var pad [64]uintptr
	pad[n%len(pad)] = uintptr(n)
	if n == 0 {
		return Current() + pad[0]
	}
	return deep(n-1) + pad[n%len(pad)] - uintptr(n)
}

// goroutineNumber reads the calling goroutine's number from the first line of its stack trace,
// "goroutine 7 [running]:": slow, but a distinct value per goroutine, as a working read gives.
func goroutineNumber() uintptr {
	buf := make([]byte, 64)
	fields := strings.Fields(string(buf[:runtime.Stack(buf, false)]))
	n, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		panic(err)
	}
	return uintptr(n)
}

func TestSelfCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		read func() uintptr
		want bool
	}{
		{"distinct per goroutine", goroutineNumber, true},
		{"always zero", func() uintptr { return 0 }, false},
		{"the same for every goroutine", func() uintptr { return 42 }, false},
	} {
		if got := identifiesGoroutines(tc.read); got != tc.want {
			t.Errorf("%s: identifiesGoroutines = %v, want %v", tc.name, got, tc.want)
		}
	}
	if asm && !Known {
		t.Error("the self-check rejected the assembly read on this machine")
	}
}
