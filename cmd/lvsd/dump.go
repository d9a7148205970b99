package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/lvsd/lvsd/internal/director"
)

// Dump file names, keepalived's keepalived.data and keepalived.stats.
const (
	dumpData  = "lvsd.data"
	dumpStats = "lvsd.stats"
)

// writeDump writes keepalived's SIGUSR1 data dump (or SIGUSR2 statistics)
// as text into the runtime directory (the control socket's, /run/lvsd by
// default) and logs where.
//
// keepalived wrote /tmp/keepalived.data as root, following whatever link a
// local user had planted there (CVE-2018-19044). lvsd writes only into a
// directory that is root's alone (not a symlink, owned by us, writable by
// no group or other), into a new file created exclusively (O_EXCL, 0600),
// which then replaces the old dump by rename: a symlink in the way is
// replaced, never followed, and no existing file is truncated.
func writeDump(dir string, r director.Report, stats bool, log *slog.Logger) {
	name := dumpData
	if stats {
		name = dumpStats
	}
	var b strings.Builder
	director.Render(&b, r, stats)
	path, err := writePrivateFile(dir, name, []byte(b.String()))
	if err != nil {
		log.Warn("dump", "file", filepath.Join(dir, name), "err", err)
		return
	}
	log.Info("dump written", "file", path)
}

// writePrivateFile replaces dir/name with data as described at writeDump.
func writePrivateFile(dir, name string, data []byte) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return "", fmt.Errorf("%s is not a directory (a symlink?): refusing to write there", dir)
	case fi.Mode().Perm()&0o022 != 0:
		return "", fmt.Errorf("%s is writable by group or others (%v): refusing to write there", dir, fi.Mode().Perm())
	case ok && int(st.Uid) != os.Geteuid():
		return "", fmt.Errorf("%s is owned by uid %d, not %d: refusing to write there", dir, st.Uid, os.Geteuid())
	}
	f, err := os.CreateTemp(dir, "."+name+".*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", err
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}
