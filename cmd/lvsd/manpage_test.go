package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestLvsd8NamesEveryFlag: every flag a subcommand defines is documented in
// docs/lvsd.md, the source of lvsd(8), so the page cannot fall behind the
// command line.
func TestLvsd8NamesEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/lvsd.md")
	if err != nil {
		t.Fatal(err)
	}
	flagLine := regexp.MustCompile(`(?m)^  -(\S+)`)
	for _, cmd := range []string{"run", "check", "plan", "status"} {
		var stdout, stderr bytes.Buffer
		runMain([]string{"lvsd", cmd, "-h"}, &stdout, &stderr)
		flags := flagLine.FindAllStringSubmatch(stderr.String(), -1)
		if len(flags) == 0 {
			t.Fatalf("lvsd %s -h listed no flag:\n%s", cmd, stderr.String())
		}
		for _, f := range flags {
			name := f[1]
			if !strings.Contains(string(doc), "`-"+name) && !strings.Contains(string(doc), "`--"+name) {
				t.Errorf("lvsd %s -%s is not in docs/lvsd.md (OPTIONS)", cmd, name)
			}
		}
	}
	for _, cmd := range []string{"run", "check", "plan", "convert", "status", "version"} {
		if !strings.Contains(string(doc), "| `"+cmd+"` |") {
			t.Errorf("the command %s is not in docs/lvsd.md (COMMANDS)", cmd)
		}
	}
}
