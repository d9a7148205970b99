// Package hcltest builds final configurations for tests from configuration
// text, through the same loader lvsd runs, so that a test gets exactly the
// defaults, the inheritance (nearest block wins) and the validation a user
// gets. Tests never fill hcl.Config by hand.
//
// API (load.go):
//
//	Load(t, src) *hcl.Config           // HCL text, read as "lvsd.hcl"
//	LoadKeepalived(t, src) *hcl.Config // keepalived.conf text, read as "keepalived.conf"
//	LoadFiles(t, main, files) *hcl.Config // several in-memory files (include)
//	Loader(files) *hcl.Loader          // the in-memory loader, for tests of diagnostics
//
// The Load functions fail the test on any error diagnostic and log the
// warnings. The loader reads only the given files, never the disk;
// hostname() returns Hostname and env() finds no variable (a test may set
// the Loader's LookupEnv). hcl's own loader tests use it too, from the
// external test package hcl_test, since package hcl cannot import it.
package hcltest

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

// Hostname is what hostname() returns in configurations loaded here.
const Hostname = "lb1"

// Names of the main file for each language; hcl.Format picks the reader by
// the name.
const (
	HCLFile        = "lvsd.hcl"
	KeepalivedFile = "keepalived.conf"
)

// Load returns the final configuration of HCL text src.
func Load(t testing.TB, src string) *hcl.Config {
	t.Helper()
	return LoadFiles(t, HCLFile, map[string]string{HCLFile: src})
}

// LoadKeepalived returns the final configuration of keepalived.conf text src.
func LoadKeepalived(t testing.TB, src string) *hcl.Config {
	t.Helper()
	return LoadFiles(t, KeepalivedFile, map[string]string{KeepalivedFile: src})
}

// LoadFiles returns the final configuration of the file main among files
// (name → content), the others being there for include. The language
// follows main's name as in hcl.Format.
func LoadFiles(t testing.TB, main string, files map[string]string) *hcl.Config {
	t.Helper()
	cfg, diags := Loader(files).Load(main)
	for _, d := range diags.Warnings() {
		t.Logf("config warning: %s", d)
	}
	if diags.HasErrors() {
		t.Fatalf("config does not load:\n%s", diags.Errors())
	}
	return cfg
}

// Loader returns an hcl.Loader that reads files (name → content) and
// nothing else, with a fixed host name and an empty environment.
func Loader(files map[string]string) *hcl.Loader {
	return &hcl.Loader{
		ReadFile: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, fmt.Errorf("open %s: no such file (hcltest)", name)
		},
		Glob: func(pattern string) ([]string, error) {
			var out []string
			for name := range files {
				if ok, err := filepath.Match(pattern, name); err != nil {
					return nil, err
				} else if ok {
					out = append(out, name)
				}
			}
			slices.Sort(out)
			return out, nil
		},
		Hostname:  func() (string, error) { return Hostname, nil },
		LookupEnv: func(string) (string, bool) { return "", false },
	}
}
