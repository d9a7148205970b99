package hcl

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadKeepalived feeds hostile keepalived.conf text to the reader: it
// must answer with diagnostics, never panic, and never read a file (the
// Loader's hooks refuse every include). A config that loads must convert to
// HCL without panicking.
func FuzzLoadKeepalived(f *testing.F) {
	for _, name := range []string{"full.conf", "defaults.conf", "unsupported.conf", "errors.conf", "conditional.conf"} {
		src, err := os.ReadFile(filepath.Join(kaCorpus, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("include /etc/*\n"))
	f.Add([]byte("virtual_server 1.2.3.4 80 { real_server 1.2.3.5 80 { TCP_CHECK { } } }\n"))
	f.Add([]byte("$A=${A}${A}\n$B=$A$A\nglobal_defs {\n router_id $B\n}\n"))
	f.Add([]byte("$M= \\\nfoo ${N} \\\n$M\n$N=1\n$M\n~SEQ(N, 1, 3) $M\n~LST({A,B}, {1,2}) x $A $B\n@fuzz a\n@^fuzz b\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		l := Loader{
			ReadFile:   func(string) ([]byte, error) { return nil, errors.New("fuzzer reads no file") },
			Glob:       func(string) ([]string, error) { return nil, nil },
			Hostname:   func() (string, error) { return "fuzz", nil },
			LookupEnv:  func(string) (string, bool) { return "", false },
			Stat:       func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
			UserExists: func(string) bool { return false },
		}
		if cfg := fuzzLoad(t, &l, "fuzz.conf", src); cfg != nil {
			_ = ConvertToHCL(cfg)
		}
	})
}

// fuzzLoad loads src as file name with l, fails the test where a
// diagnostic names no file, and returns what loaded (nil where refused).
func fuzzLoad(t *testing.T, l *Loader, name string, src []byte) *Config {
	t.Helper()
	cfg, diags := l.LoadSource(name, src)
	for _, d := range diags {
		if d.Pos.File == "" {
			t.Errorf("diagnostic without a file: %s", d)
		}
	}
	return cfg
}
