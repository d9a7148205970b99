package lvs

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// procFile is a namespace's /proc/net/ip_vs, opened on first use and kept
// open: the file belongs to the namespace of the thread that opened it
// (proc_net), and a read from offset 0 makes the kernel print the table
// afresh (seq_read_iter resets its iterator).
type procFile struct {
	mu sync.Mutex
	fd int // valid while open
	ok bool
}

// procReadSize is the room given to each read call. The kernel fills one
// seq_file buffer per call (a page, more only for a service whose lines do
// not fit in one; what does not fit the room comes with the next call),
// so a table of 2 MB of text takes some 500 calls however large the
// room. 64 KiB holds any such buffer of a service of a thousand real
// servers, and the buffer kept between passes grows with the table, not
// to a MiB for a small one (the GC counts all of it in its heap goal).
const procReadSize = 64 << 10

// ProcTable implements Kernel.
// With MobyReads it fails: such a kernel re-enacts the reads before issue
// 19, every repair pass a whole table through moby/ipvs.
func (k *linuxKernel) ProcTable(dst []byte) ([]byte, error) {
	if k.mobyReads {
		return dst, fmt.Errorf("%s not read with MobyReads: %w", procIPVS, errors.ErrUnsupported)
	}
	p := &k.proc
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ok {
		fd, err := openProcIPVS(k.netns)
		if err != nil {
			return dst, err
		}
		p.fd, p.ok = fd, true
	}
	start := time.Now()
	var cost ReadCost
	defer func() {
		cost.Took = time.Since(start)
		k.addCost(cost)
	}()
	off := int64(0)
	for {
		if cap(dst)-len(dst) < procReadSize/2 {
			dst = slices.Grow(dst, procReadSize)
		}
		n, err := unix.Pread(p.fd, dst[len(dst):cap(dst)], off)
		cost.ProcReads++
		cost.Syscalls++
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// Opened again on the next use (the module may have been
			// reloaded).
			unix.Close(p.fd)
			p.ok = false
			return dst, fmt.Errorf("reading %s: %w", procIPVS, err)
		}
		if n == 0 {
			cost.ProcBytes = int(off)
			return dst, nil
		}
		dst = dst[:len(dst)+n]
		off += int64(n)
	}
}

// openProcIPVS opens /proc/net/ip_vs of the namespace at netnsPath ("" =
// the current one) from a thread in that namespace.
func openProcIPVS(netnsPath string) (int, error) {
	if netnsPath == "" {
		fd, err := unix.Open(procIPVS, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("opening %s: %w", procIPVS, err)
		}
		return fd, nil
	}
	fd := -1
	err := inNamespace(netnsPath, func() error {
		var err error
		fd, err = unix.Open("/proc/thread-self/net/ip_vs", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("opening %s in %s: %w", procIPVS, netnsPath, err)
	}
	return fd, nil
}

func (p *procFile) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ok {
		unix.Close(p.fd)
		p.ok = false
	}
}
