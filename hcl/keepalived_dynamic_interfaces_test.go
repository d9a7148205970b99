package hcl

import (
	"slices"
	"testing"
)

// TestDynamicInterfacesIsAPlainWarning: dynamic_interfaces [allow_if_changes]
// is read and said (keepalived -t exits 0 on it, and lvsd runs the same
// file), another option is keepalived's configuration error.
func TestDynamicInterfacesIsAPlainWarning(t *testing.T) {
	for _, tt := range []struct{ line, lenient string }{
		{"dynamic_interfaces", ""},
		{"dynamic_interfaces allow_if_changes", ""},
		{"dynamic_interfaces always", "Unknown dynamic_interfaces option 'always'"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			cfg, diags := kaLoadText(t, "global_defs {\n "+tt.line+"\n}\n"+kaInstance(""), false)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			if !slices.ContainsFunc(diags.Warnings(), func(d Diagnostic) bool {
				return d.Summary == "keyword dynamic_interfaces is not supported by lvsd" && d.Pos.Line == 2
			}) {
				t.Errorf("want the plain warning at line 2, got %v", diags)
			}
			lenient := diags.Lenient()
			if tt.lenient == "" && len(lenient) != 0 || tt.lenient != "" && (len(lenient) != 1 || lenient[0].Summary != tt.lenient) {
				t.Errorf("lenient %v, want %q", lenient, tt.lenient)
			}
		})
	}
}
