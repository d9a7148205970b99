package hcl

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// literalCases are files parseLiteral must read itself: every form it
// takes, where hcl puts each range.
var literalCases = map[string]string{
	"empty":                   "",
	"blank lines":             "\n\n  \n",
	"one attribute":           `a = "x"`,
	"attribute and newline":   "a = \"x\"\n",
	"spaces and tabs":         " \t a \t=\t\"x y\" \t\n",
	"empty string":            "a = \"\"\n",
	"numbers":                 "a = 0\nb = 42\nc = 3.25\nd = 007\ne = 1234567890123456789012345\n",
	"true false null":         "a = true\nb = false\nc = null\n",
	"tuple":                   "a = [\"x\", 1, true]\n",
	"empty tuple":             "a = []\nb = [ ]\n",
	"tuple over lines":        "a = [\n  \"x\",\n  \"y\", # why\n  // and\n  \"z\",\n]\n",
	"nested tuple":            "a = [[1, 2], [], [\"x\"]]\n",
	"block":                   "global {\n  router_id = \"r\"\n}\n",
	"block without newline":   "global {\n}",
	"empty block":             "global {}\nx {\n}\n",
	"labels":                  "virtual_server \"192.0.2.1:80\" {\n  real_server \"10.0.0.1:80\" {\n    weight = 1\n    TCP_CHECK {\n      connect_port = 80\n    }\n  }\n}\n",
	"bare labels":             "a b \"c\" d-e {\n}\n",
	"label touching":          "a\"b\"{\n}\n",
	"comments":                "# head\n// also\nglobal { # brace\n  a = 1 # after\n  // alone\n} # end\n# tail\n",
	"comment first":           "#x\na = 1\n",
	"comment with utf-8":      "# é ü 😀\na = 1\n",
	"blank then block":        "\n\nglobal {\n}\n",
	"many blocks":             strings.Repeat("x \"1\" {\n  y = [\"a\"]\n  z {\n    w = 2\n  }\n}\n\n", 50),
	"printable punctuation":   "a = \"!#&'()*+,-./:;<=>?@[]^_`{|}~ 0-9\"\n",
	"ident with dash":         "a-b = 1\n",
	"attribute after block":   "b {\n}\na = 1\n",
	"attribute named like kw": "true = false\nnull = [null]\n",
	"number then comment":     "a = 1# x\nb = 2// y\n",
	"tuple then comment":      "a = [1]# x\n",
	"string with hash":        "a = \"x # y // z\"\n",
}

// literalRefused are files parseLiteral must leave to hcl.
var literalRefused = map[string]string{
	"escape":               `a = "x\ny"`,
	"interpolation":        `a = "${b}"`,
	"escaped dollar":       `a = "$${b}"`,
	"percent":              `a = "100%"`,
	"dollar":               `a = "$5"`,
	"template directive":   `a = "%{if x}y%{endif}"`,
	"non-ascii string":     "a = \"é\"\n",
	"non-ascii ident":      "é = 1\n",
	"carriage return":      "a = 1\r\n",
	"heredoc":              "a = <<EOT\nx\nEOT\n",
	"function call":        "a = hostname()\n",
	"variable":             "a = b\n",
	"negative":             "a = -1\n",
	"exponent":             "a = 1e3\n",
	"trailing dot":         "a = 1.\n",
	"operator":             "a = 1 + 2\n",
	"conditional":          "a = true ? 1 : 2\n",
	"index":                "a = [1][0]\n",
	"object":               "a = {}\n",
	"one-line block":       "b { a = 1 }\n",
	"block comment":        "/* x */\na = 1\n",
	"comment at eof":       "a = 1 # x",
	"redefined":            "a = 1\na = 2\n",
	"unclosed block":       "b {\n",
	"stray brace":          "}\n",
	"missing newline":      "b {\n} c {\n}\n",
	"equals in block":      "b = {\n}\n",
	"unterminated string":  "a = \"x\n",
	"missing comma":        "a = [1 2]\n",
	"leading comma":        "a = [,]\n",
	"double equals":        "a == 1\n",
	"fat arrow":            "a => 1\n",
	"number label":         "b 1 {\n}\n",
	"quoted attribute":     "\"a\" = 1\n",
	"attribute then brace": "b {\n  a = 1 }\n",
	"for expression":       "a = [for x in y: x]\n",
	"parentheses":          "a = (1)\n",
	"tab in string":        "a = \"x\ty\"\n",
}

