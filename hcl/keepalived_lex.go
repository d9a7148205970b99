package hcl

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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
//   - "@id LINE" keeps LINE only when the config id (-i, else the host name
//     up to its first dot) is id; "@^id LINE" only when it is not;
//   - "$NAME=value" defines a parameter that "$NAME" and "${NAME}" expand to
//     in later lines, recursively and at the time of use; a definition whose
//     first line ends in '\' spans lines, and its use yields those lines;
//     ${_PWD}, ${_INSTANCE}, ${_HASH} and ${_BANG} are predefined;
//   - "~SEQ(VAR, START, STEP, END) LINE", "~SEQx(...)" and
//     "~LST(VAR, V1, V2...)" / "~LST({A,B}, {1,2}, ...)" repeat LINE with
//     VAR set to each value;
//   - "include PATTERN" is replaced by the files the glob matches, read
//     relative to the including file's directory (keepalived chdir()s into
//     it); braces {a,b} expand as with GLOB_BRACE; a pattern that matches
//     nothing is skipped with a warning ("Config files missing"), as
//     keepalived does;
//   - a block opens with '{' only after a keyword that takes one in its
//     block (kaBlockKeywords); after any other keyword keepalived logs
//     "Unexpected '{' - ignoring" and reads the lines that follow at the
//     same level, so the '}' meant for that block closes the enclosing one;
//     a '}' at the top level is "Extra '}' found" and skipped.

// kaMaxIncludeDepth bounds nested includes; keepalived has no limit but a
// cycle is reported before this is reached.
const kaMaxIncludeDepth = 32

// kaMaxLine bounds a line after parameter expansion (keepalived's MAXBUF
// is 1 KiB; lvsd is more generous but refuses runaway definitions).
const kaMaxLine = 64 << 10

// kaMaxLines bounds the lines that definitions, ~SEQ and ~LST produce.
const kaMaxLines = 1 << 18

// kaToken is one word of a line.
type kaToken struct {
	text   string
	quoted bool
}

func (t kaToken) is(s string) bool { return !t.quoted && t.text == s }

