package hcl

import (
	"math"
	"unicode/utf8"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// readLiteral reads src, which starts at start in file, as HCL's native
// syntax when it holds only what `lvsd convert` and most hand-written
// files hold: blocks with quoted or bare labels, and attributes whose
// values are literals (a quoted string without escapes or template
// sequences, a decimal number, true, false, null) or tuples of them,
// with # and // comments, all in ASCII. For such a src it returns the
// file's body as a litBody, which the decoder reads directly and whose
// syntax is, node for node and range for range, the body
// hclsyntax.ParseConfig returns (TestLiteralParseIsHCLs,
// FuzzLiteralParseIsHCLs); for anything else (any other expression, an
// escape, a heredoc, a block comment, a byte outside ASCII, a carriage
// return, a one-line block, anything hcl would report) it returns nil and
// the caller parses src with hclsyntax, whose diagnostics are then hcl's
// own.
//
// It reads src once, byte by byte, where hclsyntax first lexes it into a
// slice of tokens of 96 bytes each, grown by appending, then builds nodes
// of a few hundred bytes per attribute: on the load benchmark's 2 MB
// lvsd.hcl the lexer and its garbage were more than half of the load, and
// the nodes most of what was left (BenchmarkLoadBigHCL).
func readLiteral(src []byte, file string, start hcl2.Pos) *litBody {
	if start.Byte+len(src) >= math.MaxInt32 {
		return nil // beyond a litPos
	}
	p := literalParser{src: src, file: file, line: start.Line, col: start.Column, base: start.Byte}
	body, _, ok := p.body(nil)
	if !ok {
		return nil
	}
	return body
}

// litBody is a body readLiteral read: its attributes in the file's order,
// its blocks (each hcl.Block's Body a *litBody), and the ranges hcl gives
// the body. It is an hcl.Body: what the decoder does not read directly
// (decode.go openBlock) goes through hcl's own body, made of it on first
// need (syntax).
type litBody struct {
	file   string
	attrs  []litAttr
	blocks []*hcl2.Block
	// open and close are where a block's "{" and "}" are (a block's
	// body; the file's has none).
	open, close litPos
	srcRange    hcl2.Range
	endRange    hcl2.Range
	syn         *hclsyntax.Body
}

// litAttr is an attribute: "name = expr", where the name and "=" start
// (each on one line).
type litAttr struct {
	name     string
	nameAt   litPos
	equalsAt litPos
	expr     litExpr
}

// litPos is a position in the file (hcl.Pos, smaller: a body's thousands
// of attributes hold four each).
type litPos struct{ line, col, byte int32 }

func (p litPos) pos() hcl2.Pos {
	return hcl2.Pos{Line: int(p.line), Column: int(p.col), Byte: int(p.byte)}
}

// span is the range from p over n bytes of its line.
func (p litPos) span(file string, n int) hcl2.Range {
	end := p.pos()
	end.Column += n
	end.Byte += n
	return hcl2.Range{Filename: file, Start: p.pos(), End: end}
}

func (a *litAttr) nameRange(file string) hcl2.Range   { return a.nameAt.span(file, len(a.name)) }
func (a *litAttr) equalsRange(file string) hcl2.Range { return a.equalsAt.span(file, 1) }

// litKind is what a literal is.
type litKind uint8

const (
	litString litKind = iota
	litNumber
	litTrue
	litFalse
	litNull
	litTuple
)

// litExpr is a literal or a tuple of them.
type litExpr struct {
	kind       litKind
	text       string    // a string's characters (ASCII), a number's as written
	start, end litPos    // the whole literal: a string's quotes, a tuple's brackets
	elems      []litExpr // a tuple's
}

// rng is the literal's range, a string's quotes or a tuple's brackets
// included.
func (e *litExpr) rng(file string) hcl2.Range {
	return hcl2.Range{Filename: file, Start: e.start.pos(), End: e.end.pos()}
}

// attr is the attribute name, or nil.
func (b *litBody) attr(name string) *litAttr {
	for i := range b.attrs {
		if b.attrs[i].name == name {
			return &b.attrs[i]
		}
	}
	return nil
}

func (b *litBody) Content(schema *hcl2.BodySchema) (*hcl2.BodyContent, hcl2.Diagnostics) {
	return b.syntax().Content(schema)
}

func (b *litBody) PartialContent(schema *hcl2.BodySchema) (*hcl2.BodyContent, hcl2.Body, hcl2.Diagnostics) {
	return b.syntax().PartialContent(schema)
}

func (b *litBody) JustAttributes() (hcl2.Attributes, hcl2.Diagnostics) {
	return b.syntax().JustAttributes()
}

// MissingItemRange is hclsyntax's: where the body starts.
func (b *litBody) MissingItemRange() hcl2.Range {
	return hcl2.Range{Filename: b.srcRange.Filename, Start: b.srcRange.Start, End: b.srcRange.Start}
}

// syntax is the body hclsyntax.ParseConfig makes of the same text, made
// once.
func (b *litBody) syntax() *hclsyntax.Body {
	if b.syn != nil {
		return b.syn
	}
	syn := &hclsyntax.Body{Attributes: make(hclsyntax.Attributes, len(b.attrs)), Blocks: make(hclsyntax.Blocks, 0, len(b.blocks)), SrcRange: b.srcRange, EndRange: b.endRange}
	for i := range b.attrs {
		a := &b.attrs[i]
		syn.Attributes[a.name] = a.syntax(b.file)
	}
	for _, hb := range b.blocks {
		inner := hb.Body.(*litBody)
		syn.Blocks = append(syn.Blocks, &hclsyntax.Block{Type: hb.Type, Labels: hb.Labels, Body: inner.syntax(),
			TypeRange: hb.TypeRange, LabelRanges: hb.LabelRanges, OpenBraceRange: inner.open.span(b.file, 1), CloseBraceRange: inner.close.span(b.file, 1)})
	}
	b.syn = syn
	return syn
}

// syntax is hclsyntax's attribute of the same text.
func (a *litAttr) syntax(file string) *hclsyntax.Attribute {
	return &hclsyntax.Attribute{Name: a.name, Expr: a.expr.syntax(file), SrcRange: hcl2.RangeBetween(a.nameRange(file), a.expr.rng(file)),
		NameRange: a.nameRange(file), EqualsRange: a.equalsRange(file)}
}

// hcl is the attribute as hcl.Attribute (hclsyntax's AsHCLAttribute).
func (a *litAttr) hcl(file string) *hcl2.Attribute {
	return &hcl2.Attribute{Name: a.name, Expr: a.expr.syntax(file), Range: hcl2.RangeBetween(a.nameRange(file), a.expr.rng(file)), NameRange: a.nameRange(file)}
}

// syntax is hclsyntax's expression of the same text.
func (e *litExpr) syntax(file string) hclsyntax.Expression {
	rng := e.rng(file)
	switch e.kind {
	case litString:
		// One literal part, between the quotes; hcl places an empty
		// string's part after its closing quote.
		part := &hclsyntax.LiteralValueExpr{Val: cty.StringVal(e.text), SrcRange: hcl2.Range{Filename: file, Start: rng.End, End: rng.End}}
		if e.text != "" {
			part.SrcRange.Start, part.SrcRange.End = rng.Start, rng.End
			part.SrcRange.Start.Column++
			part.SrcRange.Start.Byte++
			part.SrcRange.End.Column--
			part.SrcRange.End.Byte--
		}
		return &hclsyntax.TemplateExpr{Parts: []hclsyntax.Expression{part}, SrcRange: rng}
	case litTuple:
		t := &hclsyntax.TupleConsExpr{SrcRange: rng, OpenRange: e.start.span(file, 1)}
		for i := range e.elems {
			t.Exprs = append(t.Exprs, e.elems[i].syntax(file))
		}
		return t
	}
	return &hclsyntax.LiteralValueExpr{Val: e.value(), SrcRange: rng}
}

// value is what hcl evaluates the literal to.
func (e *litExpr) value() cty.Value {
	switch e.kind {
	case litString:
		return cty.StringVal(e.text)
	case litNumber:
		return cty.MustParseNumberVal(e.text) // the parser read [0-9]+(.[0-9]+)?
	case litTrue:
		return cty.True
	case litFalse:
		return cty.False
	case litNull:
		return cty.NullVal(cty.DynamicPseudoType)
	}
	vals := make([]cty.Value, len(e.elems))
	for i := range e.elems {
		vals[i] = e.elems[i].value()
	}
	return cty.TupleVal(vals)
}

// literalParser is readLiteral's state: where it is in src (i, and the
// line and column of src[i]), and slabs the nodes are cut from, so a
// file's thousands of nodes cost a few allocations.
type literalParser struct {
	src       []byte
	file      string
	base      int // the file's byte offset of src[0]
	i         int
	line, col int

	names   map[string]string // each identifier and number, made once
	labels  []string
	lranges []hcl2.Range
	bodies  []litBody
	blocks  []hcl2.Block
	// attrs is the room the parser reads a body's attributes into, a
	// block's inside its parent's; each body's are then copied to a slab
	// of their own (attrSlab), as many as it has.
	attrs    []litAttr
	attrSlab []litAttr
	// blockStack and blockSlab are the same for blocks.
	blockStack []*hcl2.Block
	blockSlab  []*hcl2.Block
}

// slabSize is how many nodes of a kind one allocation makes room for.
const slabSize = 128

// lpos is the position of src[i], as a litPos.
func (p *literalParser) lpos() litPos {
	return litPos{line: int32(p.line), col: int32(p.col), byte: int32(p.base + p.i)}
}

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
func (p *literalParser) body(open *hcl2.Range) (body *litBody, end hcl2.Range, ok bool) {
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
	body.file = p.file
	firstAttr, firstBlock := len(p.attrs), len(p.blockStack)
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
		if !p.item(body, firstAttr) {
			return nil, end, false
		}
	}
	body.attrs = p.keepAttrs(p.attrs[firstAttr:])
	p.attrs = p.attrs[:firstAttr]
	body.blocks = p.keepBlocks(p.blockStack[firstBlock:])
	p.blockStack = p.blockStack[:firstBlock]
	body.srcRange = hcl2.RangeBetween(startRange, endRange)
	body.endRange = hcl2.Range{Filename: endRange.Filename, Start: endRange.End, End: endRange.End}
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
func (p *literalParser) ident() (string, hcl2.Range) {
	start := p.pos()
	name := p.word(identLen(p.src[p.i:]))
	return name, p.rangeTo(start)
}

// item parses an attribute (into p.attrs, after the body's first at
// firstAttr) or a block (into body).
func (p *literalParser) item(body *litBody, firstAttr int) bool {
	nameAt := p.lpos()
	name, nameRange := p.ident()
	p.spaces()
	if p.peek(0) == '=' && p.peek(1) != '=' && p.peek(1) != '>' {
		equalsAt := p.lpos()
		p.advance(1)
		p.spaces()
		expr, ok := p.term()
		if !ok {
			return false
		}
		for i := firstAttr; i < len(p.attrs); i++ {
			if p.attrs[i].name == name {
				return false // "Attribute redefined"
			}
		}
		if _, ok := p.lineEnd(); !ok {
			return false
		}
		p.attrs = append(p.attrs, litAttr{name: name, nameAt: nameAt, equalsAt: equalsAt, expr: expr})
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
	openAt, braceStart := p.lpos(), p.pos()
	p.advance(1)
	openRange := p.rangeTo(braceStart)
	// hcl reads a block body on the brace's line as a one-line block,
	// which this parser leaves to it.
	p.spaces()
	if c := p.peek(0); c != '\n' && c != '}' && c != '#' && (c != '/' || p.peek(1) != '/') {
		return false
	}
	inner, closeRange, ok := p.body(&openRange)
	if !ok {
		return false
	}
	inner.open = openAt
	inner.close = litPos{line: int32(closeRange.Start.Line), col: int32(closeRange.Start.Column), byte: int32(closeRange.Start.Byte)}
	b.Body = inner
	// hclsyntax's Block.DefRange: from the type to the last label.
	last := b.TypeRange
	if len(b.LabelRanges) > 0 {
		last = b.LabelRanges[len(b.LabelRanges)-1]
	}
	b.DefRange = hcl2.RangeBetween(b.TypeRange, last)
	if _, ok := p.lineEnd(); !ok {
		return false
	}
	p.blockStack = append(p.blockStack, b)
	return true
}

// label adds a label to b. A block's first label is cut from a slab, with
// a capacity of one (most blocks have one label; a second is appended).
func (p *literalParser) label(b *hcl2.Block, s string, r hcl2.Range) {
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
func (p *literalParser) term() (litExpr, bool) {
	start := p.lpos()
	switch c := p.peek(0); {
	case c == '"':
		s, _, ok := p.quoted()
		return litExpr{kind: litString, text: s, start: start, end: p.lpos()}, ok
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
			return litExpr{}, false // hcl's number token goes on
		}
		text := p.word(n)
		return litExpr{kind: litNumber, text: text, start: start, end: p.lpos()}, true
	case isNameStart(c):
		var kind litKind
		switch name, _ := p.ident(); name {
		case "true":
			kind = litTrue
		case "false":
			kind = litFalse
		case "null":
			kind = litNull
		default:
			return litExpr{}, false // a variable, a function call
		}
		if p.peek(0) == '(' || p.peek(0) == ':' {
			return litExpr{}, false
		}
		return litExpr{kind: kind, start: start, end: p.lpos()}, true
	case c == '[':
		return p.tuple()
	}
	return litExpr{}, false
}

// word moves over the n bytes at src[i] of one line and returns them. A
// file names few attributes and block types thousands of times, and
// writes few numbers: each is made once.
func (p *literalParser) word(n int) string {
	w, ok := p.names[string(p.src[p.i:p.i+n])]
	if !ok {
		w = string(p.src[p.i : p.i+n])
		if p.names == nil {
			p.names = map[string]string{}
		}
		p.names[w] = w
	}
	p.advance(n)
	return w
}

// tuple parses "[" literals separated by commas "]", across lines; a
// comma may follow the last.
func (p *literalParser) tuple() (litExpr, bool) {
	t := litExpr{kind: litTuple, start: p.lpos()}
	p.advance(1)
	for {
		if !p.blank() {
			return litExpr{}, false
		}
		if p.peek(0) == ']' {
			break
		}
		e, ok := p.term()
		if !ok {
			return litExpr{}, false
		}
		t.elems = append(t.elems, e)
		if !p.blank() {
			return litExpr{}, false
		}
		if p.peek(0) == ']' {
			break
		}
		if p.peek(0) != ',' {
			return litExpr{}, false
		}
		p.advance(1)
	}
	p.advance(1)
	t.end = p.lpos()
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

func (p *literalParser) newBody() *litBody {
	if len(p.bodies) == cap(p.bodies) {
		p.bodies = make([]litBody, 0, slabSize)
	}
	p.bodies = p.bodies[:len(p.bodies)+1]
	return &p.bodies[len(p.bodies)-1]
}

func (p *literalParser) newBlock() *hcl2.Block {
	if len(p.blocks) == cap(p.blocks) {
		p.blocks = make([]hcl2.Block, 0, slabSize)
	}
	p.blocks = p.blocks[:len(p.blocks)+1]
	return &p.blocks[len(p.blocks)-1]
}

// keepBlocks copies a body's blocks to a slab, with a capacity of their
// number; nil for none.
func (p *literalParser) keepBlocks(blocks []*hcl2.Block) []*hcl2.Block {
	if len(blocks) == 0 {
		return nil
	}
	if cap(p.blockSlab)-len(p.blockSlab) < len(blocks) {
		p.blockSlab = make([]*hcl2.Block, 0, max(4*slabSize, len(blocks)))
	}
	n := len(p.blockSlab)
	p.blockSlab = append(p.blockSlab, blocks...)
	return p.blockSlab[n : n+len(blocks) : n+len(blocks)]
}

// keepAttrs copies a body's attributes to a slab, with a capacity of
// their number; nil for none.
func (p *literalParser) keepAttrs(attrs []litAttr) []litAttr {
	if len(attrs) == 0 {
		return nil
	}
	if cap(p.attrSlab)-len(p.attrSlab) < len(attrs) {
		p.attrSlab = make([]litAttr, 0, max(4*slabSize, len(attrs)))
	}
	n := len(p.attrSlab)
	p.attrSlab = append(p.attrSlab, attrs...)
	return p.attrSlab[n : n+len(attrs) : n+len(attrs)]
}
