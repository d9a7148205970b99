package checks

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/script"
)

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
		p := &miscProber{scripts: &script.Exec{}, dynamic: tt.dynamic, script: script.Script{Command: path, Timeout: 5 * time.Second}}
		r := p.probe(context.Background())
		if r.OK != tt.wantOK || r.Weight != tt.weight || r.Reason != "exit status "+strconv.Itoa(tt.exit) {
			t.Errorf("exit %d dynamic %v: got %+v, want ok=%v weight %d", tt.exit, tt.dynamic, r, tt.wantOK, tt.weight)
		}
	}
	_, path := writeScript(t, "sleep 5")
	p := &miscProber{scripts: &script.Exec{}, script: script.Script{Command: path, Timeout: 200 * time.Millisecond}}
	if r := p.probe(context.Background()); r.OK || r.Reason != "timeout after 200ms" {
		t.Errorf("misc_timeout: got %+v", r)
	}
}
