package main

import (
	"bufio"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// processUmask reads the umask from /proc without changing it.
func processUmask(t *testing.T) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Skip("no Umask line in /proc/self/status")
	return ""
}

// TestControlSocketLeavesTheUmaskAlone: the control socket is created
// 0600 without changing the process umask, which scripts started at the
// same time would inherit (issue 11, defect 6). A sampler reads the umask
// while the socket is opened again and again.
func TestControlSocketLeavesTheUmaskAlone(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	want := processUmask(t)
	path := filepath.Join(t.TempDir(), "run", "lvsd.sock")
	log := slog.New(slog.DiscardHandler)

	var stop atomic.Bool
	var seen sync.Map
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			if u := processUmask(t); u != want {
				seen.Store(u, true)
			}
		}
	})
	for range 300 {
		ctl, err := serveControl(path, nil, log)
		if err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("control socket: %v %v, want a socket 0600", fi.Mode(), err)
		}
		ctl.Close()
	}
	stop.Store(true)
	wg.Wait()
	seen.Range(func(u, _ any) bool {
		t.Errorf("umask was %v while the control socket opened, want %s throughout", u, want)
		return true
	})
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left after Close: %v", err)
	}
}
