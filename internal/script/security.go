package script

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckSecurity is checkSecurity for lvsd -t, which names the scripts
// enable_script_security refuses before anything runs, as keepalived's -t
// does ("Disabling track script X due to insecure").
func CheckSecurity(path string) error { return checkSecurity(path) }

// checkSecurity applies keepalived's enable_script_security rule to the
// executable at path (symbolic links resolved) and every directory above
// it: each must be owned by root, and a regular file or a directory without
// the sticky bit must not be writable by a non-root group or by others. The
// error names the offending path and why.
func checkSecurity(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return fmt.Errorf("script %s: %w", path, err)
	}
	for p := real; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("script %s: %w", path, err)
		}
		if reason := unsafeReason(p == real, fi); reason != "" {
			what := "directory"
			if p == real {
				what = "file"
			}
			return fmt.Errorf("unsafe permissions for script %s: %s %s %s", path, what, p, reason)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}

// unsafeReason says why fi makes a script unsafe, or "" when it does not.
func unsafeReason(isScript bool, fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "has no ownership information"
	}
	mode := fi.Mode()
	if isScript && !mode.IsRegular() {
		return "is not a regular file"
	}
	if !isScript && !mode.IsDir() {
		return "is not a directory"
	}
	if st.Uid != 0 {
		return fmt.Sprintf("is owned by uid %d, not root", st.Uid)
	}
	if mode.IsDir() && mode&fs.ModeSticky != 0 {
		return "" // like /tmp: others cannot replace what root owns
	}
	if st.Gid != 0 && mode.Perm()&0o020 != 0 {
		return fmt.Sprintf("is writable by group %d", st.Gid)
	}
	if mode.Perm()&0o002 != 0 {
		return "is writable by everyone"
	}
	return ""
}
