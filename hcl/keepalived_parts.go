package hcl

import (
	"bytes"
	"runtime"
	"sync"
)

// This file reads a big keepalived.conf in parts, one goroutine each, when
// the process has more than one processor: a table of thousands of
// virtual servers is most of what `lvsd run` does before its first IPVS
// write (docs/benchmarks.md). The parts give exactly what reading the
// file in one go gives: the same model and the same diagnostics, in the
// same order (keepalived_parts_test.go compares them).
//
//   - The file is cut at lines that start a virtual_server at the top
//     level, and only when no line of it depends on another: no
//     "$NAME" definition or parameter, no ~SEQ/~LST, no continued line
//     ('\'), no include. Each part is then split into words and built
//     into a keyword tree on its own, with its own lines' numbers.
//   - A cut is only known to fall at the top level once the tree of the
//     part before it ends there: a part that leaves a block open (a
//     missing '}', or a '{' keepalived ignores whose '}' then closes the
//     enclosing block) or stops early makes the whole file be read again
//     in one go.
//   - The top-level blocks are then read in order, except the
//     virtual_server blocks after every other kind of block: those are
//     shared among the goroutines, each reading its run of them into its
//     own list of services and diagnostics, joined in order afterwards (a
//     virtual server of an address or a mark reads nothing that another
//     block sets, nor any diagnostic; `virtual_server group` reads the
//     diagnostics before it, so it and what precedes it are read on the
//     first goroutine).
//
// The lexer's, the trees' and the readers' diagnostics are kept apart and
// joined in the order of a read in one go: every lexer's, then every
// tree's, then the readers'.

const (
	// kaPartMinBytes is the size below which a file is read in one go:
	// a goroutine costs more than a small file's read.
	kaPartMinBytes = 256 << 10
	// kaMaxParts bounds the parts (and goroutines) of one read.
	kaMaxParts = 4
)

// Workers is how many goroutines share work on n units (a file's bytes,
// a model's virtual servers) that is worth sharing from minN units on:
// one per processor, up to kaMaxParts. It is the one decision for hcl's
// reads and validation in parts and for lvsd's compaction of the model.
func Workers(n, minN int) int {
	if n < minN {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), kaMaxParts)
}

// kaCuts returns where the parts of src after the first begin (each the
// start of a line "virtual_server ..." with no white space before it), at
// most parts-1 of them, or nil when src has a line that depends on
// another (see the file's comment) or no line to cut at.
func kaCuts(src []byte, parts int) []int {
	if parts < 2 || bytes.IndexByte(src, '$') >= 0 || bytes.IndexByte(src, '~') >= 0 ||
		bytes.IndexByte(src, '\\') >= 0 || bytes.Contains(src, []byte("include")) {
		return nil
	}
	var cuts []int
	last := 0
	for p := 1; p < parts; p++ {
		from := max(len(src)*p/parts, last+1)
		if from >= len(src) {
			break
		}
		at := kaNextServiceLine(src, from)
		if at < 0 {
			break
		}
		cuts = append(cuts, at)
		last = at
	}
	return cuts
}

// kaNextServiceLine returns the start of the first line at or after
// from that begins with the word virtual_server, or -1.
func kaNextServiceLine(src []byte, from int) int {
	const word = "virtual_server"
	for i := from; i < len(src); {
		nl := bytes.Index(src[i:], []byte("\n"+word))
		if nl < 0 {
			return -1
		}
		at := i + nl + 1
		if end := at + len(word); end < len(src) && (src[end] == ' ' || src[end] == '\t') {
			return at
		}
		i = at
	}
	return -1
}

// kaPart is one part's lexer and tree, with their diagnostics apart.
type kaPart struct {
	src       []byte
	firstLine int
	lexDiags  Diagnostics
	treeDiags Diagnostics
	nodes     []*kaNode
	openAtEnd bool // the tree ended inside a block, or stopped early
}