// TestLiteralParseIsHCLs parses each literal case, at the start of a file
// and as a piece further on in one, with parseLiteral and with hclsyntax:
// parseLiteral must read it, and give hcl's body, node for node and range
// for range.
func TestLiteralParseIsHCLs(t *testing.T) {
	for name, src := range literalCases {
		for _, start := range []hcl2.Pos{{Line: 1, Column: 1}, {Line: 40, Column: 1, Byte: 5000}} {
			t.Run(fmt.Sprintf("%s at %d", name, start.Line), func(t *testing.T) {
				got := parseLiteral([]byte(src), "x.hcl", start)
				if got == nil {
					t.Fatalf("parseLiteral left %q to hcl", src)
				}
				requireHCLsBody(t, []byte(src), start, got)
			})
		}
	}
}

// TestLiteralParseLeavesTheRestToHCL: what parseLiteral does not read
// itself, it leaves to hclsyntax (nil), whether hcl reads it or reports it.
func TestLiteralParseLeavesTheRestToHCL(t *testing.T) {
	for name, src := range literalRefused {
		t.Run(name, func(t *testing.T) {
			if got := parseLiteral([]byte(src), "x.hcl", hcl2.Pos{Line: 1, Column: 1}); got != nil {
				t.Fatalf("parseLiteral read %q itself", src)
			}
		})
	}
}

// TestLiteralParseReadsTheCorpusAsHCL parses the repository's lvsd.hcl
// files and the convert output of the load benchmark's table: those
// parseLiteral reads must be hcl's body; convert's output must be read.
func TestLiteralParseReadsTheCorpusAsHCL(t *testing.T) {
	names := []string{"testdata/hcl/full.hcl"}
	for _, dir := range []string{"../examples", "testdata/fuzz/FuzzLoadHCL"} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".hcl") {
				names = append(names, dir+"/"+e.Name())
			}
		}
	}
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := parseLiteral(src, name, hcl2.Pos{Line: 1, Column: 1}); got != nil {
			requireHCLsBody(t, src, hcl2.Pos{Line: 1, Column: 1}, got)
		}
	}
	src := []byte(piecesHCL(20, 3, noDefect))
	got := parseLiteral(src, "big.hcl", hcl2.Pos{Line: 1, Column: 1})
	if got == nil {
		t.Fatal("parseLiteral left the generated file to hcl")
	}
	requireHCLsBody(t, src, hcl2.Pos{Line: 1, Column: 1}, got)
}

// TestLiteralValueIsHCLs: for every attribute of the literal cases (and
// of the elements of their tuples), literalValue gives what hcl's Value
// gives.
func TestLiteralValueIsHCLs(t *testing.T) {
	taken := 0
	for name, src := range literalCases {
		got := parseLiteral([]byte(src), "x.hcl", hcl2.Pos{Line: 1, Column: 1})
		if got == nil {
			t.Fatalf("%s: parseLiteral left %q to hcl", name, src)
		}
		taken += requireLiteralValuesAreHCLs(t, got)
		requireLiteralExprValuesAreHCLs(t, readLiteral([]byte(src), "x.hcl", hcl2.Pos{Line: 1, Column: 1}))
	}
	if taken == 0 {
		t.Fatal("literalValue took no attribute's value")
	}
}

// requireLiteralValuesAreHCLs fails unless literalValue of each attribute
// (and tuple element) in body is its Value, and returns how many it took.
func requireLiteralValuesAreHCLs(t *testing.T, body *hclsyntax.Body) int {
	t.Helper()
	taken := 0
	var check func(e hclsyntax.Expression)
	check = func(e hclsyntax.Expression) {
		want, diags := e.Value(nil)
		if got, ok := literalValue(e); ok {
			taken++
			if diags.HasErrors() || !reflect.DeepEqual(got, want) {
				t.Fatalf("literalValue of %#v is %#v, hcl's Value %#v (%v)", e, got, want, diags)
			}
		}
		if tuple, ok := e.(*hclsyntax.TupleConsExpr); ok {
			for _, el := range tuple.Exprs {
				check(el)
			}
		}
	}
	for _, a := range body.Attributes {
		check(a.Expr)
	}
	for _, b := range body.Blocks {
		taken += requireLiteralValuesAreHCLs(t, b.Body)
	}
	return taken
}

