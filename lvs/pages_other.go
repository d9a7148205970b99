//go:build !linux

package lvs

// pages is a byte buffer that a repair pass fills and parses each pass
// (pages_linux.go keeps it outside the Go heap; here it is a heap slice).
type pages struct{ b []byte }

// get returns the buffer at n bytes, its capacity n: a new one when the
// last was smaller.
func (p *pages) get(n int) []byte {
	if n > len(p.b) {
		p.b = make([]byte, n)
	}
	return p.b[:n:n]
}

// drop does nothing here.
func (p *pages) drop() {}

// unmap lets the buffer go.
func (p *pages) unmap() { p.b = nil }
