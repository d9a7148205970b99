package main

import (
	"os"
	"strings"
	"testing"
)

// TestCheckJSONKeepsItsCheckerShape compares `lvsd check --json` with
// golden files: a keepalived.conf with a checker of each kind, and
// hcl/testdata/hcl/full.hcl. It is the shape pipelines read (README: "the
// resolved model for pipelines"), one flat object a checker, so that a
// change of the model shows here. After a deliberate change, regenerate
// them in cmd/lvsd with
//
//	go run . check --json -f testdata/check-json/kinds.conf >testdata/check-json/kinds.json
//	go run . check --json -f ../../hcl/testdata/hcl/full.hcl >testdata/check-json/full.hcl.json
//
// and say what changed in docs/lvsd.md (--json).
func TestCheckJSONKeepsItsCheckerShape(t *testing.T) {
	for _, tc := range []struct{ conf, golden string }{
		{"testdata/check-json/kinds.conf", "testdata/check-json/kinds.json"},
		{"../../hcl/testdata/hcl/full.hcl", "testdata/check-json/full.hcl.json"},
	} {
		requireCheckJSON(t, tc.conf, tc.golden)
	}
}

// requireCheckJSON fails at the first line where `check --json -f conf`
// differs from the golden file.
func requireCheckJSON(t *testing.T, conf, golden string) {
	t.Helper()
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("check", "--json", "-f", conf)
	if code != 0 {
		t.Fatalf("check --json -f %s: exit %d, %s%s", conf, code, out, errs)
	}
	if out == string(want) {
		return
	}
	got, exp := strings.Split(out, "\n"), strings.Split(string(want), "\n")
	for i := range max(len(got), len(exp)) {
		var g, e string
		if i < len(got) {
			g = got[i]
		}
		if i < len(exp) {
			e = exp[i]
		}
		if g != e {
			t.Errorf("check --json -f %s differs from %s at line %d:\n got: %s\nwant: %s", conf, golden, i+1, g, e)
			return
		}
	}
}
