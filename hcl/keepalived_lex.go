package hcl

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// This file turns keepalived.conf text into a tree of keyword lines, the way
// keepalived's lib/parser.c reads it (v2.2.7):
//
//   - '!' and '#' start a comment anywhere outside double quotes; "\!" and
//     "\#" are literal (decomment());
//   - a line ending in '\' continues on the next line;
//   - words are separated by white space; "a quoted string" is one word
//     without its quotes (alloc_strvec_r());
//   - a block opens with '{' at the end of the keyword line or alone at the
//     start of the next line, and closes with '}' at the start (or, for value
//     blocks, the end) of a line;
//   - "include PATTERN" is replaced by the files the glob matches, read
//     relative to the including file's directory (keepalived chdir()s into
//     it); braces {a,b} expand as with GLOB_BRACE;
//   - "$NAME=value" defines a parameter that "$NAME" and "${NAME}" expand to
//     in later lines.
//
// Conditional lines ("@id ..."), multi-line and parameterised definitions
// and ~SEQ/~LST are refused with their place: lvsd has no config id and
// keeps the reader small.

// kaMaxIncludeDepth bounds nested includes; keepalived has no limit but a
// cycle is reported before this is reached.
const kaMaxIncludeDepth = 32

// kaMaxLine bounds a line after parameter expansion (keepalived's MAXBUF
// is 1 KiB; lvsd is more generous but refuses runaway definitions).
const kaMaxLine = 64 << 10

// kaToken is one word of a line.
type kaToken struct {
	text   string
	quoted bool
}

func (t kaToken) is(s string) bool { return !t.quoted && t.text == s }

// kaLine is one logical line with its place.
type kaLine struct {
	pos  Pos
	toks []kaToken
}

// kaNode is a keyword with its arguments and, when it opens one, its block.
type kaNode struct {
	name     string
	args     []kaToken
	pos      Pos
	hasBlock bool
	block    []*kaNode
}

// argText returns the arguments as strings.
func (n *kaNode) argText() []string {
	out := make([]string, len(n.args))
	for i, a := range n.args {
		out[i] = a.text
	}
	return out
}

// line returns the keyword and its arguments as written, for value blocks
// whose entries are whole lines ("192.0.2.1/24 dev eth0").
func (n *kaNode) line() string {
	return strings.Join(append([]string{n.name}, n.argText()...), " ")
}

// kaLexer reads files and includes into lines.
type kaLexer struct {
	l     *Loader
	diags *Diagnostics
	files *[]string
	stack []string // files being read, for include cycles
	defs  map[string]string
	out   []kaLine
}

var kaDefName = regexp.MustCompile(`^\$([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$`)

