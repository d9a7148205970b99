package vm

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Mode bits of the newc cpio format (the kernel's initramfs format, see
// Documentation/driver-api/early-userspace/buffer-format.rst).
const (
	modeDir     = 0o040000
	modeFile    = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
)

// archive is an in-memory newc cpio archive. Entries are written in path
// order with every parent directory before its children, so the same
// content always gives the same bytes (the cache key depends on it).
type archive struct {
	entries map[string]entry
}

type entry struct {
	mode      uint32
	data      []byte // file content or symlink target
	rdevMajor uint32
	rdevMinor uint32
}

func newArchive() *archive { return &archive{entries: map[string]entry{}} }

// clean turns a guest path into the archive's form: no leading slash.
func clean(p string) string { return strings.TrimPrefix(path.Clean("/"+p), "/") }

func (a *archive) mkdirAll(dir string) {
	dir = clean(dir)
	for dir != "" && dir != "." {
		if _, ok := a.entries[dir]; !ok {
			a.entries[dir] = entry{mode: modeDir | 0o755}
		}
		dir = path.Dir(dir)
	}
}

// file adds a regular file with permission bits perm.
func (a *archive) file(name string, perm uint32, data []byte) {
	name = clean(name)
	a.mkdirAll(path.Dir(name))
	a.entries[name] = entry{mode: modeFile | perm&0o7777, data: data}
}

// symlink adds name pointing at target.
func (a *archive) symlink(name, target string) {
	name = clean(name)
	a.mkdirAll(path.Dir(name))
	a.entries[name] = entry{mode: modeSymlink | 0o777, data: []byte(target)}
}

// charDev adds a character device node (the kernel needs /dev/console
// before /init can print anything).
func (a *archive) charDev(name string, major, minor uint32) {
	name = clean(name)
	a.mkdirAll(path.Dir(name))
	a.entries[name] = entry{mode: modeCharDev | 0o600, rdevMajor: major, rdevMinor: minor}
}

func (a *archive) has(name string) bool {
	_, ok := a.entries[clean(name)]
	return ok
}

// writeTo writes the archive, trailer included.
func (a *archive) writeTo(w io.Writer) error {
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	// Parents sort before their children because "a" < "a/b".
	sort.Strings(names)
	ino := uint32(1)
	for _, n := range names {
		e := a.entries[n]
		if err := writeEntry(w, ino, n, e); err != nil {
			return err
		}
		ino++
	}
	return writeEntry(w, 0, "TRAILER!!!", entry{})
}

func writeEntry(w io.Writer, ino uint32, name string, e entry) error {
	nlink := uint32(1)
	if e.mode&0o170000 == modeDir {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, e.mode, 0, 0, nlink, 0, len(e.data), 0, 0, e.rdevMajor, e.rdevMinor, len(name)+1, 0)
	buf := make([]byte, 0, len(hdr)+len(name)+8)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	if len(e.data) == 0 {
		return nil
	}
	if _, err := w.Write(e.data); err != nil {
		return err
	}
	if r := len(e.data) % 4; r != 0 {
		_, err := w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
