package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/internal/director"
)

// TestDumpReplacesAPlantedSymlinkWithoutFollowingIt: a link planted where
// the SIGUSR1 dump goes is replaced, and the file it points to is neither
// written nor truncated (issue 11, defect 4; keepalived CVE-2018-19044).
func TestDumpReplacesAPlantedSymlinkWithoutFollowingIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{dumpData, dumpStats} {
		if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	writeDump(dir, director.Report{Version: "t1"}, false, log)
	writeDump(dir, director.Report{Version: "t1"}, true, log)

	if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	for _, name := range []string{dumpData, dumpStats} {
		path := filepath.Join(dir, name)
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want a regular file 0600", name, fi.Mode())
		}
		if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), "lvsd t1") {
			t.Errorf("%s = %q", name, b)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".lvsd*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// TestDumpRefusesADirectoryOthersControl: no dump is written into a
// directory that others can write or that is a symlink.
func TestDumpRefusesADirectoryOthersControl(t *testing.T) {
	open := filepath.Join(t.TempDir(), "open")
	if err := os.Mkdir(open, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o1777); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(private, link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{open, link} {
		if _, err := writePrivateFile(dir, dumpData, []byte("x")); err == nil {
			t.Errorf("%s: dump written, want a refusal", dir)
		}
	}
	if left, _ := os.ReadDir(private); len(left) != 0 {
		t.Errorf("written through the symlinked directory: %v", left)
	}
}
