package hcl

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// piecesHCL is an lvsd.hcl of services virtual servers of reals real
// servers each, big enough to be parsed in several pieces (pieceSize),
// with defect(s) written inside virtual server s: what is wrong there
// (a misspelt attribute, a bad value, a block hcl refuses) shows up as a
// diagnostic at its place in the file.
func piecesHCL(services, reals int, defect func(s int) string) string {
	var b strings.Builder
	b.WriteString(`global {
  router_id   = "pieces"
  lvs_program = "always"
}

vrrp_instance "VI_1" {
  state             = "MASTER"
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 150
  virtual_ipaddress = ["198.18.0.1/16"]
}
`)
	for s := range services {
		fmt.Fprintf(&b, "\nvirtual_server \"198.18.%d.%d:80\" {\n  # virtual server %d: %s\n  protocol   = \"TCP\"\n  delay_loop = %d\n  lb_algo    = \"wrr\"\n  lb_kind    = \"NAT\"\n  vrrp_instance = \"VI_1\"\n",
			s/250, s%250+1, s, commentFiller, s%9+1)
		b.WriteString(defect(s))
		for r := range reals {
			fmt.Fprintf(&b, "\n  real_server \"10.%d.%d.%d:8080\" {\n    weight = %d\n", s/250, s%250, r+1, (s+r)%100)
			if (s+r)%3 == 1 {
				fmt.Fprintf(&b, "    TCP_CHECK {\n      connect_port    = %d\n      connect_timeout = 3\n    }\n", 9000+r)
			}
			b.WriteString("  }\n")
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// bigServices is how many virtual servers piecesHCL writes for a file of
// a piece for each of 4 goroutines (of two real servers each).
const bigServices = 250

// commentFiller fills the comment in each virtual server: comments
// keep the file over four pieces at a third of what as many blocks cost
// to parse and decode under the race detector.
var commentFiller = strings.Repeat("generated, do not edit; ", 24)

// noDefect leaves every virtual server as written.
func noDefect(int) string { return "" }

// countPieces is how many pieces parseInPieces cuts src into.
func countPieces(src []byte) int {
	n := 0
	for start := 0; start < len(src); start = pieceEnd(src, start) {
		n++
	}
	return n
}

// requirePiecesReadAsOne loads src as path with its pieces parsed on 1,
// 2, 3 and 4 goroutines and fails unless every load gives the same model
// and the same diagnostics in the same order, which it returns.
func requirePiecesReadAsOne(t *testing.T, path string, src []byte) (*Config, Diagnostics) {
	t.Helper()
	wantCfg, wantDiags := partsLoader(1).LoadSource(path, src)
	for _, parts := range []int{2, 3, 4} {
		cfg, diags := partsLoader(parts).LoadSource(path, src)
		if !reflect.DeepEqual(diags, wantDiags) {
			t.Fatalf("pieces on %d goroutines: the diagnostics are\n%v\nwant (on one)\n%v", parts, diags, wantDiags)
		}
		if !reflect.DeepEqual(cfg, wantCfg) {
			t.Fatalf("pieces on %d goroutines: the model differs from the one on one goroutine", parts)
		}
	}
	return wantCfg, wantDiags
}

// A big lvsd.hcl's pieces, parsed on 1, 2, 3 or 4 goroutines, load into
// the same model with the same diagnostics in the same order; whatever
// makes a piece fail leaves the file to a whole parse on any number.
func TestHCLPiecesOnEveryProcessorReadAsOnOne(t *testing.T) {
	big := piecesHCL(bigServices, 2, noDefect)
	services := big[strings.Index(big, "\nvirtual_server"):]
	full, err := os.ReadFile("testdata/hcl/full.hcl")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		src       string
		cut       bool // parsed in pieces, not whole
		positions bool // compare the pieces' ranges with the whole parse's
		errors    int  // error diagnostics, -1 for some
	}{
		// The corpus's full.hcl in the first piece; a top-level
		// attribute in the first and another in the last.
		{"full.hcl, a big table, top-level attributes in the first and the last piece",
			"static_ipaddress = [\"192.0.2.7/24 dev eth0\"]\n\n" + string(full) + services + "\nstatic_routes = [\"10.9.0.0/16 via 192.0.2.1\"]\n", true, true, 0},
		// Errors hcl reports as it decodes (the file parses) in the
		// first virtual server, every fiftieth and the last: in every
		// piece, so that the diagnostics' order is the pieces'.
		{"decode errors in every piece, the first and the last too", piecesHCL(bigServices, 2, func(s int) string {
			switch {
			case s == bigServices-1:
				return "  sorry_server = \"nowhere\"\n  persistence_timeout = -1\n"
			case s%100 == 0:
				return "  wieght = 1\n" // "Unsupported argument"
			case s%50 == 0:
				return "  quorum = \"many\"\n"
			}
			return ""
		}), true, false, (bigServices-1)/50 + 3},
		// What makes a piece fail parses the file whole: hcl's own
		// diagnostics, the same on any number of goroutines.
		{"an attribute redefined across pieces", "static_ipaddress = [\"192.0.2.7/24 dev eth0\"]\n\n" + big + "\nstatic_ipaddress = [\"192.0.2.8/24 dev eth0\"]\n", false, false, -1},
		{"syntax errors in the first and the last piece", piecesHCL(bigServices, 2, func(s int) string {
			switch s {
			case 1:
				return "  quorum = \n"
			case bigServices - 1:
				return "  lb_algo = \"rr\"\n" // "Attribute redefined"
			}
			return ""
		}) + "virtual_server \"198.18.9.9:80\" {\n  lb_algo = \"rr\"\n", false, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(tc.src)
			if n := countPieces(src); n < 4 {
				t.Fatalf("the file is cut in %d pieces; the test wants a piece for each of 4 goroutines", n)
			}
			f := parseInPieces("/etc/lvsd/lvsd.hcl", src, 4, true)
			if (f != nil) != tc.cut {
				t.Fatalf("parsed in pieces %v, want %v", f != nil, tc.cut)
			}
			if f != nil && tc.positions {
				// Every range (line, column, byte) is the one a parse of
				// the whole file gives.
				whole, diags := hclsyntax.ParseConfig(src, "/etc/lvsd/lvsd.hcl", hcl2.Pos{Line: 1, Column: 1})
				if diags.HasErrors() {
					t.Fatalf("the whole file does not parse: %v", diags)
				}
				if !reflect.DeepEqual(syntaxOf(f.Body), whole.Body) {
					t.Fatal("the pieces' body differs from the whole file's")
				}
			}
			cfg, diags := requirePiecesReadAsOne(t, "/etc/lvsd/lvsd.hcl", src)
			// What is compared is a model, or the errors the case is about.
			errors := 0
			for _, d := range diags {
				if d.Severity == Error {
					errors++
				}
			}
			switch {
			case tc.errors == 0 && (cfg == nil || len(cfg.VirtualServers) < bigServices):
				t.Fatalf("no model of %d virtual servers: %v", bigServices, diags)
			case tc.errors < 0 && errors == 0, tc.errors > 0 && errors != tc.errors:
				t.Fatalf("%d errors, want %d (-1: some): %v", errors, tc.errors, diags)
			}
		})
	}
}

// Every HCL file of the corpus and of the examples loads the same on any
// number of goroutines (each too small to be cut, except as above).
func TestHCLCorpusOnEveryProcessorReadsAsOnOne(t *testing.T) {
	var files []string
	for _, pattern := range []string{"testdata/hcl/*.hcl*", "../examples/*.hcl*"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 2 {
		t.Fatalf("corpus: %d files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			requirePiecesReadAsOne(t, f, src)
		})
	}
}
