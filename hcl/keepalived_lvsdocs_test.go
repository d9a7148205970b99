package hcl

import (
	"regexp"
	"strings"
	"testing"
)

// TestKeepalivedDocsNameEveryLVSKeyword: every keyword keepalived 2.2.7's
// keepalived.conf(5) documents in its LVS section (virtual_server_group,
// virtual_server, real_server, every checker, SSL) is named in
// docs/keepalived.md, as supported, ignored or refused with its reason.
func TestKeepalivedDocsNameEveryLVSKeyword(t *testing.T) {
	page, doc := kaManSection(t, ".SH LVS CONFIGURATION", ".SH ADVANCED CONFIGURATION")
	keyword := regexp.MustCompile(`(?m)^\s*\\fB([A-Za-z][A-Za-z0-9_-]+)`)
	notKeywords := map[string]bool{"Note": true}
	seen := map[string]bool{}
	for _, m := range keyword.FindAllSubmatch(page, -1) {
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
