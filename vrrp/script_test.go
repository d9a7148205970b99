package vrrp

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/internal/script"
	"github.com/lvsd/lvsd/internal/script/scripttest"
)

// loadTracked loads a configuration whose vrrp_instance VI_1 tracks the
// vrrp_script "chk" written by body; global holds global attributes.
func loadTracked(t *testing.T, global, body string) *hcl.Config {
	t.Helper()
	return hcltest.Load(t, fmt.Sprintf(`global {
%s
}
vrrp_script "chk" {
%s
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 100
  virtual_ipaddress = ["192.0.2.100/24"]
  track_script      = ["chk"]
}
`, global, body))
}

// firstResult runs the tracker of cfg's vrrp_script with the runner of its
// global block and returns its first report.
func firstResult(t *testing.T, cfg *hcl.Config) scriptResult {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan scriptResult)
	done := make(chan struct{})
	go func() {
		defer close(done)
		trackScript(ctx, script.New(cfg.Global), cfg.Scripts[0], out, slog.New(slog.DiscardHandler))
	}()
	defer func() { cancel(); <-done }()
	select {
	case r := <-out:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the tracker reported nothing")
		return scriptResult{}
	}
}

// TestTrackScriptSplitsTheCommandLikeKeepalived: a vrrp_script means what
// the same command line means as a MISC_CHECK: quotes group words (issue
// 11, defect 3).
func TestTrackScriptSplitsTheCommandLikeKeepalived(t *testing.T) {
	tests := []struct {
		script string
		ok     bool
	}{
		{`/bin/sh -c 'exit 0'`, true},
		{`/bin/sh -c "exit 1"`, false},
		{`/bin/sh -c 'test "$0" = "a b"' 'a b'`, true},
	}
	for _, tt := range tests {
		cfg := loadTracked(t, "", fmt.Sprintf("  script = %q\n", tt.script))
		if r := firstResult(t, cfg); r.disabled || r.ok != tt.ok {
			t.Errorf("%s: got %+v, want ok=%v", tt.script, r, tt.ok)
		}
	}
}

// TestTrackScriptRunsAsItsUser: vrrp_script's user (and group) is the
// user the script runs as, before the global script_user (issue 11,
// defect 3: VRRPScript.User was never read).
func TestTrackScriptRunsAsItsUser(t *testing.T) {
	scripttest.NeedRoot(t)
	out := scripttest.WritableDir(t)
	_, path := scripttest.Write(t, "id -u > "+out+"/uid; id -g > "+out+"/gid")
	tests := []struct {
		name, global, user string
		uid, gid           string
	}{
		{"vrrp_script user", "", `"nobody"`, "65534", "65534"},
		{"vrrp_script user and group", "", `"nobody daemon"`, "65534", "1"},
		{"before script_user", `script_user = "daemon"`, `"nobody"`, "65534", "65534"},
		{"script_user when none", `script_user = "daemon"`, "", "1", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(out + "/uid")
			os.Remove(out + "/gid")
			body := fmt.Sprintf("  script = %q\n", path)
			if tt.user != "" {
				body += "  user = " + tt.user + "\n"
			}
			if r := firstResult(t, loadTracked(t, tt.global, body)); !r.ok {
				t.Fatalf("got %+v", r)
			}
			uid, _ := os.ReadFile(out + "/uid")
			gid, _ := os.ReadFile(out + "/gid")
			if got := strings.TrimSpace(string(uid)) + ":" + strings.TrimSpace(string(gid)); got != tt.uid+":"+tt.gid {
				t.Errorf("ran as %s, want %s:%s", got, tt.uid, tt.gid)
			}
		})
	}
}

// TestTrackScriptTimeoutKillsTheProcessGroup: a vrrp_script that outlives
// its timeout fails, and what it started in the background dies with it
// (issue 11, defect 3: only the child was killed).
func TestTrackScriptTimeoutKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	_, path := scripttest.Write(t, "sleep 60 & echo $! > "+pidFile+"; wait")
	// The timeout must come after the shell wrote its child's pid (a few
	// ms; a second leaves a loaded host room), or nothing is checked.
	cfg := loadTracked(t, "", fmt.Sprintf("  script = %q\n  timeout = 1\n  interval = 5\n", path))
	start := time.Now()
	if r := firstResult(t, cfg); r.ok || r.disabled {
		t.Fatalf("got %+v, want a failure", r)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("a timeout of 1s took %v", took)
	}
	scripttest.WaitKilled(t, pidFile)
}

// TestTrackScriptSecurityDisablesWorldWritableScript: with
// enable_script_security, a vrrp_script run as root that anyone may
// write is never run; it is disabled, as keepalived does (issue 11,
// defect 3).
func TestTrackScriptSecurityDisablesWorldWritableScript(t *testing.T) {
	scripttest.NeedRoot(t)
	ran := filepath.Join(t.TempDir(), "ran")
	_, path := scripttest.Write(t, "touch "+ran)
	os.Chmod(path, 0o757)
	cfg := loadTracked(t, "enable_script_security = true", fmt.Sprintf("  script = %q\n", path))
	r := firstResult(t, cfg)
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the world-writable script ran")
	}
	if !r.disabled {
		t.Errorf("got %+v, want the script disabled", r)
	}
	// The same script, safe again, runs.
	os.Chmod(path, 0o755)
	if r := firstResult(t, cfg); !r.ok {
		t.Errorf("safe script: got %+v", r)
	}
}

// TestNotifierKillsWhatOutlivesTheGrace: at stop a notify script gets the
// grace, then its whole process group is killed, and the notifier has
// ended when Run's wait returns (issue 11, defects 3 and 7).
func TestNotifierKillsWhatOutlivesTheGrace(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "grandchild.pid")
	_, path := scripttest.Write(t, "sleep 60 & echo $! > "+pidFile+"; wait")
	settings := func() (script.Runner, time.Duration) { return &script.Exec{}, time.Minute }
	n := newNotifier(settings, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	go n.run(ctx)
	n.queue(notifyJob{what: "notify_stop of VI_1", cmdline: path + ` "quoted arg"`})
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(pidFile); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the notify script did not start")
		}
	}
	n.close(100 * time.Millisecond)
	cancel()
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the notifier did not end")
	}
	scripttest.WaitKilled(t, pidFile)
}

// TestNodeStartsWithoutADisabledTrackScript: the instances tracking a
// disabled vrrp_script go on as if they did not track it (keepalived
// removes it from them): not in INIT waiting for its first result, not in
// FAULT for its weight 0.
func TestNodeStartsWithoutADisabledTrackScript(t *testing.T) {
	scripttest.NeedRoot(t)
	_, path := scripttest.Write(t, "exit 1")
	os.Chmod(path, 0o757)
	cfg := loadTracked(t, "enable_script_security = true", fmt.Sprintf("  script = %q\n  weight = 0\n", path))
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		nb := l.start(cfg, l.net("B", 2))
		l.advance(MasterDownInterval(time.Second, 100))
		if got := nb.state("VI_1"); got != StateMaster {
			t.Fatalf("VI_1 is %s after Master_Down_Interval, want MASTER", got)
		}
	})
}
