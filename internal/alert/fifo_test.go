package alert

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestFIFOIsCreatedWithKeepalivedsModeAndRemovedOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.fifo")
	f, err := OpenFIFO(path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want a FIFO with 0644 (keepalived's S_IRUSR|S_IWUSR|S_IRGRP|S_IROTH)", st.Mode())
	}
	r, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f.Write(`INSTANCE "VI_1" MASTER 100`)
	f.Write(`GROUP "G" BACKUP 0`)
	r.SetReadDeadline(time.Now().Add(2 * time.Second))
	sc := bufio.NewScanner(r)
	var got []string
	for len(got) < 2 && sc.Scan() {
		got = append(got, sc.Text())
	}
	if strings.Join(got, "|") != `INSTANCE "VI_1" MASTER 100|GROUP "G" BACKUP 0` {
		t.Errorf("read %q", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the FIFO lvsd created is still there after Close: %v", err)
	}
}

func TestFIFOLeftByAnotherRunIsUsedAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFIFO(path, "", "")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("a FIFO lvsd did not create was removed: %v", err)
	}
}

func TestFIFOPathIsHostile(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, path, target string)
	}{
		{"a symbolic link to a file", func(t *testing.T, path, target string) {
			os.WriteFile(target, []byte("precious\n"), 0o600)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"a dangling symbolic link", func(t *testing.T, path, target string) {
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"a symbolic link to a FIFO", func(t *testing.T, path, target string) {
			unix.Mkfifo(target, 0o600)
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
		}},
		{"a regular file", func(t *testing.T, path, target string) {
			os.WriteFile(path, []byte("precious\n"), 0o600)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, target := filepath.Join(dir, "notify.fifo"), filepath.Join(dir, "target")
			tt.plant(t, path, target)
			read := func() string {
				if st, err := os.Lstat(target); err != nil || !st.Mode().IsRegular() {
					return "" // a FIFO would block a read
				}
				b, _ := os.ReadFile(target)
				return string(b)
			}
			before := read()
			f, err := OpenFIFO(path, "", "")
			if err == nil {
				f.Write(`INSTANCE "VI_1" MASTER 100`)
				f.Close()
				t.Fatalf("OpenFIFO accepted %s", tt.name)
			}
			if after := read(); after != before {
				t.Errorf("the target changed: %q -> %q", before, after)
			}
			if st, err := os.Lstat(path); err != nil {
				t.Errorf("what was planted is gone: %v", err)
			} else if st.Mode()&os.ModeNamedPipe != 0 && tt.name != "a regular file" && st.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link was replaced")
			}
			if _, err := os.Lstat(target); tt.name == "a dangling symbolic link" && err == nil {
				t.Errorf("a FIFO was created through the dangling link")
			}
		})
	}
}

func TestFIFONeverBlocksWhenNobodyReads(t *testing.T) {
	f, err := OpenFIFO(filepath.Join(t.TempDir(), "notify.fifo"), "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const lines = 20000 // far more than a pipe buffer holds
	start := time.Now()
	for range lines {
		f.Write(`INSTANCE "VI_1" MASTER 100`)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%d writes took %s", lines, d)
	}
	if f.Dropped() == 0 || f.Written()+f.Dropped() != lines {
		t.Errorf("written %d, dropped %d of %d: a full FIFO must drop and count", f.Written(), f.Dropped(), lines)
	}
}