// requireLiteralExprValuesAreHCLs fails unless each attribute's value as
// the decoder reads it from body (litExpr.value) is what hcl's Value of
// its syntax gives, in body and its blocks.
func requireLiteralExprValuesAreHCLs(t *testing.T, body *litBody) {
	t.Helper()
	for _, a := range body.attrs {
		want, diags := a.expr.syntax(body.file).Value(nil)
		if got := a.expr.value(); diags.HasErrors() || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: the literal's value is %#v, hcl's %#v (%v)", a.name, got, want, diags)
		}
	}
	for _, b := range body.blocks {
		requireLiteralExprValuesAreHCLs(t, b.Body.(*litBody))
	}
}

// loadBoth loads src as path reading its HCL with readLiteral and with
// hclsyntax alone, and fails unless both give the same model and the same
// diagnostics in the same order.
func loadBoth(t *testing.T, path string, src []byte) (*Config, Diagnostics) {
	t.Helper()
	noLiteral := partsLoader(1)
	noLiteral.noLiteral = true
	wantCfg, wantDiags := noLiteral.LoadSource(path, src)
	cfg, diags := partsLoader(1).LoadSource(path, src)
	if !reflect.DeepEqual(diags, wantDiags) {
		t.Fatalf("read literally, the diagnostics are\n%v\nwant (hclsyntax)\n%v", diags, wantDiags)
	}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Fatalf("read literally, the model differs from hclsyntax's")
	}
	return cfg, diags
}

// A file read literally (readLiteral, and the decoder's own reading of
// its values) loads into the model hclsyntax's body gives, with the same
// diagnostics in the same order: a table with errors of every kind the
// decoder reports, wrong types and numbers it reads itself, a big table
// in pieces, the checks benchmark's table, the corpus.
func TestLiteralReadDecodesAsHCLs(t *testing.T) {
	files := map[string][]byte{
		"runs":   runsHCL(60),
		"pieces": []byte(piecesHCL(bigServices, 2, noDefect)),
		"values": []byte(`global {
  router_id = 7
  lvs_program = "always"
  notify_timeout = 1.5
  reconcile_interval = "2s"
  status_page = "yes"
  vrrp_version = 1234567890
  lvs_sync_daemon {
    enabled = null
    port = "8848"
  }
}
vrrp_instance "VI" {
  state = "backup"
  interface = "eth0"
  virtual_router_id = 007
  priority = 2.5
  advert_int = 1000001
  preempt_delay = "300ms"
  nopreempt = 1
  virtual_ipaddress = ["192.0.2.1/24", 5, null]
  unicast_peer = "192.0.2.2"
}
virtual_server "192.0.2.1:80" {
  delay_loop = 0.5
  quorum = 99999999999
  scheduler_flags = []
  lb_algo = ["wrr"]
  lb_kind = true
  real_server "10.0.0.1:80" {
    weight = "3"
    TCP_CHECK {
      connect_port = 1000000000
      connect_timeout = 1000000
      retry = null
      warmup = ""
    }
  }
}
`),
	}
	var l Loader
	ka, diags := l.LoadSource("/etc/keepalived/keepalived.conf", checksConf())
	if ka == nil {
		t.Fatal(diags)
	}
	files["checks"] = ConvertToHCL(ka)
	for _, name := range []string{"testdata/hcl/full.hcl", "../examples/dr-pair.hcl"} {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = src
	}
	for name, src := range files {
		t.Run(name, func(t *testing.T) {
			if lb := readLiteral(src, "x.hcl", hcl2.Pos{Line: 1, Column: 1}); lb == nil && !strings.Contains(name, "/") {
				t.Fatal("readLiteral left the file to hcl")
			}
			loadBoth(t, "/etc/lvsd/lvsd.hcl", src)
		})
	}
}

