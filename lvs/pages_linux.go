package lvs

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// pages is a byte buffer outside the Go heap, for what a repair pass or a
// table read fills, parses and keeps nothing of: /proc/net/ip_vs's text
// and the netlink answers' datagrams. It is an anonymous private mapping
// (mmap(2)); drop gives its pages back to the kernel (MADV_DONTNEED) and
// the next write makes them resident again, zeroed, by minor faults.
//
// On the heap such a buffer costs either way. Kept from pass to pass it
// is live heap, and the collector's pace (GOGC=25, cmd/lvsd) keeps room
// for a quarter of it besides: on the checks benchmark's table (143
// services, 2,326 real servers) the file's buffer and the reader's were
// 0.48 MB of a steady heap of 4.6 MB (docs/benchmarks.md, "Session 12").
// Made again each pass they are the steady state's garbage, and set how
// often the daemon collects (Session 11: 1.0-1.2 MB more RSS that way).
// Here they are neither: the collector never sees them, and between
// passes they are address space only. A pass of that table faults some
// 120 pages back in; one of the 2,000 x 16 table some 600.
//
// A buffer is one goroutine's at a time (its owner's lock).
type pages struct {
	b       []byte          // the mapping, or a heap slice when mmap failed
	mapped  bool            // b is a mapping
	cleanup runtime.Cleanup // unmaps b once the pages are unreachable
}

// get returns the buffer at n bytes, its capacity n. A buffer smaller
// than n is replaced by one of n bytes, rounded up to whole pages: what
// the old one held is not copied.
func (p *pages) get(n int) []byte {
	if n > len(p.b) {
		p.unmap()
		size := (n + unix.Getpagesize() - 1) &^ (unix.Getpagesize() - 1)
		b, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			// Out of address space or mappings (vm.max_map_count): the
			// heap serves, as it did before.
			p.b = make([]byte, n)
			return p.b[:n:n]
		}
		p.b, p.mapped = b, true
		p.cleanup = runtime.AddCleanup(p, func(b []byte) { unix.Munmap(b) }, b)
	}
	return p.b[:n:n]
}

// drop gives the buffer's pages back to the kernel: it keeps its size
// and reads as zeros.
func (p *pages) drop() {
	if p.mapped {
		unix.Madvise(p.b, unix.MADV_DONTNEED)
	}
}

// unmap lets the buffer go; a later get maps a new one.
func (p *pages) unmap() {
	if p.mapped {
		p.cleanup.Stop()
		unix.Munmap(p.b)
	}
	p.b, p.mapped = nil, false
}
