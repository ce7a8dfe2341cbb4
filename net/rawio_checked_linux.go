//go:build linux && !beastgo_portable && (race || msan || asan)

package net

import "golang.org/x/sys/unix"

// Under the race detector or a sanitizer, sockets are read and written through x/sys's Read and
// Write, whose annotations tell the detector which bytes the kernel wrote or read and order a
// write to a peer (through x/sys or not) before the read that returns its data. See
// rawio_linux.go for the calls other builds make.

func readFD(fd int, b []byte) (int, error) { return unix.Read(fd, b) }

func writeFD(fd int, b []byte) (int, error) { return unix.Write(fd, b) }

// gatherState is what a gather write keeps between calls: the buffers it passes to x/sys's
// Writev.
type gatherState struct {
	bufs [][]byte // the buffers of the gather write in progress
	sel  [maxGatherBuffers][]byte
}

// writevFD writes the first maxGatherBuffers non-empty buffers of g.bufs with x/sys's Writev, and
// returns how many bytes it wrote and how many it tried to.
func writevFD(fd int, g *gatherState) (n, total int, err error) {
	k := 0
	for _, b := range g.bufs {
		if len(b) == 0 {
			continue
		}
		g.sel[k] = b
		total += len(b)
		if k++; k == maxGatherBuffers {
			break
		}
	}
	if k == 0 {
		return 0, 0, nil
	}
	n, err = unix.Writev(fd, g.sel[:k])
	clear(g.sel[:k])
	return n, total, err
}