func (x *kaLexer) readFile(path string, src []byte) {
	x.stack = append(x.stack, filepath.Clean(path))
	defer func() { x.stack = x.stack[:len(x.stack)-1] }()
	if !slices.Contains(*x.files, path) {
		*x.files = append(*x.files, path)
	}
	lines := strings.Split(string(src), "\n")
	for i := 0; i < len(lines); i++ {
		pos := Pos{File: path, Line: i + 1}
		text, cont := kaDecomment(strings.TrimRight(lines[i], "\r"))
		for cont && i+1 < len(lines) {
			i++
			var more string
			more, cont = kaDecomment(strings.TrimRight(lines[i], "\r"))
			text += " " + more
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		x.line(pos, text)
	}
}

func (x *kaLexer) line(pos Pos, text string) {
	switch {
	case text[0] == '@':
		word, _, _ := strings.Cut(text, " ")
		word, _, _ = strings.Cut(word, "\t")
		x.diags.errorf(pos, fmt.Sprintf("conditional configuration (%s) is not supported by lvsd", word),
			"keepalived keeps this line only when started with -i %s; write one file per node instead", strings.TrimLeft(word, "@^"))
		return
	case text[0] == '$':
		m := kaDefName.FindStringSubmatch(text)
		if m == nil {
			break // not a definition: a line starting with a parameter
		}
		val := strings.TrimSpace(m[2])
		if strings.HasSuffix(val, "\\") {
			x.diags.errorf(pos, fmt.Sprintf("multi-line definition $%s is not supported by lvsd", m[1]), "write the value on one line")
			return
		}
		val = x.expand(val)
		if len(val) > kaMaxLine {
			x.diags.errorf(pos, fmt.Sprintf("definition $%s is too long", m[1]), "more than %d bytes after expansion", kaMaxLine)
			return
		}
		x.defs[m[1]] = val
		return
	}
	text = x.expand(text)
	if len(text) > kaMaxLine {
		x.diags.errorf(pos, "line too long", "more than %d bytes after parameter expansion", kaMaxLine)
		return
	}
	if strings.Contains(text, "~SEQ") || strings.Contains(text, "~LST") {
		x.diags.errorf(pos, "keyword ~SEQ/~LST is not supported by lvsd", "write the repeated lines out")
		return
	}
	if rest, ok := kaIncludeArg(text); ok {
		x.include(pos, rest)
		return
	}
	toks, err := kaTokenize(text)
	if err != nil {
		x.diags.errorf(pos, "unmatched quote", "%s", text)
		return
	}
	if len(toks) > 0 {
		x.out = append(x.out, kaLine{pos: pos, toks: toks})
	}
}

// expand replaces $NAME and ${NAME} by their definitions; unknown names are
// left as written, as keepalived does.
func (x *kaLexer) expand(s string) string {
	if len(x.defs) == 0 || !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		braced := s[i+1] == '{'
		start := i + 1
		if braced {
			start++
		}
		end := start
		for end < len(s) && (s[end] == '_' || s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z' || s[end] >= '0' && s[end] <= '9') {
			end++
		}
		name := s[start:end]
		val, ok := x.defs[name]
		if !ok || (braced && (end >= len(s) || s[end] != '}')) {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString(val)
		if b.Len() > kaMaxLine {
			return b.String()
		}
		if braced {
			end++
		}
		i = end - 1
	}
	return b.String()
}

// kaIncludeArg recognises "include PATTERN" (and keepalived's includer,
// includem, includew, includeb, includea variants).
func kaIncludeArg(text string) (string, bool) {
	rest, ok := strings.CutPrefix(text, "include")
	if !ok || rest == "" {
		return "", false
	}
	if strings.IndexByte("rmwba", rest[0]) >= 0 && len(rest) > 1 && (rest[1] == ' ' || rest[1] == '\t') {
		rest = rest[1:]
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

func (x *kaLexer) include(pos Pos, pattern string) {
	if pattern == "" {
		x.diags.errorf(pos, "include needs a file name", "")
		return
	}
	dir := filepath.Dir(pos.File)
	var matches []string
	wildcard := strings.ContainsAny(pattern, "*?[{")
	for _, p := range kaExpandBraces(pattern) {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if !strings.ContainsAny(p, "*?[") {
			matches = append(matches, p)
			continue
		}
		m, err := x.l.glob(p)
		if err != nil {
			x.diags.errorf(pos, "invalid include pattern", "%s: %v", pattern, err)
			return
		}
		slices.Sort(m)
		matches = append(matches, m...)
	}
	if len(matches) == 0 {
		x.diags.warnf(pos, "include matched no file", "%s", pattern)
		return
	}
	if len(x.stack) >= kaMaxIncludeDepth {
		x.diags.errorf(pos, "include nested too deeply", "more than %d levels", kaMaxIncludeDepth)
		return
	}
	for _, m := range matches {
		if slices.Contains(x.stack, filepath.Clean(m)) {
			x.diags.errorf(pos, "include cycle", "%s includes itself through %s", m, strings.Join(x.stack, " -> "))
			continue
		}
		src, err := x.l.readFile(m)
		if err != nil {
			if wildcard {
				x.diags.warnf(pos, "cannot read included file, skipping it", "%v", err)
			} else {
				x.diags.errorf(pos, "cannot read included file", "%v", err)
			}
			continue
		}
		x.readFile(m, src)
	}
}

// kaExpandBraces expands "{a,b}" alternatives like glob(3)'s GLOB_BRACE.
func kaExpandBraces(p string) []string {
	open := strings.IndexByte(p, '{')
	if open < 0 {
		return []string{p}
	}
	depth := 0
	var parts []string
	last := open + 1
	for i := open; i < len(p); i++ {
		switch p[i] {
		case '{':
			depth++
		case ',':
			if depth == 1 {
				parts = append(parts, p[last:i])
				last = i + 1
			}
		case '}':
			depth--
			if depth == 0 {
				parts = append(parts, p[last:i])
				var out []string
				for _, alt := range parts {
					out = append(out, kaExpandBraces(p[:open]+alt+p[i+1:])...)
				}
				return out
			}
		}
	}
	return []string{p} // unbalanced: literal
}

// kaDecomment strips a comment and reports a trailing continuation '\'.
func kaDecomment(s string) (string, bool) {
	var b strings.Builder
	quote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quote = !quote
		case c == '\\' && i+1 < len(s):
			if !quote && (s[i+1] == '#' || s[i+1] == '!') {
				i++
				c = s[i]
			} else {
				b.WriteByte(c)
				i++
				c = s[i]
			}
		case c == '\\':
			return b.String(), true
		case !quote && (c == '!' || c == '#'):
			return b.String(), false
		}
		b.WriteByte(c)
	}
	return b.String(), false
}

// kaTokenize splits a line into words; a double-quoted string is one word.
func kaTokenize(s string) ([]kaToken, error) {
	var toks []kaToken
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\f' || s[i] == '\v' || s[i] == '\r') {
			i++
		}
		if i >= len(s) {
			return toks, nil
		}
		if s[i] == '"' {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unmatched quote")
			}
			toks = append(toks, kaToken{text: s[i+1 : i+1+end], quoted: true})
			i += end + 2
			continue
		}
		start := i
		for i < len(s) && !strings.ContainsRune(" \t\f\v\r\"", rune(s[i])) {
			i++
		}
		toks = append(toks, kaToken{text: s[start:i]})
	}
}