// kaLine is one logical line with its place: the file as an index into
// the lexer's paths (a Pos is 32 bytes, and a big file has 100,000 lines).
type kaLine struct {
	file, line int32
	toks       []kaToken
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

// kaTokenChunk is how many words the lexer allocates at a time.
const kaTokenChunk = 8192

// kaLexer reads files and includes into lines.
type kaLexer struct {
	l        *Loader
	diags    *Diagnostics
	files    *[]string
	stack    []string // files being read, for include cycles
	defs     map[string]string
	configID string
	produced int // lines made by definitions, ~SEQ and ~LST
	out      []kaLine
	paths    []string // the files of out's lines (kaLine.file)
	// toks holds the words of lines in out, each line's a slice of it:
	// one allocation per many lines instead of one per line (a big
	// table's file has 100,000 of them). A line that does not fit starts
	// a new chunk (kaTokenChunk); the lines before keep the old one, which
	// is never copied.
	toks []kaToken
}

var kaDefName = regexp.MustCompile(`(?s)^\$([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

func (x *kaLexer) readFile(path string, src []byte) { x.readFileFrom(path, src, 1) }

// readFileFrom reads src, whose first line is line firstLine of path (a
// part of a file: keepalived_parts.go).
func (x *kaLexer) readFileFrom(path string, src []byte, firstLine int) {
	x.stack = append(x.stack, filepath.Clean(path))
	prevPWD, hadPWD := x.defs["_PWD"]
	x.defs["_PWD"] = filepath.Dir(path)
	defer func() {
		x.stack = x.stack[:len(x.stack)-1]
		if hadPWD {
			x.defs["_PWD"] = prevPWD
		}
	}()
	if !slices.Contains(*x.files, path) {
		*x.files = append(*x.files, path)
	}
	// Room for every line.
	n := bytes.Count(src, []byte{'\n'}) + 1
	x.out = slices.Grow(x.out, n)
	rest := string(src)
	next := func() string { // the next line, without its end
		l, r, _ := strings.Cut(rest, "\n")
		rest = r
		return strings.TrimRight(l, "\r")
	}
	for i := 0; i < n; i++ {
		pos := Pos{File: path, Line: firstLine + i}
		l := next()
		if kaPlain(l) {
			// Most lines of a big file: words and nothing else.
			if text := strings.TrimSpace(l); text != "" {
				if _, include := kaIncludeArg(text); include {
					x.line(pos, text, 0)
				} else {
					x.words(pos, text)
				}
			}
			continue
		}
		text, cont := kaDecomment(l)
		// A definition whose first line ends in '\' keeps its lines apart:
		// using it yields them one by one.
		sep := " "
		if cont && kaDefName.MatchString(strings.TrimSpace(text)) {
			sep = "\n"
		}
		for cont && i+1 < n {
			i++
			var more string
			more, cont = kaDecomment(next())
			text += sep + more
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		x.line(pos, text, 0)
	}
}

// line handles one logical line: conditionals, definitions, ~SEQ/~LST,
// parameter expansion, include, and finally words.
func (x *kaLexer) line(pos Pos, text string, depth int) {
	if depth > kaMaxIncludeDepth {
		x.diags.errorf(pos, "definitions nested too deeply", "more than %d levels", kaMaxIncludeDepth)
		return
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	if text[0] == '@' {
		word, rest, _ := strings.Cut(strings.ReplaceAll(text, "\t", " "), " ")
		id, negate := strings.CutPrefix(word[1:], "^")
		if (id == x.configID) == negate {
			return
		}
		x.line(pos, rest, depth+1)
		return
	}
	if text[0] == '$' {
		if m := kaDefName.FindStringSubmatch(text); m != nil {
			val := strings.TrimSpace(m[2])
			if first, rest, multi := strings.Cut(val, "\n"); multi && strings.TrimSpace(first) == "" {
				val = rest
			}
			if len(val) > kaMaxLine {
				x.diags.errorf(pos, fmt.Sprintf("definition $%s is too long", m[1]), "more than %d bytes", kaMaxLine)
				return
			}
			x.defs[m[1]] = val
			return
		}
	}
	if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
		x.repeat(pos, text, depth)
		return
	}
	expanded, ok := x.expand(text)
	if !ok {
		x.diags.errorf(pos, "line too long", "more than %d bytes after parameter expansion", kaMaxLine)
		return
	}
	expanded = strings.TrimSpace(expanded)
	if expanded == "" {
		return // a parameter defined empty, as keepalived allows
	}
	if strings.Contains(expanded, "\n") {
		for _, part := range strings.Split(expanded, "\n") {
			if x.produced++; x.produced > kaMaxLines {
				x.diags.errorf(pos, "too many lines from definitions", "more than %d", kaMaxLines)
				return
			}
			x.line(pos, part, depth+1)
		}
		return
	}
	if expanded != text && (expanded[0] == '@' || expanded[0] == '$' || strings.HasPrefix(expanded, "~")) {
		x.line(pos, expanded, depth+1)
		return
	}
	text = expanded
	if rest, ok := kaIncludeArg(text); ok {
		x.include(pos, rest)
		return
	}
	x.words(pos, text)
}

// pathIndex returns the index of path in x.paths, adding it if new.
func (x *kaLexer) pathIndex(path string) int32 {
	if n := len(x.paths); n > 0 && x.paths[n-1] == path {
		return int32(n - 1) // the file being read, nearly always
	}
	if i := slices.Index(x.paths, path); i >= 0 {
		return int32(i)
	}
	x.paths = append(x.paths, path)
	return int32(len(x.paths) - 1)
}

// kaPlain reports a line that no rule of the lexer but word splitting
// applies to: no comment, quote, continuation, definition, conditional,
// repetition or parameter (an include is still one).
func kaPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"', '\\', '!', '#', '$', '@', '~':
			return false
		}
	}
	return true
}

// words splits text into words and adds it as a line.
func (x *kaLexer) words(pos Pos, text string) {
	// A line of n bytes nearly always has at most n/2+1 words (one more
	// for an unmatched quote's retry); append grows the chunk otherwise.
	if need := len(text)/2 + 2; cap(x.toks)-len(x.toks) < need {
		x.toks = make([]kaToken, 0, max(need, kaTokenChunk))
	}
	start := len(x.toks)
	var err error
	if x.toks, err = kaAppendTokens(x.toks, text); err != nil {
		x.diags.lenientf(pos, "unmatched quote", "%s", text)
		x.toks, _ = kaAppendTokens(x.toks[:start], text+`"`)
	}
	if len(x.toks) > start {
		x.out = append(x.out, kaLine{file: x.pathIndex(pos.File), line: int32(pos.Line), toks: x.toks[start:len(x.toks):len(x.toks)]})
	}
}