// checksConf is a keepalived.conf of checkers with their settings, for
// its HCL (lvsd convert).
func checksConf() []byte {
	var b strings.Builder
	b.WriteString("global_defs {\n  router_id checks\n}\n")
	for v := range 20 {
		fmt.Fprintf(&b, "virtual_server 10.0.%d.1 80 {\n  delay_loop 6\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n", v)
		for i := range 8 {
			fmt.Fprintf(&b, "  real_server 10.128.%d.%d 80 {\n    weight %d\n    TCP_CHECK {\n      connect_ip 127.0.%d.1\n      connect_port %d\n"+
				"      connect_timeout 5\n      retry 1\n      delay_before_retry 1.5\n      warmup 6\n    }\n  }\n", v, i, i, i, 20000+i)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// FuzzLiteralReadDecodesAsHCLs: whatever the text, reading it literally
// loads what hclsyntax's body loads.
func FuzzLiteralReadDecodesAsHCLs(f *testing.F) {
	f.Add(runsHCL(6))
	for _, src := range literalCases {
		f.Add([]byte(src))
	}
	f.Add([]byte("global {\n  router_id = 1\n  vrrp_version = 99\n}\nvirtual_server \"192.0.2.1:80\" {\n  quorum = 1.5\n  delay_loop = 2000000\n  real_server \"10.0.0.1:80\" {\n    weight = [1]\n  }\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		loadBoth(t, "fuzz.hcl", src)
	})
}

// FuzzLiteralParseIsHCLs: whatever parseLiteral reads itself, hclsyntax
// reads without a diagnostic into the same body, and literalValue of its
// attributes is hcl's Value.
func FuzzLiteralParseIsHCLs(f *testing.F) {
	for _, src := range literalCases {
		f.Add([]byte(src))
	}
	for _, src := range literalRefused {
		f.Add([]byte(src))
	}
	full, err := os.ReadFile("testdata/hcl/full.hcl")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Fuzz(func(t *testing.T, src []byte) {
		if lb := readLiteral(src, "fuzz.hcl", hcl2.Pos{Line: 3, Column: 1, Byte: 17}); lb != nil {
			requireHCLsBody(t, src, hcl2.Pos{Line: 3, Column: 1, Byte: 17}, lb.syntax())
			requireLiteralValuesAreHCLs(t, lb.syntax())
			requireLiteralExprValuesAreHCLs(t, lb)
		}
	})
}

// parseLiteral is readLiteral's body as hclsyntax's, or nil.
func parseLiteral(src []byte, file string, start hcl2.Pos) *hclsyntax.Body {
	lb := readLiteral(src, file, start)
	if lb == nil {
		return nil
	}
	return lb.syntax()
}

// syntaxOf is body as hclsyntax's, when readLiteral read it.
func syntaxOf(body hcl2.Body) hcl2.Body {
	if lb, ok := body.(*litBody); ok {
		return lb.syntax()
	}
	return body
}

// requireHCLsBody fails unless hclsyntax parses src without a diagnostic
// into got.
func requireHCLsBody(t *testing.T, src []byte, start hcl2.Pos, got *hclsyntax.Body) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(src, got.SrcRange.Filename, start)
	if len(diags) > 0 {
		t.Fatalf("parseLiteral read %q, which hcl reports: %v", src, diags)
	}
	want := f.Body.(*hclsyntax.Body)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("parseLiteral's body of %q differs from hcl's at %s", src, firstDifference("body", reflect.ValueOf(got), reflect.ValueOf(want)))
	}
}

// firstDifference names the first place where got and want differ, with
// both values there.
func firstDifference(path string, got, want reflect.Value) string {
	if got.Kind() != want.Kind() {
		return fmt.Sprintf("%s: %v, want %v", path, got.Kind(), want.Kind())
	}
	switch got.Kind() {
	case reflect.Pointer, reflect.Interface:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return fmt.Sprintf("%s: nil %v, want nil %v", path, got.IsNil(), want.IsNil())
			}
			return ""
		}
		if got.Elem().Type() != want.Elem().Type() {
			return fmt.Sprintf("%s: %v, want %v", path, got.Elem().Type(), want.Elem().Type())
		}
		return firstDifference(path, got.Elem(), want.Elem())
	case reflect.Struct:
		for i := range got.NumField() {
			if d := firstDifference(path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice:
		if got.IsNil() != want.IsNil() || got.Len() != want.Len() {
			return fmt.Sprintf("%s: len %d (nil %v), want len %d (nil %v)", path, got.Len(), got.IsNil(), want.Len(), want.IsNil())
		}
		for i := range got.Len() {
			if d := firstDifference(fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if got.IsNil() != want.IsNil() || got.Len() != want.Len() {
			return fmt.Sprintf("%s: len %d (nil %v), want len %d (nil %v)", path, got.Len(), got.IsNil(), want.Len(), want.IsNil())
		}
		keys := want.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		for _, k := range keys {
			g := got.MapIndex(k)
			if !g.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := firstDifference(fmt.Sprintf("%s[%v]", path, k), g, want.MapIndex(k)); d != "" {
				return d
			}
		}
		return ""
	}
	if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
		return fmt.Sprintf("%s: %s, want %s", path, g, w)
	}
	return ""
}
