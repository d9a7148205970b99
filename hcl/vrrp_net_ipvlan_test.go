package hcl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// TestUseIPVLANAsKeepalivedReadsIt: use_ipvlan [NAME] [ADDR] [flag], in
// any order; the default name is a VMAC's (vrrp.VRID), the default flag
// bridge; the VIPs stay on the instance's interface; a second flag or address is
// ignored with keepalived's error, an address of the other family
// skipped; an IPv4 instance without an address is refused.
func TestUseIPVLANAsKeepalivedReadsIt(t *testing.T) {
	tests := []struct {
		args             string
		name, addr, flag string
		warning, refusal string
	}{
		{"192.0.2.10/24", "vrrp.51", "192.0.2.10/24", "bridge", "", ""},
		{"ipv51 private 192.0.2.10", "ipv51", "192.0.2.10/32", "private", "", ""},
		{"vepa 192.0.2.10/24 ipv51", "ipv51", "192.0.2.10/24", "vepa", "", ""},
		{"192.0.2.10/24 private vepa", "vrrp.51", "192.0.2.10/24", "private", "ipvlan type already specified - ignoring 'vepa'", ""},
		{"192.0.2.10/24 192.0.2.11/24", "vrrp.51", "192.0.2.10/24", "bridge", "ipvlan address already specified", ""},
		{"2001:db8::10/64", "", "", "", "MUST match vrrp instance family", "needs an address"},
		{"", "", "", "", "", "needs an address"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			src := fmt.Sprintf(`vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 51
 use_ipvlan %s
 virtual_ipaddress {
  192.0.2.1/24
 }
}
`, tt.args)
			cfg, diags := kaLoadText(t, src, false)
			var warnings []string
			for _, d := range diags.Lenient() {
				warnings = append(warnings, d.Summary)
			}
			if tt.warning != "" && !slices.ContainsFunc(warnings, func(s string) bool { return strings.Contains(s, tt.warning) }) {
				t.Errorf("no warning %q in %q", tt.warning, warnings)
			}
			if tt.refusal != "" {
				if cfg != nil || !strings.Contains(diags.Error(), tt.refusal) {
					t.Errorf("want a refusal naming %q, got %v", tt.refusal, diags)
				}
				return
			}
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			in := cfg.Instances[0]
			m := in.Net.VMAC
			if m == nil || !m.IPVLAN || m.Name != tt.name || m.Addr.String() != tt.addr || m.IPVLANFlag != tt.flag || m.MAC != nil || m.Base != "eth0" {
				t.Fatalf("ipvlan %+v, want %s %s %s on eth0", m, tt.name, tt.addr, tt.flag)
			}
			if in.VirtualIPs[0].Dev != "eth0" {
				t.Errorf("the VIP is on %q, want eth0 (keepalived 2.2.7 leaves it on the instance's interface)", in.VirtualIPs[0].Dev)
			}
			assertConvertsBack(t, &Loader{}, cfg)
		})
	}
}

// TestHCLUseIPVLAN: HCL spells it as keepalived; with use_vmac it is
// refused, and an IPv6 instance needs no address.
func TestHCLUseIPVLAN(t *testing.T) {
	tests := []struct {
		attrs, vip, refusal string
		addr                netip.Prefix
	}{
		{`use_ipvlan = "192.0.2.10/24"`, "192.0.2.1", "", netip.MustParsePrefix("192.0.2.10/24")},
		{`use_ipvlan = true`, "fe80::1", "", netip.Prefix{}},
		{`use_ipvlan = true`, "192.0.2.1", "needs an address", netip.Prefix{}},
		{"use_ipvlan = \"192.0.2.10/24\"\n  use_vmac = true", "192.0.2.1", "use_ipvlan with use_vmac", netip.Prefix{}},
		{`use_ipvlan = "one two 192.0.2.10/24"`, "192.0.2.1", "invalid use_ipvlan", netip.Prefix{}},
	}
	for _, tt := range tests {
		t.Run(tt.attrs, func(t *testing.T) {
			src := fmt.Sprintf(`vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = [%q]
  %s
}`, tt.vip, tt.attrs)
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
			if m := cfg.Instances[0].Net.VMAC; m == nil || !m.IPVLAN || m.Addr != tt.addr || m.Name != "vrrp.1" {
				t.Errorf("ipvlan %+v, want vrrp.1 with %s", m, tt.addr)
			}
		})
	}
}
