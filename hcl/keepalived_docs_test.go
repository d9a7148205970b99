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

// TestKeepalivedDocsNameEveryKeyword: every keyword keepalived 2.2.7's
// keepalived.conf(5) documents for global_defs, BFD and the VRRP sections is
// named in docs/keepalived.md, as supported, ignored or refused with its
// reason.
func TestKeepalivedDocsNameEveryKeyword(t *testing.T) {
	page, doc := kaManSection(t, ".SH Global definitions", ".SH LVS CONFIGURATION")
	// Lines that start with a bold word are the keyword lines.
	keyword := regexp.MustCompile(`(?m)^\s*\\fB([a-z][a-z0-9_]+)`)
	notKeywords := map[string]bool{"vrrp": true, "checker": true}
	seen := map[string]bool{}
	for _, m := range keyword.FindAllSubmatch(page, -1) {
		k := string(m[1])
		if seen[k] || notKeywords[k] {
			continue
		}
		seen[k] = true
		named := strings.Contains(string(doc), "`"+k+"`") || strings.Contains(string(doc), "`"+k+" ")
		if !named && !kaDocsNamesByPattern(string(doc), k) {
			t.Errorf("docs/keepalived.md does not name %s", k)
		}
	}
	if len(seen) < 200 {
		t.Errorf("only %d keywords read from keepalived.conf(5)", len(seen))
	}
}

// kaDocsNamesByPattern allows the docs' families: `smtp_*`, `*_priority`,
// `notify_fifo*`, `*_force`, ...
func kaDocsNamesByPattern(doc, k string) bool {
	for _, p := range regexp.MustCompile("`([a-z0-9_]*\\*[a-z0-9_*]*)`").FindAllStringSubmatch(doc, -1) {
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(p[1]), `\*`, "[a-z0-9_]*") + "$"
		if regexp.MustCompile(re).MatchString(k) {
			return true
		}
	}
	return false
}

// kaManSection reads keepalived.conf(5) from the installed keepalived package
// and returns the text between the section headings from and to, with
// docs/keepalived.md beside it; it skips the test where the page is not
// installed.
func kaManSection(t *testing.T, from, to string) (section, doc []byte) {
	t.Helper()
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
	start := bytes.Index(page, []byte(from))
	end := bytes.Index(page, []byte(to))
	if start < 0 || end < start {
		t.Fatalf("keepalived.conf(5): sections %q to %q not found", from, to)
	}
	doc, err = os.ReadFile("../docs/keepalived.md")
	if err != nil {
		t.Fatal(err)
	}
	return page[start:end], doc
}