// kaReadInParts lexes and builds the trees of src's parts, one goroutine
// each, and returns the top-level nodes with the lexers' and the trees'
// diagnostics in the order of a read in one go; ok is false when a part
// before the last did not end at the top level (then nothing is kept).
func (l *Loader) kaReadInParts(path string, src []byte, cuts []int, configID string) (nodes []*kaNode, diags Diagnostics, ok bool) {
	parts := make([]kaPart, len(cuts)+1)
	start, line := 0, 1
	for i := range parts {
		end := len(src)
		if i < len(cuts) {
			end = cuts[i]
		}
		parts[i] = kaPart{src: src[start:end], firstLine: line}
		line += bytes.Count(parts[i].src, []byte{'\n'})
		start = end
	}
	var wg sync.WaitGroup
	for i := range parts {
		p := &parts[i]
		wg.Go(func() {
			var files []string
			lx := &kaLexer{l: l, diags: &p.lexDiags, files: &files, defs: map[string]string{}, configID: configID}
			lx.readFileFrom(path, p.src, p.firstLine)
			tree := &kaTree{lines: lx.out, paths: lx.paths, diags: &p.treeDiags}
			p.nodes = tree.body(nil, "", 0)
			p.openAtEnd = tree.openAtEnd
		})
	}
	wg.Wait()
	n := 0
	for i := range parts {
		if parts[i].openAtEnd && i < len(parts)-1 {
			return nil, nil, false
		}
		n += len(parts[i].nodes)
		diags = append(diags, parts[i].lexDiags...)
	}
	nodes = make([]*kaNode, 0, n)
	for i := range parts {
		nodes = append(nodes, parts[i].nodes...)
		diags = append(diags, parts[i].treeDiags...)
	}
	return nodes, diags, true
}

// kaSharedService says whether n is a virtual_server block that any
// goroutine may read: one of an address or a mark. `virtual_server group`
// is not: its members report only what no diagnostic before names (the
// file's, not the goroutine's).
func kaSharedService(n *kaNode) bool {
	return n.name == "virtual_server" && (len(n.args) == 0 || n.args[0].text != "group")
}

// readServicesInParts reads the virtual_server blocks at the end of nodes
// (those after every other kind of block, kaSharedService) on up to parts
// goroutines, and the blocks before them on this one, as topBlocks would
// in order.
func (r *kaReader) readServicesInParts(nodes []*kaNode, parts int, garpIfs map[string]bool, garpAggregation *int) {
	tail := len(nodes)
	for tail > 0 && kaSharedService(nodes[tail-1]) {
		tail--
	}
	// Bounds of each goroutine's run: the first also reads everything
	// before the tail.
	var bounds []int
	for p := 1; p < parts; p++ {
		if b := max(tail, len(nodes)*p/parts); b < len(nodes) && (len(bounds) == 0 || b > bounds[len(bounds)-1]) {
			bounds = append(bounds, b)
		}
	}
	if len(bounds) == 0 {
		r.topBlocks(nodes, garpIfs, garpAggregation)
		return
	}
	workers := make([]*kaReader, len(bounds))
	var wg sync.WaitGroup
	for i, from := range bounds {
		to := len(nodes)
		if i+1 < len(bounds) {
			to = bounds[i+1]
		}
		w := &kaReader{
			cfg:    &Config{VirtualServerGroups: r.cfg.VirtualServerGroups, VirtualServers: make([]VirtualServer, 0, to-from)},
			diags:  &Diagnostics{},
			loader: r.loader,
		}
		workers[i] = w
		run := nodes[from:to]
		wg.Go(func() { w.topBlocks(run, nil, nil) })
	}
	r.topBlocks(nodes[:bounds[0]], garpIfs, garpAggregation)
	wg.Wait()
	for _, w := range workers {
		r.cfg.VirtualServers = append(r.cfg.VirtualServers, w.cfg.VirtualServers...)
		*r.diags = append(*r.diags, *w.diags...)
		r.missingMisc = append(r.missingMisc, w.missingMisc...)
	}
}
