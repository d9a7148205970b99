package alert

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// FIFO is one notify FIFO (keepalived's notify_fifo): lines go in with
// Write, which never waits. The path is hostile input, as a FIFO usually
// lives in a world-writable directory: it is created as a FIFO (mode 0644)
// when missing, opened without following a symbolic link (O_NOFOLLOW) and
// refused unless it is a FIFO; it is opened read-write and non-blocking,
// as keepalived opens it, so a missing reader never blocks lvsd and a
// slow one loses lines (Dropped) rather than slowing the VRRP path.
type FIFO struct {
	path    string
	created bool

	mu sync.Mutex // fd
	fd int

	written, dropped atomic.Uint64
}

// OpenFIFO creates (if missing) and opens the FIFO at path; owner and
// group, when set, own a FIFO it creates (keepalived's notify_fifo FILE
// USER GROUP).
func OpenFIFO(path, owner, group string) (*FIFO, error) {
	f := &FIFO{path: path, fd: -1}
	err := unix.Mkfifo(path, 0o644)
	switch {
	case err == nil:
		f.created = true
		if err := chownFIFO(path, owner, group); err != nil {
			unix.Unlink(path)
			return nil, err
		}
	case errors.Is(err, unix.EEXIST):
		// A FIFO left by a previous run, or someone else's file:
		// checked once opened.
	default:
		return nil, fmt.Errorf("notify FIFO %s: %w", path, err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		f.removeCreated()
		return nil, fmt.Errorf("notify FIFO %s: %w (a symbolic link is never followed)", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		unix.Close(fd)
		f.removeCreated()
		return nil, fmt.Errorf("notify FIFO %s: not a FIFO; refused", path)
	}
	f.fd = fd
	return f, nil
}

func chownFIFO(path, owner, group string) error {
	if owner == "" {
		return nil
	}
	u, err := user.Lookup(owner)
	if err != nil {
		return fmt.Errorf("notify FIFO %s: user %s: %w", path, owner, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return fmt.Errorf("notify FIFO %s: group %s: %w", path, group, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return unix.Lchown(path, uid, gid)
}

// Path is where the FIFO is.
func (f *FIFO) Path() string { return f.path }

// Write writes line and a newline in one write (atomic for a FIFO up to
// PIPE_BUF bytes), without waiting: when the FIFO is full the line is
// dropped and counted.
func (f *FIFO) Write(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		f.dropped.Add(1)
		return
	}
	b := []byte(line + "\n")
	if n, err := unix.Write(f.fd, b); err != nil || n != len(b) {
		f.dropped.Add(1)
		return
	}
	f.written.Add(1)
}

// Written and Dropped count the lines written and lost.
func (f *FIFO) Written() uint64 { return f.written.Load() }

// Dropped counts the lines lost to a full FIFO.
func (f *FIFO) Dropped() uint64 { return f.dropped.Load() }

// Close closes the FIFO and removes it when OpenFIFO created it (first,
// so a reader that reopens it in a loop cannot, as keepalived does).
func (f *FIFO) Close() error {
	f.removeCreated()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd < 0 {
		return nil
	}
	err := unix.Close(f.fd)
	f.fd = -1
	return err
}

func (f *FIFO) removeCreated() {
	if f.created {
		unix.Unlink(f.path)
		f.created = false
	}
}