// kaTree builds keyword nodes from lines.
type kaTree struct {
	lines []kaLine
	i     int
	diags *Diagnostics
}

// body reads nodes until the closing '}' of a block opened at opener (or
// the end of input at top level).
func (t *kaTree) body(opener *kaNode, depth int) []*kaNode {
	var nodes []*kaNode
	for t.i < len(t.lines) {
		ln := t.lines[t.i]
		toks := ln.toks
		if toks[0].is("}") {
			t.i++
			if opener == nil {
				t.diags.errorf(ln.pos, "unexpected }", "no block is open here")
				continue
			}
			if len(toks) > 1 {
				t.diags.errorf(ln.pos, "unexpected text after }", "%s", toks[1].text)
			}
			return nodes
		}
		if toks[0].is("{") {
			t.i++
			t.diags.errorf(ln.pos, "unexpected {", "no keyword opens a block here")
			if depth < kaMaxIncludeDepth {
				t.body(&kaNode{name: "{", pos: ln.pos}, depth+1)
			}
			continue
		}
		t.i++
		n := &kaNode{name: toks[0].text, pos: ln.pos}
		nodes = append(nodes, n)
		rest := toks[1:]
		if open := slices.IndexFunc(rest, func(k kaToken) bool { return k.is("{") }); open >= 0 {
			n.args = rest[:open]
			t.open(n, rest[open+1:], ln.pos, depth)
			continue
		}
		if t.i < len(t.lines) && t.lines[t.i].toks[0].is("{") {
			n.args = rest
			next := t.lines[t.i]
			t.i++
			t.open(n, next.toks[1:], next.pos, depth)
			continue
		}
		if opener != nil && len(rest) > 0 && rest[len(rest)-1].is("}") {
			// "entry }" closes a value block, as in keepalived's
			// alloc_value_block().
			n.args = rest[:len(rest)-1]
			return nodes
		}
		n.args = rest
	}
	if opener != nil {
		t.diags.errorf(opener.pos, fmt.Sprintf("block %s is not closed", opener.name), "missing }")
	}
	return nodes
}

// open reads the block of n; after holds the words that followed '{' on
// the same line (one entry, possibly ending with '}').
func (t *kaTree) open(n *kaNode, after []kaToken, pos Pos, depth int) {
	n.hasBlock = true
	closed := false
	if len(after) > 0 && after[len(after)-1].is("}") {
		after = after[:len(after)-1]
		closed = true
	}
	if len(after) > 0 {
		if slices.ContainsFunc(after, func(k kaToken) bool { return k.is("{") || k.is("}") }) {
			t.diags.errorf(pos, "nested block on one line", "write one keyword per line inside %s", n.name)
		} else {
			n.block = append(n.block, &kaNode{name: after[0].text, args: after[1:], pos: pos})
		}
	}
	if closed {
		return
	}
	if depth >= kaMaxIncludeDepth {
		t.diags.errorf(pos, "blocks nested too deeply", "%s", n.name)
		t.i = len(t.lines)
		return
	}
	n.block = append(n.block, t.body(n, depth+1)...)
}
