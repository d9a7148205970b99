package hcl

import (
	"unicode/utf8"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// parseLiteral parses src, which starts at start in file, as HCL's native
// syntax when it holds only what `lvsd convert` and most hand-written
// files hold: blocks with quoted or bare labels, and attributes whose
// values are literals (a quoted string without escapes or template
// sequences, a decimal number, true, false, null) or tuples of them,
// with # and // comments, all in ASCII. For such a src it returns the
// body hclsyntax.ParseConfig returns, node for node and range for range
// (TestLiteralParseIsHCLs, FuzzLiteralParseIsHCLs); for anything else
// (any other expression, an escape, a heredoc, a block comment, a byte
// outside ASCII, a carriage return, a one-line block, anything hcl would
// report) it returns nil and the caller parses src with hclsyntax, whose
// diagnostics are then hcl's own.
//
// It reads src once, byte by byte, where hclsyntax first lexes it into a
// slice of tokens of 96 bytes each, grown by appending: on the load
// benchmark's 2 MB lvsd.hcl that lexer and its garbage were more than
// half of the load (BenchmarkLoadBigHCL).
func parseLiteral(src []byte, file string, start hcl2.Pos) *hclsyntax.Body {
	p := literalParser{src: src, file: file, line: start.Line, col: start.Column, base: start.Byte}
	body, _, ok := p.body(nil)
	if !ok {
		return nil
	}
	return body
}

// literalParser is parseLiteral's state: where it is in src (i, and the
// line and column of src[i]), and slabs the nodes are cut from, so a
// file's thousands of nodes cost a few allocations.
type literalParser struct {
	src       []byte
	file      string
	base      int // the file's byte offset of src[0]
	i         int
	line, col int

	numbers  map[string]cty.Value // each number literal's value, parsed once
	names    map[string]string    // each identifier, made once
	labels   []string
	lranges  []hcl2.Range
	attrs    []hclsyntax.Attribute
	blocks   []hclsyntax.Block
	bodies   []hclsyntax.Body
	literals []hclsyntax.LiteralValueExpr
	temps    []hclsyntax.TemplateExpr
	parts    []hclsyntax.Expression
}

// slabSize is how many nodes of a kind one allocation makes room for.
const slabSize = 128

// pos is the position of src[i].
func (p *literalParser) pos() hcl2.Pos {
	return hcl2.Pos{Line: p.line, Column: p.col, Byte: p.base + p.i}
}

// rangeTo is the range from start to the position of src[i].
func (p *literalParser) rangeTo(start hcl2.Pos) hcl2.Range {
	return hcl2.Range{Filename: p.file, Start: start, End: p.pos()}
}

// advance moves over n bytes of one line.
func (p *literalParser) advance(n int) {
	p.i += n
	p.col += n
}

// newline moves over the '\n' at src[i].
func (p *literalParser) newline() {
	p.i++
	p.line++
	p.col = 1
}

func (p *literalParser) peek(off int) byte {
	if p.i+off < len(p.src) {
		return p.src[p.i+off]
	}
	return 0
}

// spaces moves over spaces and tabs, which hcl's lexer drops.
func (p *literalParser) spaces() {
	for p.i < len(p.src) && (p.src[p.i] == ' ' || p.src[p.i] == '\t') {
		p.advance(1)
	}
}

// lineComment, at a # or //, moves over the comment and the '\n' that
// ends it and returns its range (which hcl gives the newline the comment
// stands for); ok is false when src[i] starts no line comment, or the
// comment ends without a newline, holds a carriage return or is not
// UTF-8 (hcl's ranges count grapheme clusters, and a broken sequence
// can take the newline into one: FuzzLiteralParseIsHCLs found "#\xec0\n").
func (p *literalParser) lineComment() (hcl2.Range, bool) {
	if c := p.peek(0); c != '#' && (c != '/' || p.peek(1) != '/') {
		return hcl2.Range{}, false
	}
	start := p.pos()
	ascii := true
	for j := p.i; j < len(p.src); j++ {
		switch c := p.src[j]; {
		case c == '\r':
			return hcl2.Range{}, false
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '\n':
			if !ascii && !utf8.Valid(p.src[p.i:j]) {
				return hcl2.Range{}, false
			}
			p.i = j
			p.newline()
			return p.rangeTo(start), true
		}
	}
	return hcl2.Range{}, false
}

// lineEnd moves over what may end an attribute or a block: a newline or a
// line comment. atEOF says src ended there instead; ok is false for
// anything else.
func (p *literalParser) lineEnd() (atEOF, ok bool) {
	p.spaces()
	switch {
	case p.i == len(p.src):
		return true, true
	case p.src[p.i] == '\n':
		p.newline()
		return false, true
	}
	_, ok = p.lineComment()
	return false, ok
}

// body parses items up to the end of src (open is nil) or up to the "}"
// closing the block whose "{" is at open, which it moves over; end is the
// range of that "}", or of the end of src.
func (p *literalParser) body(open *hcl2.Range) (body *hclsyntax.Body, end hcl2.Range, ok bool) {
	var startRange, endRange hcl2.Range
	if open != nil {
		startRange = *open
	} else {
		// hcl's file body starts at its first token: a newline (or the
		// line comment standing for one), else whatever comes first.
		i, line, col := p.i, p.line, p.col
		p.spaces()
		start := p.pos()
		switch {
		case p.i == len(p.src):
			startRange = p.rangeTo(start)
		case p.src[p.i] == '\n':
			p.newline()
			startRange = p.rangeTo(start)
		default:
			if r, ok := p.lineComment(); ok {
				startRange = r
			} else {
				startRange = hcl2.Range{Filename: p.file, Start: start, End: hcl2.Pos{Line: start.Line, Column: start.Column + identLen(p.src[p.i:]), Byte: start.Byte + identLen(p.src[p.i:])}}
			}
		}
		p.i, p.line, p.col = i, line, col
	}
	body = p.newBody()
	body.Attributes = hclsyntax.Attributes{}
	body.Blocks = hclsyntax.Blocks{}
	for {
		p.spaces()
		if p.i == len(p.src) {
			if open != nil {
				return nil, end, false // unclosed
			}
			endRange = p.rangeTo(p.pos())
			break
		}
		c := p.src[p.i]
		if c == '\n' {
			p.newline()
			continue
		}
		if c == '}' {
			if open == nil {
				return nil, end, false
			}
			start := p.pos()
			p.advance(1)
			endRange = p.rangeTo(start)
			break
		}
		if _, ok := p.lineComment(); ok {
			continue
		}
		if !isNameStart(c) {
			return nil, end, false
		}
		if !p.item(body) {
			return nil, end, false
		}
	}
	body.SrcRange = hcl2.RangeBetween(startRange, endRange)
	body.EndRange = hcl2.Range{Filename: endRange.Filename, Start: endRange.End, End: endRange.End}
	return body, endRange, true
}

// identLen is the length of the identifier src starts with (ASCII only).
func identLen(src []byte) int {
	n := 0
	for n < len(src) && (isNameStart(src[n]) || n > 0 && (src[n] >= '0' && src[n] <= '9' || src[n] == '-')) {
		n++
	}
	return n
}

// ident moves over the identifier at src[i] and returns it with its range.
// A file names few attributes and block types thousands of times: each
// name is made once.
func (p *literalParser) ident() (string, hcl2.Range) {
	start := p.pos()
	n := identLen(p.src[p.i:])
	name, ok := p.names[string(p.src[p.i:p.i+n])]
	if !ok {
		name = string(p.src[p.i : p.i+n])
		if p.names == nil {
			p.names = map[string]string{}
		}
		p.names[name] = name
	}
	p.advance(n)
	return name, p.rangeTo(start)
}

// item parses an attribute or a block into body.
func (p *literalParser) item(body *hclsyntax.Body) bool {
	name, nameRange := p.ident()
	p.spaces()
	if p.peek(0) == '=' && p.peek(1) != '=' && p.peek(1) != '>' {
		eqStart := p.pos()
		p.advance(1)
		eqRange := p.rangeTo(eqStart)
		p.spaces()
		expr, ok := p.term()
		if !ok {
			return false
		}
		if _, twice := body.Attributes[name]; twice {
			return false // "Attribute redefined"
		}
		if _, ok := p.lineEnd(); !ok {
			return false
		}
		a := p.newAttr()
		*a = hclsyntax.Attribute{Name: name, Expr: expr, SrcRange: hcl2.RangeBetween(nameRange, expr.Range()), NameRange: nameRange, EqualsRange: eqRange}
		body.Attributes[name] = a
		return true
	}
	b := p.newBlock()
	b.Type, b.TypeRange = name, nameRange
	for {
		p.spaces()
		switch c := p.peek(0); {
		case c == '"':
			s, r, ok := p.quoted()
			if !ok {
				return false
			}
			p.label(b, s, r)
			continue
		case isNameStart(c):
			s, r := p.ident()
			p.label(b, s, r)
			continue
		case c != '{':
			return false
		}
		break
	}
	braceStart := p.pos()
	p.advance(1)
	b.OpenBraceRange = p.rangeTo(braceStart)
	// hcl reads a block body on the brace's line as a one-line block,
	// which this parser leaves to it.
	p.spaces()
	if c := p.peek(0); c != '\n' && c != '}' && c != '#' && (c != '/' || p.peek(1) != '/') {
		return false
	}
	inner, closeRange, ok := p.body(&b.OpenBraceRange)
	if !ok {
		return false
	}
	b.Body, b.CloseBraceRange = inner, closeRange
	if _, ok := p.lineEnd(); !ok {
		return false
	}
	body.Blocks = append(body.Blocks, b)
	return true
}

// label adds a label to b. A block's first label is cut from a slab, with
// a capacity of one (most blocks have one label; a second is appended).
func (p *literalParser) label(b *hclsyntax.Block, s string, r hcl2.Range) {
	if len(b.Labels) > 0 {
		b.Labels = append(b.Labels, s)
		b.LabelRanges = append(b.LabelRanges, r)
		return
	}
	if len(p.labels) == cap(p.labels) {
		p.labels = make([]string, 0, slabSize)
		p.lranges = make([]hcl2.Range, 0, slabSize)
	}
	p.labels = append(p.labels, s)
	p.lranges = append(p.lranges, r)
	n := len(p.labels)
	b.Labels, b.LabelRanges = p.labels[n-1:n:n], p.lranges[n-1:n:n]
}

// quoted moves over a quoted string of plain characters: printable ASCII
// but for \, $ and % (escapes and template sequences are hcl's). It
// returns the string and the range from quote to quote.
func (p *literalParser) quoted() (string, hcl2.Range, bool) {
	start := p.pos()
	j := p.i + 1
	for j < len(p.src) && p.src[j] != '"' {
		if c := p.src[j]; c < ' ' || c > '~' || c == '\\' || c == '$' || c == '%' {
			return "", hcl2.Range{}, false
		}
		j++
	}
	if j == len(p.src) {
		return "", hcl2.Range{}, false
	}
	s := string(p.src[p.i+1 : j])
	p.advance(j + 1 - p.i)
	return s, p.rangeTo(start), true
}

// term parses a literal or a tuple of them: the whole expression, since
// what may follow it (an operator, an index, a call) sends the src to hcl.
func (p *literalParser) term() (hclsyntax.Expression, bool) {
	start := p.pos()
	switch c := p.peek(0); {
	case c == '"':
		s, r, ok := p.quoted()
		if !ok {
			return nil, false
		}
		t := p.newTemplate()
		t.SrcRange = r
		// The one literal part, between the quotes; hcl places an empty
		// string's part after its closing quote.
		lit := p.newLiteral()
		lit.Val = cty.StringVal(s)
		lit.SrcRange = hcl2.Range{Filename: p.file, Start: r.End, End: r.End}
		if s != "" {
			lit.SrcRange.Start = r.Start
			lit.SrcRange.Start.Column++
			lit.SrcRange.Start.Byte++
			lit.SrcRange.End.Column--
			lit.SrcRange.End.Byte--
		}
		t.Parts = p.newParts(lit)
		return t, true
	case c >= '0' && c <= '9':
		n := 0
		for c := p.peek(n); c >= '0' && c <= '9'; c = p.peek(n) {
			n++
		}
		if p.peek(n) == '.' && p.peek(n+1) >= '0' && p.peek(n+1) <= '9' {
			n++
			for c := p.peek(n); c >= '0' && c <= '9'; c = p.peek(n) {
				n++
			}
		}
		if c := p.peek(n); c == '.' || c == 'e' || c == 'E' {
			return nil, false // hcl's number token goes on
		}
		text := string(p.src[p.i : p.i+n])
		v, ok := p.numbers[text]
		if !ok {
			var err error
			if v, err = cty.ParseNumberVal(text); err != nil {
				return nil, false
			}
			if p.numbers == nil {
				p.numbers = map[string]cty.Value{}
			}
			p.numbers[text] = v
		}
		p.advance(n)
		lit := p.newLiteral()
		lit.Val, lit.SrcRange = v, p.rangeTo(start)
		return lit, true
	case isNameStart(c):
		var v cty.Value
		name, r := p.ident()
		switch name {
		case "true":
			v = cty.True
		case "false":
			v = cty.False
		case "null":
			v = cty.NullVal(cty.DynamicPseudoType)
		default:
			return nil, false // a variable, a function call
		}
		if p.peek(0) == '(' || p.peek(0) == ':' {
			return nil, false
		}
		lit := p.newLiteral()
		lit.Val, lit.SrcRange = v, p.rangeTo(r.Start)
		return lit, true
	case c == '[':
		return p.tuple()
	}
	return nil, false
}

// tuple parses "[" literals separated by commas "]", across lines; a
// comma may follow the last.
func (p *literalParser) tuple() (hclsyntax.Expression, bool) {
	openStart := p.pos()
	p.advance(1)
	t := &hclsyntax.TupleConsExpr{OpenRange: p.rangeTo(openStart)}
	for {
		if !p.blank() {
			return nil, false
		}
		if p.peek(0) == ']' {
			break
		}
		e, ok := p.term()
		if !ok {
			return nil, false
		}
		t.Exprs = append(t.Exprs, e)
		if !p.blank() {
			return nil, false
		}
		if p.peek(0) == ']' {
			break
		}
		if p.peek(0) != ',' {
			return nil, false
		}
		p.advance(1)
	}
	closeStart := p.pos()
	p.advance(1)
	t.SrcRange = hcl2.Range{Filename: p.file, Start: t.OpenRange.Start, End: p.rangeTo(closeStart).End}
	return t, true
}

// blank moves over spaces, newlines and line comments, which hcl ignores
// inside brackets; it is false at the end of src.
func (p *literalParser) blank() bool {
	for p.i < len(p.src) {
		switch c := p.src[p.i]; {
		case c == ' ' || c == '\t':
			p.advance(1)
		case c == '\n':
			p.newline()
		case c == '#' || c == '/':
			if _, ok := p.lineComment(); !ok {
				return false
			}
		default:
			return true
		}
	}
	return false
}

func (p *literalParser) newAttr() *hclsyntax.Attribute {
	if len(p.attrs) == cap(p.attrs) {
		p.attrs = make([]hclsyntax.Attribute, 0, slabSize)
	}
	p.attrs = p.attrs[:len(p.attrs)+1]
	return &p.attrs[len(p.attrs)-1]
}

func (p *literalParser) newBlock() *hclsyntax.Block {
	if len(p.blocks) == cap(p.blocks) {
		p.blocks = make([]hclsyntax.Block, 0, slabSize)
	}
	p.blocks = p.blocks[:len(p.blocks)+1]
	return &p.blocks[len(p.blocks)-1]
}

func (p *literalParser) newBody() *hclsyntax.Body {
	if len(p.bodies) == cap(p.bodies) {
		p.bodies = make([]hclsyntax.Body, 0, slabSize)
	}
	p.bodies = p.bodies[:len(p.bodies)+1]
	return &p.bodies[len(p.bodies)-1]
}

func (p *literalParser) newLiteral() *hclsyntax.LiteralValueExpr {
	if len(p.literals) == cap(p.literals) {
		p.literals = make([]hclsyntax.LiteralValueExpr, 0, slabSize)
	}
	p.literals = p.literals[:len(p.literals)+1]
	return &p.literals[len(p.literals)-1]
}

func (p *literalParser) newTemplate() *hclsyntax.TemplateExpr {
	if len(p.temps) == cap(p.temps) {
		p.temps = make([]hclsyntax.TemplateExpr, 0, slabSize)
	}
	p.temps = p.temps[:len(p.temps)+1]
	return &p.temps[len(p.temps)-1]
}

// newParts is a template's one part, cut from a slab with a capacity of
// one, so that an append to it never reaches the next template's.
func (p *literalParser) newParts(e hclsyntax.Expression) []hclsyntax.Expression {
	if len(p.parts) == cap(p.parts) {
		p.parts = make([]hclsyntax.Expression, 0, slabSize)
	}
	p.parts = append(p.parts, e)
	return p.parts[len(p.parts)-1 : len(p.parts) : len(p.parts)]
}
