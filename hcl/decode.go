package hcl

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// maxIncludeDepth bounds include nesting; cycles are caught before it.
const maxIncludeDepth = 16

// decoder turns HCL bodies into a Config. It collects diagnostics rather
// than stopping at the first, so one run of `lvsd check` reports them all.
type decoder struct {
	positions positionSlab // every block's Positions
	loader    *Loader
	parser    *hclparse.Parser
	ctx       *hcl2.EvalContext
	cfg       *Config
	diags     Diagnostics
	open      map[string]bool // files being decoded, for include cycles
	schemas   map[*hcl2.BodySchema]*schemaIndex
}

func (l *Loader) parseHCL(path string, src []byte) (*Config, Diagnostics) {
	d := &decoder{
		loader: l,
		parser: hclparse.NewParser(),
		cfg:    &Config{Global: defaultGlobal()},
		open:   map[string]bool{},
	}
	d.ctx = &hcl2.EvalContext{Functions: functions(l)}
	d.file(path, src, 0)
	d.expandGroups()
	ownCheckers(d.cfg)
	return d.cfg, d.diags
}

// file parses and decodes one file, following its includes.
func (d *decoder) file(path string, src []byte, depth int) {
	d.cfg.Files = append(d.cfg.Files, path)
	var f *hcl2.File
	var diags hcl2.Diagnostics
	switch Format(path) {
	case "hcl":
		f, diags = d.parseNative(path, src)
	case "hcl-json":
		f, diags = d.parser.ParseJSON(src, path)
	default:
		d.diags.errorf(Pos{File: path, Line: 1, Column: 1}, "unsupported include", "an HCL file can include only *.hcl and *.hcl.json files")
		return
	}
	d.addHCL(diags)
	if f == nil || diags.HasErrors() {
		return
	}
	d.open[path] = true
	defer delete(d.open, path)
	content, diags := bodyContent(f.Body, topSchema)
	d.addHCL(diags)
	if content == nil {
		return
	}
	if attr, ok := content.Attributes["include"]; ok {
		d.includes(path, attr, depth)
	}
	d.staticNet(content.Attributes) // vrrp_net_decode.go
	services := 0
	for _, b := range content.Blocks {
		if b.Type == "virtual_server" {
			services++
		}
	}
	// Room for the file's virtual servers at once (BenchmarkLoadBigHCL).
	d.cfg.VirtualServers = slices.Grow(d.cfg.VirtualServers, services)
	ahead, next := d.servicesAhead(content.Blocks), 0 // decode_runs.go
	for _, b := range content.Blocks {
		switch b.Type {
		case "global":
			d.global(b)
		case "vrrp_script":
			d.script(b)
		case "vrrp_instance":
			d.instance(b)
		case "vrrp_sync_group":
			d.syncGroup(b)
		case "virtual_server":
			if ahead == nil {
				d.virtualServer(b)
				break
			}
			d.cfg.VirtualServers = append(d.cfg.VirtualServers, ahead[next].vs)
			d.diags = append(d.diags, ahead[next].diags...)
			next++
		case "virtual_server_group":
			d.group(b)
		case "track_file":
			d.trackFile(b)
		case "vrrp_track_process":
			d.trackProcess(b) // tracking_decode.go
		case "announce":
			d.announce(b) // announce.go
		case "SSL":
			d.sslBlock(d.openBlock(b, sslClientSchema)) // ssl.go
		case "local_address_group":
			d.localAddressGroup(b) // fullnat.go
		}
	}
}

func (d *decoder) includes(from string, attr *hcl2.Attribute, depth int) {
	pos := posOf(attr.Range)
	patterns, ok := d.stringList(attr)
	if !ok {
		return
	}
	if depth >= maxIncludeDepth {
		d.diags.errorf(pos, "includes nested too deeply", "more than %d levels of include", maxIncludeDepth)
		return
	}
	for _, pattern := range patterns {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(from), pattern)
		}
		matches, err := d.loader.glob(pattern)
		if err != nil {
			d.diags.errorf(pos, "bad include pattern", "%q: %v", pattern, err)
			continue
		}
		if len(matches) == 0 {
			if strings.ContainsAny(pattern, "*?[") {
				d.diags.warnf(pos, "include matched no file", "%q", pattern)
			} else {
				d.diags.errorf(pos, "included file not found", "%q", pattern)
			}
			continue
		}
		sort.Strings(matches)
		for _, m := range matches {
			if d.open[m] {
				d.diags.errorf(pos, "include cycle", "%q includes itself", m)
				continue
			}
			src, err := d.loader.readFile(m)
			if err != nil {
				d.diags.errorf(pos, "cannot read included file", "%v", err)
				continue
			}
			d.file(m, src, depth+1)
		}
	}
}

// addHCL converts HCL's own diagnostics (syntax errors, unsupported
// arguments with their "Did you mean" suggestion) into ours.
func (d *decoder) addHCL(diags hcl2.Diagnostics) {
	for _, hd := range diags {
		sev := Error
		if hd.Severity == hcl2.DiagWarning {
			sev = Warning
		}
		var pos Pos
		if hd.Subject != nil {
			pos = posOf(*hd.Subject)
		}
		d.diags = append(d.diags, Diagnostic{Severity: sev, Pos: pos, Summary: hd.Summary, Detail: hd.Detail})
	}
}

func posOf(r hcl2.Range) Pos {
	return Pos{File: r.Filename, Line: r.Start.Line, Column: r.Start.Column}
}

// parseNative is hclparse's ParseHCL (same cache of parsed files, same
// result) for a big file, parsed in pieces of about pieceSize bytes cut
// where a top-level block ends: a line "}" followed by a line that starts
// with a name. hclsyntax lexes a whole file into one slice of tokens
// (about 100 bytes each) before parsing it, grown by appending and live
// until the parse ends: for the load benchmark's 2 MB lvsd.hcl that was
// 180 MB allocated and a 40 MB slice that every garbage collection of the
// parse scanned. In pieces the tokens are a few hundred kB at a time, and
// the pieces are parsed on up to one goroutine per processor (Workers,
// as a big keepalived.conf is read: keepalived_parts.go).
//
// A cut inside a heredoc, a comment or a block leaves its piece unclosed,
// and that piece reports an error; any error, or an attribute written in
// two pieces, parses the file whole again, so diagnostics are hcl's own
// for the whole file. Each piece starts at its own line, column and byte,
// so every range is the file's.
func (d *decoder) parseNative(path string, src []byte) (*hcl2.File, hcl2.Diagnostics) {
	if f := d.parser.Files()[path]; f != nil {
		return f, nil
	}
	parts := d.loader.parts
	if parts == 0 {
		parts = Workers(len(src), 2*pieceSize)
	}
	literal := !d.loader.noLiteral
	if f := parseInPieces(path, src, parts, literal); f != nil {
		d.parser.Files()[path] = f
		return f, nil
	}
	if literal && len(src) < 2*pieceSize {
		// A small file is one piece (decode_literal.go).
		if body := readLiteral(src, path, hcl2.Pos{Line: 1, Column: 1}); body != nil {
			f := &hcl2.File{Body: body, Bytes: src}
			d.parser.Files()[path] = f
			return f, nil
		}
	}
	return d.parser.ParseHCL(src, path)
}

// pieceSize is how much of a file parseInPieces parses at once.
const pieceSize = 64 << 10

// piece is one piece of a file parsed by parseInPieces: where it starts
// in the file, and what readLiteral (lit), else hclsyntax (body), made of
// it.
type piece struct {
	start, end int
	pos        hcl2.Pos // the piece's first byte, as the file's
	lit        *litBody
	body       *hclsyntax.Body
	failed     bool // the piece had an error
}

