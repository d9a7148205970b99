package hcl

import (
	"slices"
	"testing"
)

// TestGarpGroupReadAsKeepalivedReadsIt: a garp_group is read with
// keepalived 2.2.7's configuration errors (lenient warnings, -t 5) and
// then said with one plain warning: lvsd runs the file without it.
func TestGarpGroupReadAsKeepalivedReadsIt(t *testing.T) {
	tests := []struct {
		name, src string
		lenient   []string
	}{
		{"intervals and an interface", "garp_group {\n garp_interval 0.001\n gna_interval 0.5\n interface eth0\n}\n", nil},
		{"interfaces block", "garp_group {\n garp_interval 1\n interfaces {\n  eth0\n  eth1\n }\n}\n", nil},
		{"not a number", "garp_group {\n garp_interval x\n interface eth0\n}\n", []string{"invalid number 'x'"}},
		{"an interface in two groups", "garp_group {\n garp_interval 1\n interface eth0\n}\ngarp_group {\n gna_interval 1\n interfaces {\n  eth1\n  eth0\n }\n}\n",
			[]string{"garp_group already specified for eth0 - ignoring"}},
		{"no interval", "garp_group {\n interface eth0\n}\n", []string{"garp group 0 does not have any delay set - removing"}},
		{"empty interfaces block", "garp_group {\n garp_interval 1\n interfaces {\n }\n}\n", []string{"Warning - empty garp_group interfaces block"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := kaLoadText(t, tt.src+kaInstance(""), false)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			var got []string
			for _, d := range diags.Lenient() {
				got = append(got, d.Summary)
			}
			if !slices.Equal(got, tt.lenient) {
				t.Errorf("lenient %q, want %q", got, tt.lenient)
			}
			said := slices.ContainsFunc(diags.Warnings(), func(d Diagnostic) bool { return d.Summary == "keyword garp_group is not supported by lvsd" })
			if removed := len(tt.lenient) > 0 && tt.lenient[0] == "garp group 0 does not have any delay set - removing"; said == removed {
				t.Errorf("the plain warning said %v for a group removed %v: %v", said, removed, diags)
			}
		})
	}
}
