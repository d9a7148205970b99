package hcl

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// bigHCL repeats unit until the text is long enough to be parsed in
// pieces; %d in unit is the repetition's number.
func bigHCL(unit string) []byte {
	var b strings.Builder
	for i := 0; b.Len() < 3*pieceSize; i++ {
		fmt.Fprintf(&b, unit, i)
	}
	return []byte(b.String())
}

func TestParseInPiecesIsTheWholeFileParse(t *testing.T) {
	for _, tc := range []struct {
		name, unit string
		cut        bool // the file must be parsed in pieces
	}{
		{"blocks", "virtual_server \"10.0.0.%d:80\" {\n  lb_algo = \"wlc\"\n  real_server \"10.1.0.1:80\" {\n    weight = 1\n  }\n}\n\n", true},
		{"object", "a%d = {\n  b = 1\n}\nc {\n}\n", true},
		{"unicode and tabs", "# é %d\nvs \"ü\" {\n\tw = \"日本\"\n}\n", true},
		// Lines that look like a cut inside a heredoc and a comment: a
		// piece ending there fails, and the file is parsed whole.
		{"heredoc", "notify_%d {\n  script = <<EOT\n}\nvirtual_server {\nEOT\n}\n", false},
		{"comment", "/* %d\n}\nvirtual_server {\n*/\nx {\n}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := bigHCL(tc.unit)
			whole, diags := hclsyntax.ParseConfig(src, "big.hcl", hcl2.Pos{Line: 1, Column: 1})
			if diags.HasErrors() {
				t.Fatalf("the test's file does not parse: %v", diags)
			}
			pieces := parseInPieces("big.hcl", src, 4, true)
			if pieces == nil {
				if tc.cut {
					t.Error("a big file without errors was not parsed in pieces")
				}
				return
			}
			if !reflect.DeepEqual(syntaxOf(pieces.Body), whole.Body) {
				t.Error("the pieces' body differs from the whole file's")
			}
		})
	}
}

func TestParseInPiecesLeavesErrorsToTheWholeFileParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"error in a late piece", append(bigHCL("vs%d {\n  a = 1\n}\n"), "vs {\n  a = \n}\n"...)},
		{"attribute in two pieces", append(append([]byte("a = 1\n"), bigHCL("vs%d {\n}\n")...), "a = 2\n"...)},
		{"unclosed block", append([]byte("open {\n"), bigHCL("vs%d {\n}\n")...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if f := parseInPieces("big.hcl", tc.src, 4, true); f != nil {
				t.Error("parsed in pieces; want nil, so that the whole file is parsed and reports")
			}
		})
	}
}

func TestBodyContentIsContent(t *testing.T) {
	schema := &hcl2.BodySchema{
		Attributes: []hcl2.AttributeSchema{{Name: "weight"}, {Name: "name", Required: true}},
		Blocks:     []hcl2.BlockHeaderSchema{{Type: "real_server", LabelNames: []string{"addr"}}, {Type: "tcp_check"}},
	}
	for _, tc := range []struct{ name, src string }{
		{"accepted", "name = \"a\"\nweight = 2\nreal_server \"10.0.0.1:80\" {\n}\ntcp_check {\n}\nreal_server \"10.0.0.2:80\" {\n}\n"},
		{"no blocks", "name = \"a\"\n"},
		{"unknown attribute", "name = \"a\"\nwieght = 2\n"},
		{"unknown block", "name = \"a\"\nreal_servre \"x\" {\n}\n"},
		{"missing required", "weight = 2\n"},
		{"extra label", "name = \"a\"\ntcp_check \"x\" {\n}\n"},
		{"missing label", "name = \"a\"\nreal_server {\n}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, diags := hclsyntax.ParseConfig([]byte(tc.src), "t.hcl", hcl2.Pos{Line: 1, Column: 1})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			want, wantDiags := f.Body.Content(schema)
			got, gotDiags := bodyContent(f.Body, schema)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("content: got %#v, want %#v", got, want)
			}
			if gotDiags.Error() != wantDiags.Error() {
				t.Errorf("diagnostics: got %v, want %v", gotDiags, wantDiags)
			}
		})
	}
}