// parseInPieces parses src in pieces on up to parts goroutines, or returns
// nil when src is small, cannot be cut, or any piece has an error. The
// pieces are cut first (pieceEnd reads little of each), parsed in any
// order, then joined in the file's order: the body is the one a parse of
// the pieces one after another would give.
func parseInPieces(path string, src []byte, parts int, literal bool) *hcl2.File {
	if len(src) < 2*pieceSize {
		return nil
	}
	var pieces []piece
	start := hcl2.Pos{Line: 1, Column: 1}
	for start.Byte < len(src) {
		end := pieceEnd(src, start.Byte)
		pieces = append(pieces, piece{start: start.Byte, end: end, pos: start})
		start = hcl2.Pos{Byte: end, Line: start.Line + bytes.Count(src[start.Byte:end], []byte("\n")), Column: 1}
	}
	parsePieces(path, src, pieces, parts, literal)
	if lit := joinLiteral(pieces); lit != nil {
		return &hcl2.File{Body: lit, Bytes: src}
	}
	body := &hclsyntax.Body{Attributes: hclsyntax.Attributes{}}
	for i := range pieces {
		p := &pieces[i]
		if p.lit != nil {
			p.body = p.lit.syntax()
		}
		if p.failed || p.body == nil {
			return nil // an error; a piece not parsed comes after one
		}
		for name, a := range p.body.Attributes {
			if _, twice := body.Attributes[name]; twice {
				return nil // "Attribute redefined" comes from the whole parse
			}
			body.Attributes[name] = a
		}
		body.Blocks = append(body.Blocks, p.body.Blocks...)
		if i == 0 {
			body.SrcRange = p.body.SrcRange
		}
		body.SrcRange.End, body.EndRange = p.body.SrcRange.End, p.body.EndRange
	}
	return &hcl2.File{Body: body, Bytes: src}
}

// joinLiteral joins pieces readLiteral read, all of them, into one body,
// or returns nil (then the pieces are joined as hclsyntax's bodies).
func joinLiteral(pieces []piece) *litBody {
	n := 0
	for i := range pieces {
		if pieces[i].lit == nil {
			return nil
		}
		n += len(pieces[i].lit.blocks)
	}
	body := &litBody{file: pieces[0].lit.file, blocks: make([]*hcl2.Block, 0, n)}
	for i := range pieces {
		p := pieces[i].lit
		for _, a := range p.attrs {
			if body.attr(a.name) != nil {
				return nil // "Attribute redefined" comes from the whole parse
			}
			body.attrs = append(body.attrs, a)
		}
		body.blocks = append(body.blocks, p.blocks...)
		if i == 0 {
			body.srcRange = p.srcRange
		}
		body.srcRange.End, body.endRange = p.srcRange.End, p.endRange
	}
	return body
}

// parsePieces parses every piece on up to parts goroutines, each taking
// the next piece not taken yet; once a piece has failed the others are
// not parsed (the file will be parsed whole).
func parsePieces(path string, src []byte, pieces []piece, parts int, literal bool) {
	var next atomic.Int64
	var failed atomic.Bool
	parse := func() {
		for !failed.Load() {
			i := int(next.Add(1) - 1)
			if i >= len(pieces) {
				return
			}
			p := &pieces[i]
			if literal {
				if p.lit = readLiteral(src[p.start:p.end], path, p.pos); p.lit != nil {
					continue // decode_literal.go
				}
			}
			f, diags := hclsyntax.ParseConfig(src[p.start:p.end], path, p.pos)
			if diags.HasErrors() {
				p.failed = true
				failed.Store(true)
				return
			}
			p.body = f.Body.(*hclsyntax.Body)
		}
	}
	var wg sync.WaitGroup
	for range min(parts, len(pieces)) - 1 {
		wg.Go(parse)
	}
	parse()
	wg.Wait()
}

// pieceEnd is where the piece starting at from ends: at least pieceSize
// bytes on, after a line "}" and before a line that starts a name; else
// the end of src.
func pieceEnd(src []byte, from int) int {
	i := from + pieceSize
	for i < len(src) {
		nl := bytes.IndexByte(src[i:], '\n')
		if nl < 0 {
			break
		}
		i += nl + 1 // i starts a line
		if i < len(src) && isNameStart(src[i]) && bytes.HasSuffix(bytes.TrimRight(src[from:i-1], " \t\r\n"), []byte("\n}")) {
			return i
		}
	}
	return len(src)
}

func isNameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// bodyContent is body.Content(schema), without Content's work for a
// native-syntax body the schema takes whole (schemaIndex.takesWhole): its
// attributes and blocks are taken as parsed. Anything else goes through
// Content, so every diagnostic is hcl's own, word for word.
func bodyContent(body hcl2.Body, schema *hcl2.BodySchema) (*hcl2.BodyContent, hcl2.Diagnostics) {
	if lb, ok := body.(*litBody); ok && newSchemaIndex(schema).takesLiteral(lb) {
		attrs := make(hcl2.Attributes, len(lb.attrs))
		for i := range lb.attrs {
			attrs[lb.attrs[i].name] = lb.attrs[i].hcl(lb.file)
		}
		return &hcl2.BodyContent{Attributes: attrs, Blocks: lb.blocks, MissingItemRange: lb.MissingItemRange()}, nil
	}
	sb, ok := body.(*hclsyntax.Body)
	if !ok || !newSchemaIndex(schema).takesWhole(sb) {
		return contentOf(body, schema)
	}
	attrs := make(hcl2.Attributes, len(sb.Attributes))
	for name, a := range sb.Attributes {
		attrs[name] = a.AsHCLAttribute()
	}
	blocks := make(hcl2.Blocks, 0, len(sb.Blocks))
	for _, b := range sb.Blocks {
		blocks = append(blocks, b.AsHCLBlock())
	}
	if len(blocks) == 0 {
		blocks = nil // as Content leaves it
	}
	return &hcl2.BodyContent{Attributes: attrs, Blocks: blocks, MissingItemRange: sb.MissingItemRange()}, nil
}

// block is one decoded block body: its attributes, with helpers that
// convert them and remember where each was written.
type block struct {
	d *decoder
	// attrs are the attributes hcl's Content found; native and syn are
	// set instead for a native body its schema takes whole, whose own
	// attributes are read (openBlock).
	attrs  hcl2.Attributes
	native bool
	syn    hclsyntax.Attributes
	lit    *litBody // a body readLiteral read, its schema taking it whole
	pos    Positions
	def    Pos
	inner  []*hcl2.Block
}

// openBlock opens b's body with schema. A native-syntax body the schema
// takes whole (schemaIndex.takesWhole), the common case, is read as
// parsed: Content would build a map, a copy of the body and an
// hcl.Attribute per attribute only to find nothing it rejects, a fifth of
// the HCL reader's allocations on the load benchmark's 34,000 blocks
// (BenchmarkLoadBigHCL). Anything else goes through Content, so every
// diagnostic is hcl's own, word for word.
func (d *decoder) openBlock(b *hcl2.Block, schema *hcl2.BodySchema) *block {
	bl := &block{d: d, pos: d.positions.new(), def: posOf(b.DefRange)}
	if lb, ok := b.Body.(*litBody); ok && d.schemaIndex(schema).takesLiteral(lb) {
		bl.lit, bl.inner = lb, lb.blocks
		return bl
	}
	if sb, ok := b.Body.(*hclsyntax.Body); ok && d.schemaIndex(schema).takesWhole(sb) {
		bl.native, bl.syn = true, sb.Attributes
		bl.inner = d.hclBlocks(sb.Blocks)
		return bl
	}
	content, diags := contentOf(b.Body, schema)
	d.addHCL(diags)
	if content != nil {
		bl.attrs = content.Attributes
		bl.inner = content.Blocks
	}
	return bl
}

