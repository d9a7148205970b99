package hcl

import (
	"errors"
	"os"
	"testing"
)

// FuzzLoadHCL feeds hostile HCL and HCL-JSON to the reader: it must answer
// with diagnostics, never panic, and never read outside its input.
func FuzzLoadHCL(f *testing.F) {
	for _, name := range []string{"testdata/hcl/full.hcl", "testdata/hcl/full.hcl.json", "../examples/dr-pair.hcl"} {
		src, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src, name[len(name)-4:] == "json")
	}
	f.Add([]byte(`vrrp_instance "x" { priority = 1/0 }`), false)
	f.Add([]byte(`{"virtual_server": {"fwmark 0": {}}}`), true)
	f.Fuzz(func(t *testing.T, src []byte, asJSON bool) {
		l := &Loader{
			ReadFile:  func(string) ([]byte, error) { return nil, errors.New("includes are off in the fuzzer") },
			Glob:      func(string) ([]string, error) { return nil, nil },
			Hostname:  func() (string, error) { return "lb1", nil },
			LookupEnv: func(string) (string, bool) { return "", false },
		}
		name := "fuzz.hcl"
		if asJSON {
			name = "fuzz.hcl.json"
		}
		cfg, diags := l.LoadSource(name, src)
		if cfg == nil && !diags.HasErrors() {
			t.Fatal("no config and no error")
		}
		for _, d := range diags {
			if d.Pos.File == "" {
				t.Errorf("diagnostic without a place: %v", d)
			}
		}
	})
}
