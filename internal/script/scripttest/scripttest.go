// Package scripttest writes scripts for tests of what runs them (checks,
// vrrp, internal/script): executable files in fresh root-owned
// directories that script_user can traverse, so that
// enable_script_security accepts them until a test loosens a permission.
package scripttest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Write writes body, after a "#!/bin/sh" line, to an executable 0755
// file check.sh in a fresh 0755 directory dir under the test's temporary
// directory, and returns both paths.
func Write(t testing.TB, body string) (dir, path string) {
	t.Helper()
	tmp := t.TempDir()
	// t.TempDir makes 0700 directories; script_user must traverse them.
	os.Chmod(tmp, 0o755)
	os.Chmod(filepath.Dir(tmp), 0o755)
	dir = filepath.Join(tmp, "scripts")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Explicit chmods: the umask must not decide.
	os.Chmod(dir, 0o755)
	path = filepath.Join(dir, "check.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o755)
	return dir, path
}

// NeedRoot skips a test that needs root (file ownership, script_user).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (file ownership, script_user)")
	}
}

// WritableDir returns a fresh directory under the test's temporary
// directory where a script run as any user can write (0777).
func WritableDir(t testing.TB) string {
	t.Helper()
	tmp := t.TempDir()
	os.Chmod(tmp, 0o755)
	os.Chmod(filepath.Dir(tmp), 0o755)
	dir := filepath.Join(tmp, "out")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	return dir
}

// WaitKilled reads the process id a script wrote to pidFile and fails t
// unless that process is gone (or a zombie) within three seconds; a
// survivor is killed.
func WaitKilled(t testing.TB, pidFile string) {
	t.Helper()
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid in %s: %q", pidFile, b)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("process %d survived", pid)
}