// contentOf is body.Content(schema) with its "Unsupported argument" errors
// in the file's order: hclsyntax finds them walking a map, in an order
// that differs from one read to the next (FuzzHCLServicesDecodedInRunsAsInOne
// found a block's two swapped between two reads of one file). It reports
// them one after another; nothing else moves.
func contentOf(body hcl2.Body, schema *hcl2.BodySchema) (*hcl2.BodyContent, hcl2.Diagnostics) {
	content, diags := body.Content(schema)
	unsupported := func(d *hcl2.Diagnostic) bool { return d.Summary == "Unsupported argument" && d.Subject != nil }
	if i := slices.IndexFunc(diags, unsupported); i >= 0 {
		j := i + 1
		for j < len(diags) && unsupported(diags[j]) {
			j++
		}
		slices.SortStableFunc(diags[i:j], func(a, b *hcl2.Diagnostic) int { return a.Subject.Start.Byte - b.Subject.Start.Byte })
	}
	return content, diags
}

// expr is attribute name's expression, if the block has it.
func (b *block) expr(name string) (hcl2.Expression, bool) {
	if b.lit != nil {
		a := b.lit.attr(name)
		if a == nil {
			return nil, false
		}
		return a.expr.syntax(b.lit.file), true
	}
	if b.native {
		a, ok := b.syn[name]
		if !ok {
			return nil, false
		}
		return a.Expr, true
	}
	a, ok := b.attrs[name]
	if !ok {
		return nil, false
	}
	return a.Expr, true
}

// has says whether the block sets attribute name.
func (b *block) has(name string) bool {
	if b.lit != nil {
		return b.lit.attr(name) != nil
	}
	_, ok := b.expr(name)
	return ok
}

// literal is attribute name of a body readLiteral read, or nil; it notes
// where the attribute is written, as value does.
func (b *block) literal(name string) *litExpr {
	if b.lit == nil {
		return nil
	}
	a := b.lit.attr(name)
	if a == nil {
		return nil
	}
	b.pos.Set(name, posOf(a.expr.rng(b.lit.file)))
	return &a.expr
}

// schemaIndex is what the decoder asks of a schema, worked out once per
// schema rather than once per block: which attributes it knows, which it
// requires, and how many labels each block type has.
type schemaIndex struct {
	attrs    map[string]bool // known attribute: required
	required []string
	labels   map[string]int // block type: its labels
}

// schemaIndex is schema's index, made on the decoder's first use of it.
func (d *decoder) schemaIndex(schema *hcl2.BodySchema) *schemaIndex {
	if si, ok := d.schemas[schema]; ok {
		return si
	}
	si := newSchemaIndex(schema)
	if d.schemas == nil {
		d.schemas = map[*hcl2.BodySchema]*schemaIndex{}
	}
	d.schemas[schema] = si
	return si
}

func newSchemaIndex(schema *hcl2.BodySchema) *schemaIndex {
	si := &schemaIndex{attrs: make(map[string]bool, len(schema.Attributes)), labels: make(map[string]int, len(schema.Blocks))}
	for _, a := range schema.Attributes {
		si.attrs[a.Name] = a.Required
		if a.Required {
			si.required = append(si.required, a.Name)
		}
	}
	for _, b := range schema.Blocks {
		si.labels[b.Type] = len(b.LabelNames) // as Content, a type's last header
	}
	return si
}

// takesLiteral is takesWhole for a body readLiteral read.
func (si *schemaIndex) takesLiteral(lb *litBody) bool {
	for i := range lb.attrs {
		if _, known := si.attrs[lb.attrs[i].name]; !known {
			return false
		}
	}
	for _, name := range si.required {
		if lb.attr(name) == nil {
			return false
		}
	}
	for _, b := range lb.blocks {
		if n, known := si.labels[b.Type]; !known || n != len(b.Labels) {
			return false
		}
	}
	return true
}

// takesWhole says whether Content would accept every attribute and block
// of sb without a diagnostic: each attribute and block type known, as many
// labels as the schema names, no required attribute missing.
func (si *schemaIndex) takesWhole(sb *hclsyntax.Body) bool {
	for name := range sb.Attributes {
		if _, known := si.attrs[name]; !known {
			return false
		}
	}
	for _, name := range si.required {
		if _, set := sb.Attributes[name]; !set {
			return false
		}
	}
	for _, b := range sb.Blocks {
		if n, known := si.labels[b.Type]; !known || n != len(b.Labels) {
			return false
		}
	}
	return true
}

// hclBlocks is blocks as hcl.Blocks (what AsHCLBlock makes of each), cut
// from one allocation.
func (d *decoder) hclBlocks(blocks hclsyntax.Blocks) []*hcl2.Block {
	if len(blocks) == 0 {
		return nil
	}
	all := make([]hcl2.Block, len(blocks))
	out := make([]*hcl2.Block, len(blocks))
	for i, b := range blocks {
		all[i] = hcl2.Block{Type: b.Type, Labels: b.Labels, Body: b.Body, DefRange: b.DefRange(), TypeRange: b.TypeRange, LabelRanges: b.LabelRanges}
		out[i] = &all[i]
	}
	return out
}

// value evaluates attribute name converted to typ; ok is false when the
// attribute is absent or wrong (a diagnostic then says why).
func (b *block) value(name string, typ cty.Type) (cty.Value, bool) {
	var pos Pos
	var v cty.Value
	if lit := b.literal(name); lit != nil {
		pos, v = posOf(lit.rng(b.lit.file)), lit.value()
		return b.convert(name, pos, v, typ)
	}
	expr, ok := b.expr(name)
	if !ok {
		return cty.NilVal, false
	}
	pos = posOf(expr.Range())
	b.pos.Set(name, pos)
	v, ok = literalValue(expr)
	if !ok {
		var diags hcl2.Diagnostics
		v, diags = expr.Value(b.d.ctx)
		b.d.addHCL(diags)
		if diags.HasErrors() {
			return cty.NilVal, false
		}
	}
	return b.convert(name, pos, v, typ)
}

// convert is attribute name's value v converted to typ; ok is false when
// it is null, or wrong (a diagnostic then says why).
func (b *block) convert(name string, pos Pos, v cty.Value, typ cty.Type) (cty.Value, bool) {
	if v.IsNull() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		b.d.diags.errorf(pos, "value not known", "%s must be known when the file is read", name)
		return cty.NilVal, false
	}
	if typ == cty.DynamicPseudoType && !v.IsMarked() {
		return v, true // what Convert gives, without the conversion it makes
	}
	cv, err := convert.Convert(v, typ)
	if err != nil {
		b.d.diags.errorf(pos, fmt.Sprintf("invalid %s", name), "%s must be %s: %v", name, typ.FriendlyName(), err)
		return cty.NilVal, false
	}
	return cv, true
}

// literalValue is what expr.Value gives when hcl's parser made expr a
// literal: a LiteralValueExpr's value, or a quoted string's one literal
// part's, which is what a TemplateExpr of that part evaluates to
// (TestLiteralValueIsHCLs), without the buffer, the marks map and the
// copy Value makes for it.
func literalValue(expr hcl2.Expression) (cty.Value, bool) {
	switch e := expr.(type) {
	case *hclsyntax.LiteralValueExpr:
		return e.Val, true
	case *hclsyntax.TemplateExpr:
		if len(e.Parts) != 1 {
			return cty.NilVal, false
		}
		lit, ok := e.Parts[0].(*hclsyntax.LiteralValueExpr)
		if !ok || lit.Val.Type() != cty.String || lit.Val.IsNull() || !lit.Val.IsKnown() || lit.Val.IsMarked() {
			return cty.NilVal, false
		}
		return lit.Val, true
	}
	return cty.NilVal, false
}

func (b *block) str(name string, dst *string) bool {
	if lit := b.literal(name); lit != nil && lit.kind == litString {
		*dst = lit.text // ASCII: what cty's NFC string holds
		return true
	}
	v, ok := b.value(name, cty.String)
	if ok {
		*dst = v.AsString()
	}
	return ok
}

