package checks

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSplitCommandLikeKeepalived(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{"/usr/bin/check", []string{"/usr/bin/check"}},
		{"  /bin/check  -a   b\t c ", []string{"/bin/check", "-a", "b", "c"}},
		{`/bin/check "two words" 'single $quoted'`, []string{"/bin/check", "two words", "single $quoted"}},
		{`/bin/check "say \"hi\"" a\ b`, []string{"/bin/check", `say "hi"`, "a b"}},
		{`/bin/check ""`, []string{"/bin/check", ""}},
		{`/bin/check pre"mid"post`, []string{"/bin/check", "premidpost"}},
		{"", nil},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.line)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.line, got, err, tt.want)
		}
	}
	for _, bad := range []string{`/bin/x "open`, `/bin/x 'open`, `/bin/x \`} {
		if _, err := SplitCommand(bad); err == nil {
			t.Errorf("SplitCommand(%q) accepted", bad)
		}
	}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (file ownership, script_user)")
	}
}

// writeScript writes an executable script in a fresh root-owned 0755
// directory under the test's temporary directory.
func writeScript(t *testing.T, body string) (dir, path string) {
	t.Helper()
	tmp := t.TempDir()
	// t.TempDir makes 0700 directories; script_user must traverse them.
	os.Chmod(tmp, 0o755)
	os.Chmod(filepath.Dir(tmp), 0o755)
	dir = filepath.Join(tmp, "scripts")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	path = filepath.Join(dir, "check.sh")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o755)
	return dir, path
}

func TestScriptSecurityRefusesWhatNonRootCanWrite(t *testing.T) {
	needRoot(t)
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
			dir, path := writeScript(t, "exit 0")
			tt.prepare(dir, path)
			err := CheckScriptSecurity(path)
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

func TestExecRunnerRefusesInsecureScriptWithClearError(t *testing.T) {
	needRoot(t)
	dir, path := writeScript(t, "exit 0")
	os.Chmod(dir, 0o777)
	r := &ExecRunner{Security: true}
	_, err := r.Run(context.Background(), Script{Name: "MISC_CHECK for 10.0.0.1:80", Command: path})
	if err == nil || !strings.Contains(err.Error(), "MISC_CHECK for 10.0.0.1:80: refused by enable_script_security") || !strings.Contains(err.Error(), "writable by everyone") {
		t.Fatalf("got %v", err)
	}
	// Without script security the same script runs.
	if res, err := (&ExecRunner{}).Run(context.Background(), Script{Command: path}); err != nil || res.ExitCode != 0 {
		t.Fatalf("without security: %+v %v", res, err)
	}
}

func TestExecRunnerExitStatusAndArguments(t *testing.T) {
	_, path := writeScript(t, `echo "$1|$2|$3"; exit 7`)
	res, err := (&ExecRunner{}).Run(context.Background(), Script{Command: path + ` "a b" c`, Args: []string{"d"}})
	if err != nil || res.ExitCode != 7 || strings.TrimSpace(string(res.Output)) != "a b|c|d" {
		t.Fatalf("got %+v (%q) %v", res, res.Output, err)
	}
}

func TestExecRunnerTimeoutKillsTheProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	_, path := writeScript(t, "sleep 60 & echo $! > "+pidFile+"; wait")
	start := time.Now()
	res, err := (&ExecRunner{}).Run(context.Background(), Script{Command: path, Timeout: 300 * time.Millisecond})
	if err != nil || !res.TimedOut {
		t.Fatalf("got %+v %v, want a timeout", res, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("timeout of 300ms took %v", took)
	}
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("child pid: %q", b)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return // gone or a zombie: killed
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	t.Fatalf("grandchild %d survived the timeout", pid)
}

func TestExecRunnerRunsAsScriptUser(t *testing.T) {
	needRoot(t)
	_, path := writeScript(t, "id -u; id -g")
	r := &ExecRunner{Security: true, User: "nobody"}
	res, err := r.Run(context.Background(), Script{Command: path})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("got %+v %v", res, err)
	}
	if f := strings.Fields(string(res.Output)); len(f) != 2 || f[0] != "65534" {
		t.Fatalf("ran as %q, want uid 65534", res.Output)
	}
	if _, err := r.Run(context.Background(), Script{Command: path, User: "no-such-user-lvsd"}); err == nil || !strings.Contains(err.Error(), "no-such-user-lvsd") {
		t.Errorf("unknown user: %v", err)
	}
}

func TestMiscCheckWithRealScripts(t *testing.T) {
	tests := []struct {
		exit    int
		dynamic bool
		wantOK  bool
		weight  int
	}{
		{0, false, true, -1},
		{1, false, false, -1},
		{5, false, false, -1},
		{0, true, true, -1},
		{1, true, false, -1},
		{2, true, true, 0},
		{102, true, true, 100},
	}
	for _, tt := range tests {
		_, path := writeScript(t, "exit "+strconv.Itoa(tt.exit))
		p := &miscProber{scripts: &ExecRunner{}, dynamic: tt.dynamic, script: Script{Command: path, Timeout: 5 * time.Second}}
		r := p.probe(context.Background())
		if r.OK != tt.wantOK || r.Weight != tt.weight || r.Reason != "exit status "+strconv.Itoa(tt.exit) {
			t.Errorf("exit %d dynamic %v: got %+v, want ok=%v weight %d", tt.exit, tt.dynamic, r, tt.wantOK, tt.weight)
		}
	}
	_, path := writeScript(t, "sleep 5")
	p := &miscProber{scripts: &ExecRunner{}, script: Script{Command: path, Timeout: 200 * time.Millisecond}}
	if r := p.probe(context.Background()); r.OK || r.Reason != "timeout after 200ms" {
		t.Errorf("misc_timeout: got %+v", r)
	}
}
