package hcl

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestAcceptModeAsKeepalivedSettlesIt: no_accept as keepalived 2.2.7
// settles it (seen with its nftables table: an element in `set vips`
// or none): accept by default, no_accept when written or under strict
// mode, strict mode resetting accept for VRRPv2 with its warning, and
// never for the address owner.
func TestAcceptModeAsKeepalivedSettlesIt(t *testing.T) {
	tests := []struct {
		name         string
		global, body string
		noAccept     bool
		warning      string
	}{
		{"default accepts", "", "", false, ""},
		{"no_accept", "", "no_accept", true, ""},
		{"accept", "", "accept", false, ""},
		{"vrrp_strict implies no_accept", "vrrp_strict", "", true, ""},
		{"strict_mode implies no_accept", "", "strict_mode", true, ""},
		{"vrrp_strict resets accept for VRRPv2", "vrrp_strict", "accept", true, "accept mode for VRRP version 2 does not comply with RFC3768"},
		{"vrrp_strict keeps accept for VRRPv3", "vrrp_strict", "accept\n version 3", false, ""},
		{"the owner accepts", "", "no_accept\n priority 255", false, ""},
		{"the owner accepts under vrrp_strict", "vrrp_strict", "priority 255", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf(`global_defs {
 %s
}
vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 %s
 virtual_ipaddress {
  192.0.2.1/24
 }
}
`, tt.global, tt.body)
			cfg, diags := kaLoadText(t, src, false)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			if got := cfg.Instances[0].Net.NoAccept; got != tt.noAccept {
				t.Errorf("NoAccept %v, want %v", got, tt.noAccept)
			}
			var warnings []string
			for _, d := range diags.Lenient() {
				warnings = append(warnings, d.Summary)
			}
			if tt.warning != "" && !slices.ContainsFunc(warnings, func(s string) bool { return strings.Contains(s, tt.warning) }) {
				t.Errorf("no warning %q in %q", tt.warning, warnings)
			}
			for _, w := range warnings {
				if strings.Contains(w, "no_accept") || strings.Contains(w, "firewall") {
					t.Errorf("a warning still says accept mode is left out: %q", w)
				}
			}
			assertConvertsBack(t, &Loader{}, cfg)
		})
	}
}

// TestHCLAcceptMode: HCL spells it as keepalived, no_accept = true or
// accept = false; the two disagreeing is refused.
func TestHCLAcceptMode(t *testing.T) {
	tests := []struct {
		attrs    string
		noAccept bool
		refusal  string
	}{
		{"", false, ""},
		{"no_accept = true", true, ""},
		{"accept = false", true, ""},
		{"accept = true", false, ""},
		{"no_accept = true\n  priority = 255", false, ""},
		{"accept = true\n  no_accept = true", false, "accept and no_accept disagree"},
	}
	for _, tt := range tests {
		t.Run(tt.attrs, func(t *testing.T) {
			src := fmt.Sprintf(`vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.1"]
  %s
}`, tt.attrs)
			l := Loader{ReadFile: func(string) ([]byte, error) { return []byte(src), nil }}
			cfg, diags := l.LoadSource("t.hcl", []byte(src))
			if tt.refusal != "" {
				if cfg != nil || !strings.Contains(diags.Error(), tt.refusal) {
					t.Errorf("want a refusal naming %q, got %v", tt.refusal, diags)
				}
				return
			}
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			if got := cfg.Instances[0].Net.NoAccept; got != tt.noAccept {
				t.Errorf("NoAccept %v, want %v", got, tt.noAccept)
			}
		})
	}
}
