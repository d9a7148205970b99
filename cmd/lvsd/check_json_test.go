package main

import (
	"os"
	"strings"
	"testing"
)

// TestCheckJSONKeepsItsCheckerShape compares `lvsd check --json` of a
// keepalived.conf with a checker of each kind with its golden file: the
// shape pipelines read (README: "the resolved model for pipelines"), one
// flat object a checker, so that a change of the model shows here.
// After a deliberate change, regenerate it in cmd/lvsd with
//
//	go run . check --json -f testdata/check-json/kinds.conf >testdata/check-json/kinds.json
//
// and say what changed in docs/lvsd.md (--json).
func TestCheckJSONKeepsItsCheckerShape(t *testing.T) {
	const conf, golden = "testdata/check-json/kinds.conf", "testdata/check-json/kinds.json"
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("check", "--json", "-f", conf)
	if code != 0 {
		t.Fatalf("check --json: exit %d, %s%s", code, out, errs)
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
			t.Fatalf("check --json -f %s differs from %s at line %d:\n got: %s\nwant: %s", conf, golden, i+1, g, e)
		}
	}
}
