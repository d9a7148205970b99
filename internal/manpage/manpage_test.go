package manpage

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const docsDir = "../../docs"

// TestManPagesAreRegeneratedFromDocs fails when docs/man/ is stale: every
// page rendered again from its Markdown must equal the committed one.
func TestManPagesAreRegeneratedFromDocs(t *testing.T) {
	for _, p := range Pages() {
		md, err := os.ReadFile(filepath.Join(docsDir, p.Source))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join(docsDir, "man", p.File()))
		if err != nil {
			t.Fatalf("%v (run `make man`)", err)
		}
		if got := Render(string(md), p); got != string(committed) {
			t.Errorf("docs/man/%s is stale relative to docs/%s: run `make man` and commit the result", p.File(), p.Source)
		}
	}
}

// manText renders a page with man(1) as a user reads it, and returns the
// text with line-end hyphenation undone and white space collapsed.
func manText(t *testing.T, file string) string {
	t.Helper()
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed (Debian package man-db)")
	}
	var stderr bytes.Buffer
	cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", file)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANWIDTH=100", "MAN_KEEP_FORMATTING=")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l %s: %v\n%s", file, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("man -l %s warns (lintian reports these as groff-message):\n%s", file, stderr.String())
	}
	text := regexp.MustCompile("\x08.").ReplaceAllString(string(out), "") // overstrike bold
	text = regexp.MustCompile("[‐-]\n\\s*").ReplaceAllString(text, "")    // hyphenated line ends
	text = strings.NewReplacer("−", "-", "‐", "-").Replace(text)
	return strings.Join(strings.Fields(text), " ")
}

func TestLvsd8RendersItsSections(t *testing.T) {
	text := manText(t, filepath.Join(docsDir, "man", "lvsd.8"))
	for _, want := range []string{
		"NAME lvsd - LVS director", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS",
		"KEEPALIVED COMMAND LINE", "--config-test", "--strict", "--config-id", "--signum=RELOAD|DATA|STATS|STOP",
		"SIGNALS", "SIGHUP reload", "SIGUSR1 write", "lvsd.data", "SIGUSR2", "lvsd.stats", "SIGTERM",
		"FILES", "/etc/lvsd/lvsd.hcl", "/run/lvsd/lvsd.sock",
		"EXIT STATUS", "keepalived's -t: keepalived would report configuration errors",
		"SEE ALSO", "lvsd.hcl(5)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("lvsd(8) lacks %q", want)
		}
	}
}

// TestLvsdHcl5ListsEveryKeywordOfTheReference compares lvsd.hcl(5) as man
// renders it with docs/configuration.md: every keyword the reference's
// tables name (their first column) is on the page.
func TestLvsdHcl5ListsEveryKeywordOfTheReference(t *testing.T) {
	md, err := os.ReadFile(filepath.Join(docsDir, "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := manText(t, filepath.Join(docsDir, "man", "lvsd.hcl.5"))
	for _, want := range []string{"NAME lvsd.hcl - lvsd configuration file", "DESCRIPTION", "SEE ALSO lvsd(8)"} {
		if !strings.Contains(text, want) {
			t.Errorf("lvsd.hcl(5) lacks %q", want)
		}
	}
	code := regexp.MustCompile("`([^`]+)`")
	keywords := 0
	for _, line := range strings.Split(string(md), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		for _, m := range code.FindAllStringSubmatch(splitRow(line)[0], -1) {
			keywords++
			if kw := strings.Join(strings.Fields(m[1]), " "); !strings.Contains(text, kw) {
				t.Errorf("lvsd.hcl(5) lacks the keyword %q of docs/configuration.md", kw)
			}
		}
	}
	if keywords < 60 {
		t.Errorf("found only %d keywords in docs/configuration.md's tables", keywords)
	}
}

func TestRenderEscapesRoff(t *testing.T) {
	p := Page{Source: "x.md", Name: "x", Section: "1", Summary: "test", Manual: "M"}
	for _, tc := range []struct {
		name, md, want string
	}{
		{"a line starting with a dot is not a request", "## S\n\n.hidden file\n", "\\&.hidden file\n"},
		{"a backslash is printed", "## S\n\na\\b\n", "a\\eb\n"},
		{"code is bold with minus signs", "## S\n\nrun `lvsd -t`\n", "run \\fBlvsd \\-t\\fR\n"},
		{"a table row becomes a tagged paragraph", "## S\n\n| keyword | default | meaning |\n|---|---|---|\n| `a` | `1` | what |\n", ".TP\n\\fBa\\fR\nDefault: \\fB1\\fR. What\n"},
		{"an escaped pipe in a cell stays in the cell", "## S\n\n| option | meaning |\n|---|---|\n| `a\\|b` | c |\n", "\\fBa|b\\fR\nc\n"},
		{"a link shows its text", "## S\n\nsee [Scripts](#scripts)\n", "see Scripts\n"},
		{"typography becomes groff glyphs", "## S\n\na — b ≥ c\n", "a \\(em b \\(>= c\n"},
		{"a meaning after a default starts with a capital", "## S\n\n| keyword | default | meaning |\n|---|---|---|\n| `a` | `1` | seconds |\n| `b` | `2` | lvsd extension |\n", "Default: \\fB1\\fR. Seconds\n.TP\n\\fBb\\fR\nDefault: \\fB2\\fR. lvsd extension\n"},
		{"plain headings are capitals", "## Exit status\n", ".SH\nEXIT STATUS\n"},
		{"a comment is left out", "<!-- note\nmore -->\n## S\n", ".SH NAME\nx \\- test\n.SH\nS\n"},
		{"a deeper heading is a subsection", "## S\n\n#### Deep\n\ntext\n", ".SS\nDEEP\n.PP\ntext\n"},
		{"a line starting with a hash is text", "## S\n\n#tag and more\n", ".PP\n#tag and more\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Render(tc.md, p); !strings.Contains(got, tc.want) {
				t.Errorf("Render(%q) =\n%s\nwant it to contain\n%s", tc.md, got, tc.want)
			}
		})
	}
}