func (b *block) boolean(name string, dst *bool) bool {
	if lit := b.literal(name); lit != nil && (lit.kind == litTrue || lit.kind == litFalse) {
		*dst = lit.kind == litTrue
		return true
	}
	v, ok := b.value(name, cty.Bool)
	if ok {
		*dst = v.True()
	}
	return ok
}

func (b *block) integer(name string, dst *int) bool {
	if n, ok := b.smallInteger(name); ok {
		*dst = n
		return true
	}
	v, ok := b.value(name, cty.Number)
	if !ok {
		return false
	}
	n, acc := v.AsBigFloat().Int64()
	if acc != big.Exact || n > 1<<31 || n < -(1<<31) {
		b.d.diags.errorf(b.pos.Where(name, Pos{}), fmt.Sprintf("invalid %s", name), "%s must be a whole number, got %s", name, v.AsBigFloat().Text('g', 10))
		return false
	}
	*dst = int(n)
	return true
}

// int32 reads a whole number that the model keeps in 32 bits, a
// checker's retry and rise (keepalived reads retry as an int): above
// math.MaxInt32 it is refused, as the keepalived.conf reader refuses it,
// not cut down to it.
func (b *block) int32(name string, dst *int) bool {
	var n int
	if !b.integer(name, &n) {
		return false
	}
	if n > math.MaxInt32 {
		b.d.diags.errorf(b.pos.Where(name, Pos{}), fmt.Sprintf("invalid %s", name), "%s must be at most %d, got %d", name, math.MaxInt32, n)
		return false
	}
	*dst = n
	return true
}

// duration reads seconds as a number (decimals allowed, as keepalived
// accepts for its timers) or a Go duration string such as "500ms".
func (b *block) duration(name string, dst *time.Duration) bool {
	if n, ok := b.smallInteger(name); ok && n <= 1e6 {
		*dst = time.Duration(float64(n) * float64(time.Second)) // as from the number's Float64
		return true
	}
	v, ok := b.value(name, cty.DynamicPseudoType)
	if !ok {
		return false
	}
	pos := b.pos.Where(name, Pos{})
	switch v.Type() {
	case cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if f < 0 || f > 1e6 {
			b.d.diags.errorf(pos, fmt.Sprintf("invalid %s", name), "%s must be between 0 and 1000000 seconds", name)
			return false
		}
		*dst = time.Duration(f * float64(time.Second))
		return true
	case cty.String:
		s := v.AsString()
		if secs, err := strconv.ParseFloat(s, 64); err == nil && secs >= 0 && secs <= 1e6 {
			*dst = time.Duration(secs * float64(time.Second))
			return true
		}
		dur, err := time.ParseDuration(s)
		if err != nil || dur < 0 {
			b.d.diags.errorf(pos, fmt.Sprintf("invalid %s", name), "%s: %q is not a duration (seconds, or e.g. \"500ms\")", name, s)
			return false
		}
		*dst = dur
		return true
	}
	b.d.diags.errorf(pos, fmt.Sprintf("invalid %s", name), "%s must be a number of seconds or a duration string", name)
	return false
}

