package trackfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInitWritesAsKeepalivedDoes: init_file writes a missing file; it
// overwrites an existing regular file only with overwrite and only at
// start; it never writes over a directory.
func TestInitWritesAsKeepalivedDoes(t *testing.T) {
	tests := []struct {
		name              string
		existing          string // "" missing, "dir" a directory, else the content
		value             int
		overwrite, reload bool
		wantWrote         bool
		wantErr           bool
		want              string // content after; "" for a directory
	}{
		{"missing file is created", "", 7, false, false, true, false, "7\n"},
		{"missing file is created on reload too", "", -3, false, true, true, false, "-3\n"},
		{"existing file kept without overwrite", "3\n", 7, false, false, false, false, "3\n"},
		{"existing file overwritten at start", "3\n", 7, true, false, true, false, "7\n"},
		{"existing file kept on reload with overwrite", "3\n", 7, true, true, false, false, "3\n"},
		{"directory kept without overwrite", "dir", 7, false, false, false, false, ""},
		{"directory refused with overwrite", "dir", 7, true, false, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			switch tt.existing {
			case "":
			case "dir":
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.WriteFile(path, []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			wrote, err := Init(path, tt.value, tt.overwrite, tt.reload)
			if wrote != tt.wantWrote || (err != nil) != tt.wantErr {
				t.Fatalf("Init = %v, %v; want wrote %v, error %v", wrote, err, tt.wantWrote, tt.wantErr)
			}
			if tt.existing == "dir" {
				if st, err := os.Stat(path); err != nil || !st.IsDir() {
					t.Fatalf("the directory is gone: %v", err)
				}
				return
			}
			b, err := os.ReadFile(path)
			if err != nil || string(b) != tt.want {
				t.Fatalf("file holds %q (%v), want %q", b, err, tt.want)
			}
			if v, _ := Read(path); tt.wantWrote && v != int64(tt.value) {
				t.Errorf("Read = %d, want %d", v, tt.value)
			}
			if st, _ := os.Stat(path); tt.wantWrote && st.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", st.Mode().Perm())
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("left %d files in the directory, want 1", len(entries))
			}
		})
	}
}