// repeat expands "~SEQ(VAR, [START,] [STEP,] END) LINE", "~SEQx(...)" and
// "~LST(VAR, V...)" / "~LST({A,B}, {1,2}...)": LINE once per value, with
// VAR (or A and B) defined.
func (x *kaLexer) repeat(pos Pos, text string, depth int) {
	open := strings.IndexByte(text, '(')
	close := strings.IndexByte(text, ')')
	if open < 0 || close < open {
		x.diags.lenientf(pos, "invalid ~SEQ/~LST specification", "%s", text)
		return
	}
	kind := text[:open]
	args := kaSplitTop(text[open+1 : close])
	rest := text[close+1:]
	var names []string
	var values [][]string
	switch kind {
	case "~SEQ", "~SEQx":
		if len(args) < 2 || len(args) > 4 {
			x.diags.lenientf(pos, "invalid ~SEQ specification", "want ~SEQ(VAR, START, STEP, END)")
			return
		}
		nums := make([]int64, len(args)-1)
		for i, a := range args[1:] {
			v, err := strconv.ParseInt(strings.TrimSpace(a), 0, 64)
			if err != nil {
				x.diags.lenientf(pos, "invalid ~SEQ specification", "%q is not a number", strings.TrimSpace(a))
				return
			}
			nums[i] = v
		}
		var start, step, end int64
		switch len(nums) {
		case 1:
			end, start = nums[0], 1
			if end < 0 {
				start = -1
			}
		case 2:
			start, end = nums[0], nums[1]
		case 3:
			start, step, end = nums[0], nums[1], nums[2]
		}
		if step == 0 {
			step = 1
			if end < start {
				step = -1
			}
		}
		names = []string{strings.TrimSpace(args[0])}
		for v := start; (step > 0 && v <= end) || (step < 0 && v >= end); v += step {
			if len(values) > kaMaxLines {
				break
			}
			f := strconv.FormatInt(v, 10)
			if kind == "~SEQx" {
				f = strconv.FormatInt(v, 16)
			}
			values = append(values, []string{f})
		}
	case "~LST":
		if len(args) < 2 {
			x.diags.lenientf(pos, "invalid ~LST specification", "want ~LST(VAR, VALUE...)")
			return
		}
		names = kaSplitTop(strings.Trim(strings.TrimSpace(args[0]), "{}"))
		for _, a := range args[1:] {
			vs := kaSplitTop(strings.Trim(strings.TrimSpace(a), "{}"))
			if len(vs) != len(names) {
				x.diags.lenientf(pos, "invalid ~LST specification", "%d values for %d variables", len(vs), len(names))
				return
			}
			values = append(values, vs)
		}
	default:
		x.diags.lenientf(pos, "invalid ~SEQ/~LST specification", "%s", kind)
		return
	}
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	saved := map[string]*string{}
	for _, n := range names {
		if v, ok := x.defs[n]; ok {
			saved[n] = &v
		} else {
			saved[n] = nil
		}
	}
	for _, vs := range values {
		if x.produced += 1; x.produced > kaMaxLines {
			x.diags.errorf(pos, "too many lines from ~SEQ/~LST", "more than %d", kaMaxLines)
			break
		}
		for i, n := range names {
			x.defs[n] = strings.TrimSpace(vs[i])
		}
		x.line(pos, rest, depth+1)
	}
	for n, v := range saved {
		if v == nil {
			delete(x.defs, n)
		} else {
			x.defs[n] = *v
		}
	}
}