// smallInteger is attribute name of a body readLiteral read when it is a
// number of at most nine digits and no fraction: its value, which the
// number's big.Float holds exactly.
func (b *block) smallInteger(name string) (int, bool) {
	lit := b.literal(name)
	if lit == nil || lit.kind != litNumber || len(lit.text) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(lit.text) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// strList accepts a single string or a list of strings (or numbers).
func (b *block) strList(name string) ([]string, bool) {
	if lit := b.literal(name); lit != nil && lit.kind == litString {
		return []string{lit.text}, true
	}
	expr, ok := b.expr(name)
	if !ok {
		return nil, false
	}
	b.pos.Set(name, posOf(expr.Range()))
	return b.d.listOf(name, expr)
}

func (d *decoder) stringList(attr *hcl2.Attribute) ([]string, bool) {
	return d.listOf(attr.Name, attr.Expr)
}

// listOf is attribute name's expr read as a string or a list of strings.
func (d *decoder) listOf(name string, expr hcl2.Expression) ([]string, bool) {
	pos := posOf(expr.Range())
	v, ok := literalValue(expr)
	if !ok {
		var diags hcl2.Diagnostics
		v, diags = expr.Value(d.ctx)
		d.addHCL(diags)
		if diags.HasErrors() {
			return nil, false
		}
	}
	if v.IsNull() {
		return nil, false
	}
	if !v.IsWhollyKnown() {
		d.diags.errorf(pos, "value not known", "%s must be known when the file is read", name)
		return nil, false
	}
	if s, err := convert.Convert(v, cty.String); err == nil {
		return []string{s.AsString()}, true
	}
	lv, err := convert.Convert(v, cty.List(cty.String))
	if err != nil {
		d.diags.errorf(pos, fmt.Sprintf("invalid %s", name), "%s must be a string or a list of strings", name)
		return nil, false
	}
	var out []string
	for _, e := range lv.AsValueSlice() {
		if e.IsNull() {
			d.diags.errorf(pos, fmt.Sprintf("invalid %s", name), "%s holds a null element", name)
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// checkerSettings reads the checker settings a virtual_server,
// real_server or checker block sets (inherit.go); those its schema does not
// allow are never set. nb_get_retry is keepalived's older name of retry.
func (b *block) checkerSettings() *checkerSettings {
	var s checkerSettings
	var d time.Duration
	for _, o := range []struct {
		name string
		dst  *opt[time.Duration]
	}{{"connect_timeout", &s.timeout}, {"delay_loop", &s.delayLoop}, {"warmup", &s.warmup}, {"delay_before_retry", &s.retryDelay}} {
		if b.duration(o.name, &d) {
			o.dst.put(d)
		}
	}
	var n int
	if b.int32("nb_get_retry", &n) {
		s.retry.put(n)
	}
	if b.int32("retry", &n) {
		s.retry.put(n)
	}
	var on bool
	if b.boolean("alpha", &on) {
		s.alpha.put(on)
	}
	var host string
	if b.str("virtualhost", &host) {
		s.virtualhost.put(host)
	}
	return &s
}

func (b *block) addr(name string, dst *netip.Addr) bool {
	var s string
	if !b.str(name, &s) {
		return false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		b.d.diags.errorf(b.pos.Where(name, Pos{}), fmt.Sprintf("invalid %s", name), "%q is not an IP address", s)
		return false
	}
	*dst = a
	return true
}

// blockSchema lists a block's attributes and nested block types.
func blockSchema(attrs []string, blocks ...hcl2.BlockHeaderSchema) *hcl2.BodySchema {
	s := &hcl2.BodySchema{Blocks: blocks}
	for _, a := range attrs {
		s.Attributes = append(s.Attributes, hcl2.AttributeSchema{Name: a})
	}
	return s
}

var (
	topSchema = blockSchema(append([]string{"include"}, staticNetAttrs...),
		hcl2.BlockHeaderSchema{Type: "global"},
		hcl2.BlockHeaderSchema{Type: "vrrp_script", LabelNames: []string{"name"}},
		hcl2.BlockHeaderSchema{Type: "vrrp_instance", LabelNames: []string{"name"}},
		hcl2.BlockHeaderSchema{Type: "vrrp_sync_group", LabelNames: []string{"name"}},
		hcl2.BlockHeaderSchema{Type: "virtual_server", LabelNames: []string{"address"}},
		hcl2.BlockHeaderSchema{Type: "virtual_server_group", LabelNames: []string{"name"}},
		hcl2.BlockHeaderSchema{Type: "track_file", LabelNames: []string{"name"}},
		hcl2.BlockHeaderSchema{Type: "vrrp_track_process", LabelNames: []string{"name"}},
		hcl2.BlockHeaderSchema{Type: "announce", LabelNames: []string{"protocol"}},
		hcl2.BlockHeaderSchema{Type: "SSL"},
		hcl2.BlockHeaderSchema{Type: "local_address_group", LabelNames: []string{"name"}},
	)
	sslClientSchema   = blockSchema([]string{"password", "ca", "certificate", "key"})
	lvsTimeoutsSchema = blockSchema([]string{"tcp", "tcpfin", "udp"})
	trackFileSchema   = blockSchema([]string{"file", "weight", "reverse", "init_file"})
	groupSchema       = blockSchema([]string{"members"})
	globalSchema      = blockSchema(append([]string{"router_id", "lvs_program", "enable_script_security", "script_user",
		"notify_timeout", "metrics_listen", "status_page", "control_socket", "reconcile_interval", "vrrp_version", "lvs_flush", "lvs_flush_on_stop"}, append(append(globalAlertAttrs, globalScriptAttrs...), "interface_up_down_delays")...),
		hcl2.BlockHeaderSchema{Type: "lvs_sync_daemon"}, hcl2.BlockHeaderSchema{Type: "lvs_timeouts"})
	syncDaemonSchema = blockSchema([]string{"enabled", "interface", "instance", "id", "maxlen", "port", "ttl", "group"})
	scriptSchema     = blockSchema(append([]string{"script", "interval", "timeout", "weight", "rise", "fall", "user"}, scriptTrackAttrs...))
	notifyAttrs      = append([]string{"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify"}, userAttrs(notifyUserKeywords[:5])...)
	instanceSchema   = blockSchema(append([]string{"state", "interface", "virtual_router_id", "priority", "advert_int",
		"virtual_ipaddress", "unicast_src_ip", "unicast_peer", "nopreempt", "preempt_delay",
		"garp_master_delay", "garp_master_repeat", "garp_master_refresh", "garp_master_refresh_repeat",
		"version", "native_ipv6", "v3_checksum_as_v2", "old_unicast_checksum"}, append(append(append(notifyAttrs, instanceNetAttrs...), trackAttrs...), instanceTrackAttrs...)...),
		hcl2.BlockHeaderSchema{Type: "authentication"})
	authSchema      = blockSchema([]string{"auth_type", "auth_pass"})
	syncGroupSchema = blockSchema(append(append(append([]string{"group"}, notifyAttrs...), trackAttrs...), syncGroupTrackAttrs...))
	vsSchema        = blockSchema([]string{"protocol", "delay_loop", "lb_algo", "lb_kind", "scheduler_flags", "ops",
		"persistence_timeout", "persistence_granularity", "quorum", "hysteresis", "quorum_up", "quorum_down",
		"alpha", "omega", "inhibit_on_failure", "virtualhost", "sorry_server", "sorry_server_lvs_method",
		"vrrp_instance", "ip_family", "connect_timeout", "retry", "nb_get_retry", "delay_before_retry", "warmup",
		"persistence_engine", "sorry_server_inhibit", "laddr_group_name", "smtp_alert", "quorum_up_user", "quorum_down_user"},
		hcl2.BlockHeaderSchema{Type: "real_server", LabelNames: []string{"address"}})
	rsSchema = blockSchema([]string{"weight", "inhibit_on_failure", "notify_up", "notify_down", "uthreshold", "lthreshold",
		"connect_timeout", "retry", "nb_get_retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "virtualhost", "smtp_alert",
		"lvs_method", "notify_up_user", "notify_down_user"},
		hcl2.BlockHeaderSchema{Type: CheckTCP}, hcl2.BlockHeaderSchema{Type: CheckHTTP},
		hcl2.BlockHeaderSchema{Type: CheckSSL}, hcl2.BlockHeaderSchema{Type: CheckMisc},
		hcl2.BlockHeaderSchema{Type: CheckUDP}, hcl2.BlockHeaderSchema{Type: CheckDNS},
		hcl2.BlockHeaderSchema{Type: CheckPing}, hcl2.BlockHeaderSchema{Type: CheckSMTP},
		hcl2.BlockHeaderSchema{Type: CheckFile})
	checkCommon = []string{"connect_ip", "connect_port", "bindto", "bind_port", "fwmark", "connect_timeout",
		"retry", "nb_get_retry", "delay_before_retry", "warmup", "delay_loop", "rise", "alpha", "bind_if"}
	tcpSchema  = blockSchema(checkCommon)
	httpSchema = blockSchema(append([]string{"virtualhost", "http_protocol", "fast_recovery"}, checkCommon...),
		hcl2.BlockHeaderSchema{Type: "url"})
	sslSchema = blockSchema(append([]string{"virtualhost", "http_protocol", "fast_recovery", "enable_sni", "tls_verify", "ca_file"}, checkCommon...),
		hcl2.BlockHeaderSchema{Type: "url"})
	miscSchema = blockSchema(append([]string{"misc_path", "misc_timeout", "misc_dynamic", "user"}, checkCommon...))
	urlSchema  = blockSchema([]string{"path", "status_code", "digest", "regex", "regex_no_match", "virtualhost",
		"regex_options", "regex_min_offset", "regex_max_offset"})
	udpSchema  = blockSchema(append([]string{"payload", "require_reply", "min_reply_length", "max_reply_length"}, checkCommon...))
	dnsSchema  = blockSchema(append([]string{"type", "name"}, checkCommon...))
	pingSchema = blockSchema(checkCommon)
	// fileSchema is FILE_CHECK's: none of the other checkers' settings
	// (keepalived installs none for it).
	fileSchema = blockSchema([]string{"track_file", "weight", "reverse"})
	smtpSchema = blockSchema(append([]string{"helo_name"}, checkCommon...), hcl2.BlockHeaderSchema{Type: "host"})
	// smtpHostSchema is SMTP_CHECK's host block: where to connect, as
	// keepalived's (deprecated) host block has it.
	smtpHostSchema = blockSchema([]string{"connect_ip", "connect_port", "bindto", "bind_port", "fwmark", "connect_timeout"})
)

func (d *decoder) global(b *hcl2.Block) {
	bl := d.openBlock(b, globalSchema)
	g := &d.cfg.Global
	g.Pos = bl.def
	g.Positions = bl.pos
	bl.str("router_id", &g.RouterID)
	bl.str("lvs_program", &g.LVSProgram)
	bl.boolean("enable_script_security", &g.EnableScriptSecurity)
	var su string
	if bl.str("script_user", &su) {
		g.ScriptUser, g.ScriptGroup = userAndGroup(su)
	}
	bl.duration("notify_timeout", &g.NotifyTimeout)
	bl.str("metrics_listen", &g.MetricsListen)
	bl.boolean("status_page", &g.StatusPage)
	bl.str("control_socket", &g.ControlSocket)
	bl.duration("reconcile_interval", &g.ReconcileInterval)
	bl.integer("vrrp_version", &g.VRRPVersion)
	d.globalAlerts(bl, g)       // alert_decode.go
	d.globalScripts(bl, g)      // global_scripts.go
	d.interfaceDelaysHCL(bl, g) // interface_delays.go
	bl.boolean("lvs_flush", &g.LVSFlush)
	bl.str("lvs_flush_on_stop", &g.LVSFlushOnStop)
	for _, inner := range bl.inner {
		if inner.Type == "lvs_sync_daemon" {
			d.syncDaemon(inner)
		}
		if inner.Type == "lvs_timeouts" {
			d.lvsTimeouts(inner) // lvs_global.go
		}
	}
}

// syncDaemon reads global's lvs_sync_daemon block; finalize defaults the
// interface and id from the instance and validates the ranges.
func (d *decoder) syncDaemon(b *hcl2.Block) {
	bl := d.openBlock(b, syncDaemonSchema)
	s := &d.cfg.Global.LVSSyncDaemon
	*s = LVSSyncDaemon{Enabled: true, SyncID: unsetSyncID, Pos: bl.def, Positions: bl.pos}
	bl.boolean("enabled", &s.Enabled)
	bl.str("interface", &s.Interface)
	bl.str("instance", &s.Instance)
	bl.integer("id", &s.SyncID)
	bl.integer("maxlen", &s.MaxLen)
	bl.integer("port", &s.Port)
	bl.integer("ttl", &s.TTL)
	bl.addr("group", &s.Group)
}

func (d *decoder) script(b *hcl2.Block) {
	bl := d.openBlock(b, scriptSchema)
	s := VRRPScript{Name: b.Labels[0], Interval: defaultScriptInterval, Rise: defaultScriptRise, Fall: defaultScriptFall, Pos: bl.def, Positions: bl.pos}
	bl.str("script", &s.Script)
	bl.duration("interval", &s.Interval)
	s.Timeout = s.Interval
	bl.duration("timeout", &s.Timeout)
	bl.integer("weight", &s.Weight)
	bl.integer("rise", &s.Rise)
	bl.integer("fall", &s.Fall)
	bl.boolean("reverse", &s.Reverse)    // tracking_decode.go
	bl.boolean("init_fail", &s.InitFail) // tracking_decode.go
	var user string
	if bl.str("user", &user) {
		s.User, s.Group = userAndGroup(user)
	}
	d.cfg.Scripts = append(d.cfg.Scripts, s)
}

// userAndGroup splits keepalived's "USER [GROUP]" (script_user, user).
func userAndGroup(s string) (user, group string) {
	f := strings.Fields(s)
	if len(f) > 0 {
		user = f[0]
	}
	if len(f) > 1 {
		group = f[1]
	}
	return user, group
}

func (d *decoder) notify(bl *block, n *Notify) {
	bl.str("notify_master", &n.Master)
	bl.str("notify_backup", &n.Backup)
	bl.str("notify_fault", &n.Fault)
	bl.str("notify_stop", &n.Stop)
	bl.str("notify", &n.Any)
	d.scriptUsers(bl, notifyUserKeywords, &n.Users) // notify_users.go
}

func (d *decoder) instance(b *hcl2.Block) {
	bl := d.openBlock(b, instanceSchema)
	in := VRRPInstance{
		Name:                    b.Labels[0],
		State:                   defaultState,
		Priority:                defaultPriority,
		AdvertInt:               defaultAdvertInt,
		GarpMasterDelay:         defaultGarpMasterDelay,
		GarpMasterRepeat:        defaultGarpMasterRepeat,
		GarpMasterRefreshRepeat: defaultGarpRefreshCount,
		Pos:                     bl.def,
		Positions:               bl.pos,
	}
	if bl.str("state", &in.State) {
		in.State = strings.ToUpper(in.State)
	}
	bl.str("interface", &in.Interface)
	bl.integer("virtual_router_id", &in.VirtualRouterID)
	bl.integer("priority", &in.Priority)
	bl.duration("advert_int", &in.AdvertInt)
	bl.integer("version", &in.Version)
	bl.boolean("native_ipv6", &in.IPv6)
	bl.boolean("v3_checksum_as_v2", &in.V3ChecksumAsV2)
	bl.boolean("old_unicast_checksum", &in.OldUnicastChecksum)
	for _, inner := range bl.inner {
		ab := d.openBlock(inner, authSchema)
		if ab.str("auth_type", &in.AuthType) {
			in.AuthType = strings.ToUpper(in.AuthType)
		}
		ab.str("auth_pass", &in.AuthPass)
		for k, v := range ab.pos.All() {
			bl.pos.Set(k, v)
		}
	}
	if vips, ok := bl.strList("virtual_ipaddress"); ok {
		for _, raw := range vips {
			vip, err := ParseVIP(raw)
			if err != nil {
				d.diags.errorf(bl.pos.Where("virtual_ipaddress", Pos{}), "invalid virtual_ipaddress", "%v", err)
				continue
			}
			vip.Pos = bl.pos.Where("virtual_ipaddress", Pos{})
			in.VirtualIPs = append(in.VirtualIPs, vip)
		}
	}
	bl.addr("unicast_src_ip", &in.UnicastSrcIP)
	if peers, ok := bl.strList("unicast_peer"); ok {
		for _, p := range peers {
			d.unicastPeer(bl.pos.Where("unicast_peer", Pos{}), p, &in) // unicast_peer.go
		}
	}
	bl.boolean("nopreempt", &in.NoPreempt)
	bl.duration("preempt_delay", &in.PreemptDelay)
	bl.duration("garp_master_delay", &in.GarpMasterDelay)
	bl.integer("garp_master_repeat", &in.GarpMasterRepeat)
	bl.duration("garp_master_refresh", &in.GarpMasterRefresh)
	bl.integer("garp_master_refresh_repeat", &in.GarpMasterRefreshRepeat)
	d.instanceTracking(bl, &in) // tracking_decode.go
	d.instanceNet(bl, &in)      // vrrp_net_decode.go
	d.notify(bl, &in.Notify)
	d.cfg.Instances = append(d.cfg.Instances, in)
}

func (d *decoder) syncGroup(b *hcl2.Block) {
	bl := d.openBlock(b, syncGroupSchema)
	g := SyncGroup{Name: b.Labels[0], Pos: bl.def, Positions: bl.pos}
	g.Group, _ = bl.strList("group")
	d.syncGroupTracking(bl, &g) // tracking_decode.go
	d.notify(bl, &g.Notify)
	d.cfg.SyncGroups = append(d.cfg.SyncGroups, g)
}

func (d *decoder) virtualServer(b *hcl2.Block) {
	bl := d.openBlock(b, vsSchema)
	vs := VirtualServer{
		Name:      b.Labels[0],
		Protocol:  defaultProtocol,
		LBAlgo:    defaultScheduler,
		LBKind:    defaultKind,
		Quorum:    defaultQuorum,
		Pos:       bl.def,
		Positions: bl.pos,
	}
	labelPos := posOf(b.LabelRanges[0])
	if name, ok := strings.CutPrefix(vs.Name, "group "); ok {
		// One service per member of the group (expandGroups).
		vs.Group = strings.TrimSpace(name)
	} else {
		addr, mark, err := ParseServiceAddress(vs.Name)
		if err != nil {
			d.diags.errorf(labelPos, "invalid virtual_server address", "%v", err)
		}
		vs.Addr, vs.FWMark = addr, mark
		vs.IPv6 = addr.IsValid() && addr.Addr().Is6()
	}
	if bl.str("protocol", &vs.Protocol) {
		vs.Protocol = strings.ToUpper(vs.Protocol)
	}
	// delay_loop, alpha and virtualhost are the service's own and the
	// default of its checkers, with the other checker settings.
	inh := bl.checkerSettings()
	vs.DelayLoop = inh.delayLoop.or(defaultDelayLoop)
	vs.Alpha = inh.alpha.or(false)
	vs.Virtualhost = inh.virtualhost.or("")
	if bl.str("lb_algo", &vs.LBAlgo) {
		vs.LBAlgo = strings.ToLower(vs.LBAlgo)
	}
	if bl.str("lb_kind", &vs.LBKind) {
		vs.LBKind = strings.ToUpper(vs.LBKind)
	}
	vs.SchedulerFlags, _ = bl.strList("scheduler_flags")
	bl.boolean("ops", &vs.OnePacket)
	bl.duration("persistence_timeout", &vs.PersistenceTimeout)
	var granularity string
	if bl.str("persistence_granularity", &granularity) {
		bits, err := parseNetmask(granularity, vs.IPv6 || ((vs.Group != "" || vs.FWMark != 0) && !strings.Contains(granularity, ".")))
		if err != nil {
			d.diags.errorf(bl.pos.Where("persistence_granularity", Pos{}), "invalid persistence_granularity", "%v", err)
		}
		vs.PersistenceGranularity = bits
	}
	bl.integer("quorum", &vs.Quorum)
	bl.integer("hysteresis", &vs.Hysteresis)
	bl.str("quorum_up", &vs.QuorumUp)
	d.scriptUsers(bl, vsUserKeywords, &vs.QuorumUsers) // notify_users.go
	bl.boolean("smtp_alert", &vs.SMTPAlert)
	bl.str("quorum_down", &vs.QuorumDown)
	bl.boolean("omega", &vs.Omega)
	bl.boolean("inhibit_on_failure", &vs.InhibitOnFailure)
	var sorry string
	if bl.str("sorry_server", &sorry) {
		ap, err := ParseAddrPort(sorry)
		if err != nil {
			d.diags.errorf(bl.pos.Where("sorry_server", Pos{}), "invalid sorry_server", "%v", err)
		} else {
			vs.SorryServer = &SorryServer{Addr: ap, Pos: bl.pos.Where("sorry_server", Pos{})}
		}
	}
	var sorryKind string
	if bl.str("sorry_server_lvs_method", &sorryKind) && vs.SorryServer != nil {
		vs.SorryServer.LBKind = strings.ToUpper(sorryKind)
	}
	bl.str("vrrp_instance", &vs.VRRPInstance)
	d.lvsOptions(bl, &vs) // tunnel.go
	var family string
	if bl.str("ip_family", &family) {
		switch family {
		case "inet":
		case "inet6":
			vs.IPv6 = true
		default:
			d.diags.errorf(bl.pos.Where("ip_family", Pos{}), "invalid ip_family", "%q: want \"inet\" or \"inet6\"", family)
		}
	}
	if len(bl.inner) > 0 {
		// Every inner block is a real_server (vsSchema): the slice is
		// made once, not grown by doubling (BenchmarkLoadBigHCL).
		vs.RealServers = make([]RealServer, 0, len(bl.inner))
	}
	for _, inner := range bl.inner {
		vs.RealServers = append(vs.RealServers, d.realServer(inner, &vs, inh))
	}
	if vs.SorryServer != nil && vs.SorryServer.LBKind == "" {
		vs.SorryServer.LBKind = vs.LBKind
	}
	if vs.FWMark != 0 && bl.pos.Where("ip_family", Pos{}) == (Pos{}) {
		for _, rs := range vs.RealServers {
			if rs.Addr.Addr().Is6() {
				vs.IPv6 = true
			}
		}
	}
	if vs.PersistenceGranularity == 0 && vs.Group == "" {
		vs.PersistenceGranularity = defaultGranularity(vs.IPv6)
	}
	d.cfg.VirtualServers = append(d.cfg.VirtualServers, vs)
}

// trackFile reads a track_file block: file = "/path", weight = N,
// reverse = bool.
func (d *decoder) trackFile(b *hcl2.Block) {
	bl := d.openBlock(b, trackFileSchema)
	f := TrackFile{Name: b.Labels[0], Weight: defaultTrackFileWeight, Pos: bl.def, Positions: bl.pos}
	bl.str("file", &f.File)
	bl.integer("weight", &f.Weight)
	bl.boolean("reverse", &f.Reverse)
	d.trackFileInit(bl, &f) // track_file_init.go
	d.cfg.TrackFiles = append(d.cfg.TrackFiles, f)
}

// group reads a virtual_server_group block: members = ["192.0.2.1 80",
// "192.0.2.10-12 80", "fwmark 5", "[2001:db8::1]:80"].
func (d *decoder) group(b *hcl2.Block) {
	bl := d.openBlock(b, groupSchema)
	g := VirtualServerGroup{Name: b.Labels[0], Pos: bl.def}
	for _, prev := range d.cfg.VirtualServerGroups {
		if prev.Name == g.Name {
			d.diags.errorf(g.Pos, "duplicate virtual_server_group", "%q is also defined at %s", g.Name, prev.Pos)
		}
	}
	entries, _ := bl.strList("members")
	for _, e := range entries {
		members, err := ParseGroupEntry(e)
		if err != nil {
			d.diags.errorf(bl.pos.Where("members", Pos{}), "invalid virtual_server_group member", "%v", err)
			continue
		}
		for i := range members {
			members[i].Pos = bl.pos.Where("members", Pos{})
		}
		g.Entries = append(g.Entries, e)
		g.Members = append(g.Members, members...)
	}
	if len(g.Members) == 0 {
		d.diags.warnf(g.Pos, "empty virtual_server_group", "virtual_server_group %q has no members", g.Name)
	}
	d.cfg.VirtualServerGroups = append(d.cfg.VirtualServerGroups, g)
}

// expandGroups replaces each `virtual_server "group NAME"` by one virtual
// server per member of the group, wherever the group is defined.
func (d *decoder) expandGroups() {
	d.cfg.VirtualServers = expandGroups(d.cfg, &d.diags)
}

func (d *decoder) realServer(b *hcl2.Block, vs *VirtualServer, vsInh *checkerSettings) RealServer {
	bl := d.openBlock(b, rsSchema)
	rs := RealServer{Weight: defaultWeight, InhibitOnFailure: vs.InhibitOnFailure, Pos: bl.def, Positions: bl.pos}
	d.realServerKind(bl, vs, &rs) // tunnel.go
	ap, err := ParseAddrPort(b.Labels[0])
	if err != nil {
		d.diags.errorf(posOf(b.LabelRanges[0]), "invalid real_server address", "%v", err)
	}
	rs.Addr = ap
	bl.integer("weight", &rs.Weight)
	bl.boolean("inhibit_on_failure", &rs.InhibitOnFailure)
	inh := bl.checkerSettings()
	bl.str("notify_up", &rs.NotifyUp)
	d.scriptUsers(bl, rsUserKeywords, &rs.NotifyUsers) // notify_users.go
	bl.boolean("smtp_alert", &rs.SMTPAlert)
	bl.str("notify_down", &rs.NotifyDown)
	var n int
	if bl.integer("uthreshold", &n) {
		rs.UThreshold = uint32(max(n, 0))
	}
	if bl.integer("lthreshold", &n) {
		rs.LThreshold = uint32(max(n, 0))
	}
	for _, inner := range bl.inner {
		d.checker(inner, &rs, inheritance{nil, inh, vsInh})
	}
	return rs
}

// ownCheckers gives the checkers of all of cfg's real servers one array,
// cut into each real server's slice (capped at its own length, so that an
// append to one never writes into the next), once the file is decoded.
//
// A checker appended to its real server's as its block is read (an array
// of 192 bytes for one checker) lands among the HCL parser's garbage of
// that block, much of it in the same size class: once the load's garbage
// was collected, the checkers kept hundreds of spans that each held a few
// of them. On the checks benchmark's configuration (2,326 real servers
// with a TCP_CHECK each), the compacted model read from lvsd.hcl kept
// 1.52-1.55 MB of HeapInuse against 1.05-1.10 MB for the same model read
// from its keepalived.conf, with the same 1.05 MB of objects; now 1.06 MB
// (cmd/lvsd TestChecksBenchModelHeap; docs/benchmarks.md, "Session 11,
// what an lvsd.hcl start keeps"). The keepalived.conf reader needs no such
// step: it makes a service's checkers one after the other once the
// service is read (vsComplete), with little garbage between them.
func ownCheckers(cfg *Config) {
	n := 0
	for i := range cfg.VirtualServers {
		for j := range cfg.VirtualServers[i].RealServers {
			n += len(cfg.VirtualServers[i].RealServers[j].Checkers)
		}
	}
	if n == 0 {
		return
	}
	own := make([]Checker, n)
	for i := range cfg.VirtualServers {
		for j := range cfg.VirtualServers[i].RealServers {
			rs := &cfg.VirtualServers[i].RealServers[j]
			k := copy(own, rs.Checkers)
			if k > 0 {
				rs.Checkers, own = own[:k:k], own[k:]
			}
		}
	}
}

// checker reads a checker block into rs.Checkers; chain holds its real
// server's and virtual server's settings (chain[0] is filled here). It is
// one checker, or one per host block of an SMTP_CHECK.
func (d *decoder) checker(b *hcl2.Block, rs *RealServer, chain inheritance) {
	bl := d.openBlock(b, checkerSchema(b.Type))
	c := Checker{
		Kind:         b.Type,
		Connect:      rs.Addr,
		Rise:         defaultRise,
		KindSettings: defaultKindSettings(b.Type),
		Pos:          bl.def,
		Positions:    bl.pos,
	}
	bl.connect(&c)
	chain[0] = bl.checkerSettings()
	chain.resolve(&c, hclCheckerDefaults(c.Kind))
	var rise int
	if bl.int32("rise", &rise) {
		c.Rise = int32(rise)
	}
	// Read in the order of before the kind settings, which is the order
	// of their diagnostics.
	switch s := c.KindSettings.(type) {
	case *HTTPCheck:
		bl.str("http_protocol", &s.HTTPVersion)
		bl.boolean("enable_sni", &s.EnableSNI)
		bl.boolean("tls_verify", &s.VerifyTLS)
		bl.str("ca_file", &s.CAFile)
	case *MiscCheck:
		bl.str("misc_path", &s.Path)
		s.Timeout = c.DelayLoop
		bl.duration("misc_timeout", &s.Timeout)
		bl.boolean("misc_dynamic", &s.Dynamic)
		var user string
		if bl.str("user", &user) {
			s.User, s.Group = userAndGroup(user)
		}
	case *UDPCheck:
		d.udpSettings(bl, s)
	case *DNSCheck:
		if bl.str("type", &s.Type) {
			s.Type = strings.ToUpper(s.Type)
		}
		bl.str("name", &s.Name)
	case *SMTPCheck:
		bl.str("helo_name", &s.HeloName)
	}
	bl.str("bind_if", &c.BindIf)
	switch s := c.KindSettings.(type) {
	case *HTTPCheck:
		bl.boolean("fast_recovery", &s.FastRecovery)
	case *FileCheck:
		fileCheckSettings(&c)
		bl.str("track_file", &s.TrackFile)
		if !bl.integer("weight", &s.Weight) {
			s.Weight = fileWeightUnset // its track_file's (validation)
		}
		bl.boolean("reverse", &s.Reverse)
	}
	var hosts []Checker
	for _, inner := range bl.inner {
		switch inner.Type {
		case "url":
			h := c.HTTP() // the url block is in httpSchema and sslSchema alone
			h.URLs = append(h.URLs, d.url(inner))
		case "host":
			// keepalived's SMTP_CHECK host block: a checker of its own,
			// connecting where the block says, else where the checker does.
			hb := d.openBlock(inner, smtpHostSchema)
			h := c
			h.OwnSettings()
			h.Pos, h.Positions = hb.def, hb.pos
			hb.connect(&h)
			var timeout time.Duration
			if hb.duration("connect_timeout", &timeout) {
				h.Timeout = timeout
			}
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		rs.Checkers = append(rs.Checkers, c)
		return
	}
	// check_smtp.c: with host blocks, the checker checks where it says
	// only when it sets a connection option itself.
	for _, name := range smtpHostSchema.Attributes {
		if set := bl.pos.Has(name.Name); set {
			rs.Checkers = append(rs.Checkers, c)
			break
		}
	}
	rs.Checkers = append(rs.Checkers, hosts...)
}

// checkerSchema is the schema of a checker block of type kind (rsSchema
// allows no other), nil for none.
func checkerSchema(kind string) *hcl2.BodySchema {
	switch kind {
	case CheckTCP:
		return tcpSchema
	case CheckHTTP:
		return httpSchema
	case CheckSSL:
		return sslSchema
	case CheckMisc:
		return miscSchema
	case CheckUDP:
		return udpSchema
	case CheckDNS:
		return dnsSchema
	case CheckPing:
		return pingSchema
	case CheckSMTP:
		return smtpSchema
	case CheckFile:
		return fileSchema
	}
	return nil
}

// udpSettings reads UDP_CHECK's payload and reply settings: payload is a
// hex string; require_reply is true, or the hex string the reply must
// match (x for a nibble that does not matter).
func (d *decoder) udpSettings(bl *block, c *UDPCheck) {
	var hex string
	if bl.str("payload", &hex) {
		data, _, err := ParseHexString(hex, false)
		if err != nil {
			d.diags.errorf(bl.pos.Where("payload", Pos{}), "invalid payload", "%v", err)
		}
		c.Payload = data
	}
	if v, ok := bl.value("require_reply", cty.DynamicPseudoType); ok {
		switch v.Type() {
		case cty.Bool:
			c.RequireReply = v.True()
		case cty.String:
			data, mask, err := ParseHexString(v.AsString(), true)
			if err != nil {
				d.diags.errorf(bl.pos.Where("require_reply", Pos{}), "invalid require_reply", "%v", err)
			}
			c.RequireReply, c.Reply, c.ReplyMask = true, data, mask
		default:
			d.diags.errorf(bl.pos.Where("require_reply", Pos{}), "invalid require_reply", "want true, or the hex string the reply must match")
		}
	}
	bl.integer("min_reply_length", &c.MinReplyLength)
	bl.integer("max_reply_length", &c.MaxReplyLength)
}

// connect reads where a checker (or an SMTP_CHECK host) connects from and to.
func (bl *block) connect(c *Checker) {
	d := bl.d
	var ip netip.Addr
	if bl.addr("connect_ip", &ip) {
		c.Connect = netip.AddrPortFrom(ip, c.Connect.Port())
	}
	var port int
	if bl.integer("connect_port", &port) {
		if port < 1 || port > 65535 {
			d.diags.errorf(bl.pos.Where("connect_port", Pos{}), "invalid connect_port", "%d is not a port (1-65535)", port)
		}
		c.Connect = netip.AddrPortFrom(c.Connect.Addr(), uint16(port))
	}
	bl.addr("bindto", &c.BindTo)
	if bl.integer("bind_port", &port) {
		if port < 1 || port > 65535 {
			d.diags.errorf(bl.pos.Where("bind_port", Pos{}), "invalid bind_port", "%d is not a port (1-65535)", port)
		}
		c.BindPort = uint16(port)
	}
	var mark int
	if bl.integer("fwmark", &mark) {
		c.FWMark = uint32(mark)
	}
}

func (d *decoder) url(b *hcl2.Block) URL {
	bl := d.openBlock(b, urlSchema)
	u := URL{Pos: bl.def}
	bl.str("path", &u.Path)
	if codes, ok := bl.strList("status_code"); ok {
		for _, s := range codes {
			r, err := ParseStatusRange(s)
			if err != nil {
				d.diags.errorf(bl.pos.Where("status_code", Pos{}), "invalid status_code", "%v", err)
				continue
			}
			u.StatusCodes = append(u.StatusCodes, r)
		}
	}
	if bl.str("digest", &u.Digest) {
		u.Digest = strings.ToLower(u.Digest)
	}
	bl.str("regex", &u.Regex)
	bl.boolean("regex_no_match", &u.RegexNoMatch)
	bl.str("virtualhost", &u.Virtualhost)
	u.RegexOptions, _ = bl.strList("regex_options")
	bl.integer("regex_min_offset", &u.RegexMinOffset)
	bl.integer("regex_max_offset", &u.RegexMaxOffset)
	u.Positions = bl.pos
	return u
}
