package lvs

import (
	"bytes"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of b the kernel holds in memory
// (mincore(2)); b starts on a page.
func residentPages(t testing.TB, b []byte) int {
	t.Helper()
	if len(b) == 0 {
		return 0
	}
	page := unix.Getpagesize()
	vec := make([]byte, (len(b)+page-1)/page)
	// x/sys/unix has no wrapper for it.
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// A buffer's pages are resident once written and given back by drop: it
// keeps its place and size and reads as zeros. A larger size maps a new
// buffer; a smaller one is the same buffer, capped at that size.
func TestPagesGiveTheirMemoryBackOnDrop(t *testing.T) {
	var p pages
	defer p.unmap()
	b := p.get(100 << 10)
	if len(b) != 100<<10 || cap(b) != 100<<10 {
		t.Fatalf("get(100 KiB) = len %d cap %d, want both 100 KiB", len(b), cap(b))
	}
	if !p.mapped {
		t.Fatal("the buffer is not a mapping of its own")
	}
	if n := residentPages(t, b); n != 0 {
		t.Fatalf("%d pages resident before any write, want 0", n)
	}
	copy(b, bytes.Repeat([]byte("lvsd"), len(b)/4))
	if n, want := residentPages(t, b), len(b)/unix.Getpagesize(); n != want {
		t.Fatalf("%d pages resident once written, want %d", n, want)
	}
	p.drop()
	if n := residentPages(t, b); n != 0 {
		t.Fatalf("%d pages resident after drop, want 0", n)
	}
	if !bytes.Equal(b, make([]byte, len(b))) {
		t.Fatal("the buffer holds what was written before drop")
	}
	if small := p.get(10); &small[0] != &b[0] || cap(small) != 10 {
		t.Fatalf("get(10) after get(100 KiB) = %p cap %d, want %p cap 10", &small[0], cap(small), &b[0])
	}
	if large := p.get(200 << 10); len(large) != 200<<10 || residentPages(t, large) != 0 {
		t.Fatalf("get(200 KiB) = len %d, %d pages resident; want 200 KiB, none", len(large), residentPages(t, large))
	}
}