// kaSplitTop splits s at commas outside braces.
func kaSplitTop(s string) []string {
	var out []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	return append(out, s[last:])
}

// expand replaces $NAME (followed by white space or the end) and ${NAME}
// by their definitions, again in what they expand to; unknown names are
// left as written, as keepalived does. false means the result grew past
// kaMaxLine.
func (x *kaLexer) expand(s string) (string, bool) {
	for range kaMaxIncludeDepth {
		if !strings.Contains(s, "$") {
			return s, true
		}
		next, changed := x.expandOnce(s)
		if len(next) > kaMaxLine {
			return "", false
		}
		// A multi-line definition yields its lines before they are
		// expanded: each line is expanded when it is read, after the
		// definitions that precede it.
		if !changed || strings.Contains(next, "\n") {
			return next, true
		}
		s = next
	}
	return s, true
}

func (x *kaLexer) expandOnce(s string) (string, bool) {
	var b strings.Builder
	changed := false
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
		if name == "_INSTANCE" {
			val, ok = x.configID, true
		}
		if name == "_HASH" {
			val, ok = "#", true
		}
		if name == "_BANG" {
			val, ok = "!", true
		}
		if braced {
			ok = ok && end < len(s) && s[end] == '}'
		} else {
			ok = ok && (end == len(s) || s[end] == ' ' || s[end] == '\t')
		}
		if !ok {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString(val)
		changed = true
		if b.Len() > kaMaxLine {
			return b.String(), true
		}
		if braced {
			end++
		}
		i = end - 1
	}
	return b.String(), changed
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
			if _, err := x.l.readFile(p); err == nil || wildcard {
				matches = append(matches, p)
			}
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
		x.diags.warnf(pos, fmt.Sprintf("Config files missing '%s'", pattern), "skipped, as keepalived does")
		return
	}
	if len(x.stack) >= kaMaxIncludeDepth {
		x.diags.errorf(pos, "include nested too deeply", "more than %d levels", kaMaxIncludeDepth)
		return
	}
	for _, m := range matches {
		if slices.Contains(x.stack, filepath.Clean(m)) {
			x.diags.warnf(pos, "include cycle, skipping it", "%s includes itself through %s", m, strings.Join(x.stack, " -> "))
			continue
		}
		src, err := x.l.readFile(m)
		if err != nil {
			x.diags.warnf(pos, "cannot read included file, skipping it", "%v", err)
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
	if strings.IndexFunc(s, kaDecommentByte) < 0 {
		return s, false // most lines: nothing to strip
	}
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

// kaDecommentByte reports the characters kaDecomment acts on (without
// building strings.ContainsAny's set for each of a big file's lines).
func kaDecommentByte(c rune) bool { return c == '"' || c == '\\' || c == '!' || c == '#' }

// kaAppendTokens splits a line into words, appended to toks; a
// double-quoted string is one word. On an error toks is returned as it
// came.
func kaAppendTokens(toks []kaToken, s string) ([]kaToken, error) {
	in := len(toks)
	i := 0
	for {
		for i < len(s) && kaSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return toks, nil
		}
		if s[i] == '"' {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return toks[:in], errUnmatchedQuote
			}
			toks = append(toks, kaToken{text: s[i+1 : i+1+end], quoted: true})
			i += end + 2
			continue
		}
		start := i
		for i < len(s) && !kaSpace(s[i]) && s[i] != '"' {
			i++
		}
		toks = append(toks, kaToken{text: s[start:i]})
	}
}

var errUnmatchedQuote = errors.New("unmatched quote")

// kaSpace reports the white space that separates words.
func kaSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r'
}

