package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/director"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// lockedBuffer is a writer shared by the watch loop and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStatusWatchRedrawsInPlace: --watch draws the status screen again and
// again, each frame starting by clearing the terminal, and keeps going
// while the daemon does not answer.
func TestStatusWatchRedrawsInPlace(t *testing.T) {
	cfg := hcltest.Load(t, `
global {
  lvs_program = "always"
}
virtual_server "192.0.2.10:80" {
  protocol = "TCP"
  real_server "10.0.0.1:80" {}
}
`)
	d, err := director.New(cfg, director.Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run", "lvsd.sock")
	ctl, err := serveControl(path, d, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- watchFrames(ctx, path, 20*time.Millisecond, &out) }()
	waitFrames := func(n int) {
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(out.String(), clearScreen) < n {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d frames:\n%s", n, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFrames(3)
	if frames := out.String(); !strings.Contains(frames, "TCP:192.0.2.10:80") || !strings.Contains(frames, "10.0.0.1:80") {
		t.Errorf("the frames lack the service:\n%s", frames)
	}
	ctl.Close()
	n := strings.Count(out.String(), clearScreen)
	waitFrames(n + 2)
	if !strings.Contains(out.String(), "is lvsd running?") {
		t.Errorf("a daemon that stopped answering is not shown")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch returned %d", code)
	}
}
