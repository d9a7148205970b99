package script

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/internal/script/scripttest"
)

func TestSecurityRefusesWhatNonRootCanWrite(t *testing.T) {
	scripttest.NeedRoot(t)
	tests := []struct {
		name    string
		prepare func(dir, path string)
		refuse  string // substring of the error, "" when accepted
	}{
		{"root-owned 0755 everywhere", func(string, string) {}, ""},
		{"world-writable script", func(_, p string) { os.Chmod(p, 0o757) }, "file " + "%s is writable by everyone"},
		{"group-writable script with non-root group", func(_, p string) { os.Chown(p, 0, 100); os.Chmod(p, 0o775) }, "is writable by group 100"},
		{"group-writable script with root group", func(_, p string) { os.Chmod(p, 0o775) }, ""},
		{"script owned by nobody", func(_, p string) { os.Chown(p, 65534, 0) }, "is owned by uid 65534"},
		{"world-writable directory", func(d, _ string) { os.Chmod(d, 0o777) }, "directory %d is writable by everyone"},
		{"sticky world-writable directory (like /tmp)", func(d, _ string) { os.Chmod(d, 0o777|os.ModeSticky) }, ""},
		{"directory owned by nobody", func(d, _ string) { os.Chown(d, 65534, 65534) }, "is owned by uid 65534"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, path := scripttest.Write(t, "exit 0")
			tt.prepare(dir, path)
			err := checkSecurity(path)
			want := strings.ReplaceAll(strings.ReplaceAll(tt.refuse, "%s", path), "%d", dir)
			switch {
			case want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Errorf("got %v, want an error containing %q", err, want)
			}
		})
	}
}

func TestExecRefusesInsecureScriptWithClearError(t *testing.T) {
	scripttest.NeedRoot(t)
	dir, path := scripttest.Write(t, "exit 0")
	os.Chmod(dir, 0o777)
	r := &Exec{Security: true}
	_, err := r.Run(context.Background(), Script{Name: "MISC_CHECK for 10.0.0.1:80", Command: path})
	if err == nil || !strings.Contains(err.Error(), "MISC_CHECK for 10.0.0.1:80: refused by enable_script_security") || !strings.Contains(err.Error(), "writable by everyone") {
		t.Fatalf("got %v", err)
	}
	// Without script security the same script runs.
	if res, err := (&Exec{}).Run(context.Background(), Script{Command: path}); err != nil || res.ExitCode != 0 {
		t.Fatalf("without security: %+v %v", res, err)
	}
}

func TestExecProtectsOnlyScriptsRunAsRoot(t *testing.T) {
	scripttest.NeedRoot(t)
	dir, path := scripttest.Write(t, "exit 0")
	os.Chmod(dir, 0o777)
	// keepalived: a script run as an unprivileged user cannot gain more
	// than that user has, so its permissions are not checked.
	if res, err := (&Exec{Security: true, User: "nobody", Group: "nogroup"}).Run(context.Background(), Script{Command: path}); err != nil || res.ExitCode != 0 {
		t.Errorf("as nobody:nogroup: %+v %v", res, err)
	}
	// In root's group it is protected again.
	if _, err := (&Exec{Security: true, User: "nobody", Group: "root"}).Run(context.Background(), Script{Command: path}); err == nil {
		t.Errorf("as nobody:root: ran")
	}
}

func TestExecExitStatusAndArguments(t *testing.T) {
	_, path := scripttest.Write(t, `echo "$1|$2|$3"; exit 7`)
	res, err := (&Exec{}).Run(context.Background(), Script{Command: path + ` "a b" c`, Args: []string{"d"}})
	if err != nil || res.ExitCode != 7 || strings.TrimSpace(string(res.Output)) != "a b|c|d" {
		t.Fatalf("got %+v (%q) %v", res, res.Output, err)
	}
}

func TestExecQuotedShellCommand(t *testing.T) {
	for cmd, want := range map[string]int{`/bin/sh -c 'exit 0'`: 0, `/bin/sh -c "exit 3"`: 3, `sh -c 'exit 4'`: 4} {
		res, err := (&Exec{}).Run(context.Background(), Script{Command: cmd})
		if err != nil || res.ExitCode != want {
			t.Errorf("%s: got %+v %v, want exit %d", cmd, res, err, want)
		}
	}
}