// kaBlockKeywords lists, per enclosing block, the keywords that open a
// block in keepalived 2.2.7; entries of value blocks (kaValueBlocks) open
// none. A block missing from this table (one lvsd does not read, such as
// bfd_instance) lets every keyword open one.
var kaBlockKeywords = map[string][]string{
	"": {"global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "virtual_server", "virtual_server_group",
		"static_ipaddress", "static_routes", "static_rules", "vrrp_track_process", "vrrp_track_file", "track_file",
		"garp_group", "bfd_instance", "SSL", "linkbeat_interfaces", "track_group", "interface_up_down_delays",
		"local_address_group"},
	"global_defs": {"notification_email"},
	"vrrp_instance": {"authentication", "virtual_ipaddress", "virtual_ipaddress_excluded", "virtual_routes",
		"virtual_rules", "unicast_peer", "track_interface", "track_script", "track_file", "track_process", "track_bfd"},
	"vrrp_sync_group":    {"group", "track_interface", "track_script", "track_file", "track_process", "track_bfd"},
	"vrrp_script":        {},
	"vrrp_track_process": {},
	"vrrp_track_file":    {},
	"track_file":         {},
	"authentication":     {},
	"virtual_server":     {"real_server"},
	"real_server":        {"TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK"},
	"HTTP_GET":           {"url"},
	"SSL_GET":            {"url"},
	"SMTP_CHECK":         {"host"},
	"TCP_CHECK":          {},
	"MISC_CHECK":         {},
	"url":                {},
	kaValueBlock:         {},
}

// kaValueBlock is the context of a block whose entries are values, one a
// line (keepalived's alloc_value_block()).
const kaValueBlock = "value"

// kaValueBlocks lists, per enclosing block, the blocks whose entries are
// values.
var kaValueBlocks = map[string][]string{
	"":                {"static_ipaddress", "static_routes", "static_rules", "virtual_server_group", "linkbeat_interfaces", "local_address_group"},
	"global_defs":     {"notification_email"},
	"vrrp_instance":   {"virtual_ipaddress", "virtual_ipaddress_excluded", "virtual_routes", "virtual_rules", "unicast_peer", "track_interface", "track_script", "track_file", "track_process", "track_bfd"},
	"vrrp_sync_group": {"group", "track_interface", "track_script", "track_file", "track_process", "track_bfd"},
}

// kaOpensBlock says whether keyword opens a block inside ctx.
func kaOpensBlock(ctx, keyword string) bool {
	list, ok := kaBlockKeywords[ctx]
	return !ok || slices.Contains(list, keyword)
}

// kaChildContext is the context of the block keyword opens inside ctx.
func kaChildContext(ctx, keyword string) string {
	if slices.Contains(kaValueBlocks[ctx], keyword) {
		return kaValueBlock
	}
	return keyword
}

// kaTree builds keyword nodes from lines.
type kaTree struct {
	lines []kaLine
	paths []string // kaLine.file indexes it
	i     int
	diags *Diagnostics
	slab  []kaNode // nodes are cut from it, many per allocation (node)
	// Each block's list of nodes is gathered on stack, then copied into
	// a piece of lists (one allocation for many blocks instead of a
	// growing slice each: a big table has 34,000 blocks).
	stack []*kaNode
	lists []*kaNode
	// openAtEnd says the lines ended inside a block, or the tree stopped
	// before their end: a part of a file that ends so was not cut at the
	// top level (keepalived_parts.go).
	openAtEnd bool
}

// list returns the nodes on the stack above mark as a slice of their own
// and takes them off the stack.
func (t *kaTree) list(mark int) []*kaNode {
	n := len(t.stack) - mark
	if n == 0 {
		return nil
	}
	if len(t.lists) < n {
		t.lists = make([]*kaNode, max(n, 4096))
	}
	out := t.lists[:n:n]
	t.lists = t.lists[n:]
	copy(out, t.stack[mark:])
	clear(t.stack[mark:])
	t.stack = t.stack[:mark]
	return out
}

// pos returns the place of ln.
func (t *kaTree) pos(ln kaLine) Pos { return Pos{File: t.paths[ln.file], Line: int(ln.line)} }

// node returns a new node named by name at pos.
func (t *kaTree) node(name string, pos Pos) *kaNode {
	if len(t.slab) == 0 {
		t.slab = make([]kaNode, min(max(len(t.lines)-t.i, 16), 4096))
	}
	n := &t.slab[0]
	t.slab = t.slab[1:]
	n.name, n.pos = name, pos
	return n
}

