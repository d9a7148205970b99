package director

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/internal/leakcheck"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// startRun runs d until the returned stop function is called; stop returns
// Run's error and may be called again.
func startRun(t *testing.T, d *Director) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	return sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			panic("Run did not return within 30 s of its context ending")
		}
	})
}

// waitFor polls cond until it holds; the bound only catches a hang.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunEndsQuorumScriptsBeforeReturning: a quorum_down script still
// running when the director stops is killed (with its process group) and
// waited for; Run never leaves it behind (issue 11, defect 7: quorum
// scripts were started on context.Background and outlived Run).
func TestRunEndsQuorumScriptsBeforeReturning(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	cfg := hcltest.Load(t, fmt.Sprintf(`
global {
  lvs_program = "always"
}
virtual_server "192.0.2.10:80" {
  protocol    = "TCP"
  quorum      = 2
  quorum_down = "/bin/sh -c 'echo $$ > %s; exec sleep 60'"
  real_server "10.0.0.1:80" {}
  real_server "10.0.0.2:80" {}
}
`, pidFile))
	d, err := New(cfg, Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil }})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, d)
	d.onQuorum(cfg.VirtualServers[0], false)
	var pid int
	waitFor(t, "the quorum_down script to start", func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return false
		}
		_, err = fmt.Sscanf(string(b), "%d\n", &pid)
		return err == nil
	})
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("quorum_down script (pid %d) outlived Run: kill(pid, 0) = %v", pid, err)
	}
	leakcheck.None(t, "github.com/lvsd/lvsd/internal/director.", time.Second)
}

// TestRunCallsOnRunningOnceTheChecksAreBuilt: OnRunning, where lvsd lets
// the start's garbage go and tells systemd it is ready, comes after the
// health checks have built and planned every check of the configuration,
// the start's last work (with thousands of checks, a large part of what
// the start allocates and touches).
func TestRunCallsOnRunningOnceTheChecksAreBuilt(t *testing.T) {
	var b strings.Builder
	b.WriteString("global {\n  lvs_program = \"always\"\n}\nvirtual_server \"192.0.2.10:80\" {\n  protocol = \"TCP\"\n")
	for i := range 256 {
		fmt.Fprintf(&b, "  real_server \"10.0.%d.%d:80\" {\n    TCP_CHECK {\n      warmup = \"1h\"\n    }\n  }\n", i/200, i%200+1)
	}
	b.WriteString("}\n")
	cfg := hcltest.Load(t, b.String())
	built := make(chan bool, 1)
	var d *Director
	d, err := New(cfg, Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil },
		OnRunning: func() {
			select {
			case <-d.checker.Started():
				built <- true
			default:
				built <- false
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, d)
	defer stop()
	select {
	case ok := <-built:
		if !ok {
			t.Fatal("OnRunning came before the checks were built")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("OnRunning was not called within 20 s")
	}
}