func TestExecEnvironmentIsOnlyPATH(t *testing.T) {
	t.Setenv("LVSD_SECRET", "leak")
	res, err := (&Exec{}).Run(context.Background(), Script{Command: "/usr/bin/env"})
	if err != nil || strings.TrimSpace(string(res.Output)) != "PATH="+searchPath {
		t.Fatalf("environment %q, %v", res.Output, err)
	}
}

func TestExecDidNotRunIsAnError(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		s    Script
		want string
	}{
		{"not found", Script{Name: "vrrp_script chk", Command: "/nonexistent/lvsd-check"}, `vrrp_script chk: script "/nonexistent/lvsd-check" not found`},
		{"bare name not in PATH", Script{Name: "n", Command: "lvsd-no-such-command"}, "not in PATH"},
		{"unknown user", Script{Name: "n", Command: "/bin/true", User: "no-such-user-lvsd"}, `user "no-such-user-lvsd"`},
		{"unknown group", Script{Name: "n", Command: "/bin/true", User: "root", Group: "no-such-group-lvsd"}, `group "no-such-group-lvsd"`},
		{"unterminated quote", Script{Name: "n", Command: `/bin/echo 'x`}, "unterminated ' quote"},
		{"empty", Script{Name: "n", Command: "  "}, "n: empty command"},
	}
	for _, tt := range tests {
		if _, err := (&Exec{}).Run(ctx, tt.s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestExecTimeoutKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	_, path := scripttest.Write(t, "sleep 60 & echo $! > "+pidFile+"; wait")
	// The timeout must come after the shell wrote its child's pid (a few
	// ms; a second leaves a loaded host room), or nothing is checked.
	const timeout = time.Second
	start := time.Now()
	res, err := (&Exec{}).Run(context.Background(), Script{Command: path, Timeout: timeout})
	if err != nil || !res.TimedOut {
		t.Fatalf("got %+v %v, want a timeout", res, err)
	}
	if took := time.Since(start); took > timeout+3*time.Second {
		t.Errorf("timeout of %v took %v", timeout, took)
	}
	scripttest.WaitKilled(t, pidFile)
}

func TestExecCancelKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	_, path := scripttest.Write(t, "sleep 60 & echo $! > "+pidFile+"; wait")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancelled once the shell has written its child's pid, however
	// late a loaded host starts it.
	go func() {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if b, _ := os.ReadFile(pidFile); strings.HasSuffix(string(b), "\n") {
				break
			}
		}
		cancel()
	}()
	res, err := (&Exec{}).Run(ctx, Script{Name: "notify", Command: path, Timeout: time.Minute})
	if !errors.Is(err, context.Canceled) || res.TimedOut {
		t.Fatalf("got %+v %v, want context.Canceled", res, err)
	}
	scripttest.WaitKilled(t, pidFile)
}

func TestExecRunsAsScriptUser(t *testing.T) {
	scripttest.NeedRoot(t)
	_, path := scripttest.Write(t, "id -u; id -g")
	r := &Exec{Security: true, User: "nobody"}
	res, err := r.Run(context.Background(), Script{Command: path})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("got %+v %v", res, err)
	}
	if f := strings.Fields(string(res.Output)); len(f) != 2 || f[0] != "65534" {
		t.Fatalf("ran as %q, want uid 65534", res.Output)
	}
	// The script's own user and group win over the runner's.
	res, err = r.Run(context.Background(), Script{Command: path, User: "daemon", Group: "nogroup"})
	if f := strings.Fields(string(res.Output)); err != nil || len(f) != 2 || f[0] != "1" || f[1] != "65534" {
		t.Fatalf("as daemon:nogroup ran as %q, %v", res.Output, err)
	}
}

func TestNewTakesTheGlobalScriptSettings(t *testing.T) {
	r := New(hcltest.Load(t, `global {
  enable_script_security = true
  script_user            = "nobody nogroup"
}`).Global)
	if *r != (Exec{Security: true, User: "nobody", Group: "nogroup"}) {
		t.Fatalf("got %+v", *r)
	}
}
