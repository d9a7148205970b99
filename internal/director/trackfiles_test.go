package director

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestTrackFileInitWrittenAtStartNotOverwrittenOnReload: a director
// writes init_file's value into its track_file at start (overwrite: over
// what the file held); a reload writes a missing file again but leaves an
// existing one, as keepalived 2.2.7 does.
func TestTrackFileInitWrittenAtStartNotOverwrittenOnReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "weight")
	if err := os.WriteFile(path, []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := func(value int) string {
		return fmt.Sprintf(`
track_file "tf" {
  file      = %q
  weight    = 2
  init_file = "%d overwrite"
}
`, path, value)
	}
	after := hcltest.Load(t, conf(9))
	d, err := New(hcltest.Load(t, conf(5)), Options{
		File: "lvsd.hcl",
		Load: func(string) (*hcl.Config, hcl.Diagnostics) { return after, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "5\n" {
		t.Fatalf("after start the file holds %q, want init_file's 5 over the 3 it held", b)
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "5\n" {
		t.Fatalf("a reload overwrote the file: %q, want 5 kept", b)
	}
	os.Remove(path)
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "9\n" {
		t.Fatalf("a reload with the file missing: %q, want 9", b)
	}
}