// body reads nodes until the closing '}' of a block opened at opener (or
// the end of input at top level); ctx names the block for
// kaBlockKeywords.
func (t *kaTree) body(opener *kaNode, ctx string, depth int) []*kaNode {
	mark := len(t.stack)
	t.bodyOnStack(opener, ctx, depth)
	return t.list(mark)
}

// bodyOnStack is body with the nodes read pushed on t.stack.
func (t *kaTree) bodyOnStack(opener *kaNode, ctx string, depth int) {
	for t.i < len(t.lines) {
		ln := t.lines[t.i]
		toks := ln.toks
		if toks[0].is("}") {
			t.i++
			if opener == nil {
				t.diags.lenientf(t.pos(ln), "Extra '}' found", "skipped, as keepalived does")
				continue
			}
			if len(toks) > 1 {
				t.diags.lenientf(t.pos(ln), fmt.Sprintf("Unknown keyword '%s'", toks[1].text), "text after } is ignored")
			}
			return
		}
		if toks[0].is("{") {
			t.diags.lenientf(t.pos(ln), "Unexpected '{' - ignoring", "no keyword opens a block here")
			if len(toks) == 1 {
				t.i++
			} else {
				t.lines[t.i].toks = toks[1:]
			}
			continue
		}
		t.i++
		n := t.node(toks[0].text, t.pos(ln))
		t.stack = append(t.stack, n)
		rest := toks[1:]
		open := slices.IndexFunc(rest, func(k kaToken) bool { return k.is("{") })
		var after []kaToken
		openPos := n.pos
		switch {
		case open >= 0:
			n.args, after = rest[:open], rest[open+1:]
		case t.i < len(t.lines) && t.lines[t.i].toks[0].is("{"):
			n.args = rest
			next := t.lines[t.i]
			t.i++
			open, after, openPos = 0, next.toks[1:], t.pos(next)
		}
		if open < 0 {
			if opener != nil && len(rest) > 0 && rest[len(rest)-1].is("}") {
				// "entry }" closes a value block, as in keepalived's
				// alloc_value_block().
				n.args = rest[:len(rest)-1]
				return
			}
			n.args = rest
			continue
		}
		if !kaOpensBlock(ctx, n.name) {
			// keepalived: the '{' is dropped and the lines that follow
			// are read in this block; their '}' closes it.
			t.diags.lenientf(openPos, "Unexpected '{' - ignoring", "%s opens no block here", n.name)
			if len(after) > 0 && after[len(after)-1].is("}") {
				continue
			}
			if len(after) > 0 {
				// Read the words after '{' as a line of their own, in the
				// slot of the line just read.
				t.i--
				t.lines[t.i] = kaLine{file: t.lines[t.i].file, line: int32(openPos.Line), toks: after}
			}
			continue
		}
		t.open(n, after, openPos, kaChildContext(ctx, n.name), depth)
	}
	if opener != nil {
		t.openAtEnd = true
		t.diags.lenientf(opener.pos, fmt.Sprintf("block %s is not closed", opener.name), "missing } at the end of the file")
	}
}

// open reads the block of n; after holds the words that followed '{' on
// the same line (one entry, possibly ending with '}').
func (t *kaTree) open(n *kaNode, after []kaToken, pos Pos, ctx string, depth int) {
	n.hasBlock = true
	closed := false
	if len(after) > 0 && after[len(after)-1].is("}") {
		after = after[:len(after)-1]
		closed = true
	}
	mark := len(t.stack)
	defer func() { n.block = t.list(mark) }()
	if len(after) > 0 {
		if slices.ContainsFunc(after, func(k kaToken) bool { return k.is("{") || k.is("}") }) {
			t.diags.errorf(pos, "nested block on one line", "write one keyword per line inside %s", n.name)
		} else {
			e := t.node(after[0].text, pos)
			e.args = after[1:]
			t.stack = append(t.stack, e)
		}
	}
	if closed {
		return
	}
	if depth >= kaMaxIncludeDepth {
		t.diags.errorf(pos, "blocks nested too deeply", "%s", n.name)
		t.i = len(t.lines)
		t.openAtEnd = true
		return
	}
	t.bodyOnStack(n, ctx, depth+1)
}
