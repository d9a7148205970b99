package hcl

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestKeepalivedDocsNameEveryLVSKeyword: every keyword keepalived 2.2.7's
// keepalived.conf(5) documents in its LVS section (virtual_server_group,
// virtual_server, real_server, every checker, SSL) is named in
// docs/keepalived.md, as supported, ignored or refused with its reason.
func TestKeepalivedDocsNameEveryLVSKeyword(t *testing.T) {
	f, err := os.Open("/usr/share/man/man5/keepalived.conf.5.gz")
	if err != nil {
		t.Skip("keepalived.conf(5) not installed (Debian package keepalived)")
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(page, []byte(".SH LVS CONFIGURATION"))
	end := bytes.Index(page, []byte(".SH ADVANCED CONFIGURATION"))
	if start < 0 || end < start {
		t.Fatal("keepalived.conf(5): LVS section not found")
	}
	doc, err := os.ReadFile("../docs/keepalived.md")
	if err != nil {
		t.Fatal(err)
	}
	keyword := regexp.MustCompile(`(?m)^\s*\\fB([A-Za-z][A-Za-z0-9_-]+)`)
	notKeywords := map[string]bool{"Note": true}
	seen := map[string]bool{}
	for _, m := range keyword.FindAllSubmatch(page[start:end], -1) {
		k := string(m[1])
		if seen[k] || notKeywords[k] {
			continue
		}
		seen[k] = true
		named := strings.Contains(string(doc), "`"+k+"`") || strings.Contains(string(doc), "`"+k+" ") ||
			regexp.MustCompile("`[^`]*\\b"+regexp.QuoteMeta(k)+"\\b[^`]*`").Match(doc)
		if !named && !kaDocsNamesByPattern(string(doc), k) {
			t.Errorf("docs/keepalived.md does not name %s", k)
		}
	}
	if len(seen) < 80 {
		t.Errorf("only %d keywords read from keepalived.conf(5)'s LVS section", len(seen))
	}
}
