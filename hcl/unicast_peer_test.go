package hcl

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestUnicastPeerTTLReadAsKeepalivedReadsIt: min_ttl/max_ttl after a
// unicast_peer address, with keepalived 2.2.7's defaults (0, 255) and its
// leniency (alloc_vrrp_unicast_peer): a bad number is skipped, an option
// without a value or with an unknown name ends the line, min above max is
// reported; each is a lenient warning, and HCL refuses each.
func TestUnicastPeerTTLReadAsKeepalivedReadsIt(t *testing.T) {
	peer := netip.MustParseAddr("192.0.2.9")
	tests := []struct {
		name, line string
		want       []UnicastPeerTTL
		warning    string
	}{
		{"no options", "192.0.2.9", nil, ""},
		{"both", "192.0.2.9 min_ttl 60 max_ttl 64", []UnicastPeerTTL{{peer, 60, 64}}, ""},
		{"min only keeps max 255", "192.0.2.9 min_ttl 250", []UnicastPeerTTL{{peer, 250, 255}}, ""},
		{"max only keeps min 0", "192.0.2.9 max_ttl 1", []UnicastPeerTTL{{peer, 0, 1}}, ""},
		{"bad number skipped, the next option taken", "192.0.2.9 min_ttl 300 max_ttl 64", []UnicastPeerTTL{{peer, 0, 64}}, "number '300' outside range [0, 255]"},
		{"missing value ends the line", "192.0.2.9 min_ttl 5 max_ttl", []UnicastPeerTTL{{peer, 5, 255}}, "(VI_1) max_ttl is missing a value"},
		{"not a number", "192.0.2.9 max_ttl x9", nil, "invalid number 'x9'"},
		{"negative", "192.0.2.9 max_ttl -1", nil, "negative number '-1'"},
		{"unknown option ends the line", "192.0.2.9 hops 5 min_ttl 9", nil, "(VI_1) unknown unicast_peer option hops"},
		{"min above max", "192.0.2.9 min_ttl 70 max_ttl 64", []UnicastPeerTTL{{peer, 70, 64}}, "(VI_1) min_ttl 70 > max_ttl 64 - all packets will be discarded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := kaLoadText(t, kaInstance(" unicast_peer {\n  "+tt.line+"\n }\n"), false)
			if cfg == nil {
				t.Fatalf("refused: %v", diags)
			}
			in := cfg.Instances[0]
			if !slices.Equal(in.UnicastPeers, []netip.Addr{peer}) || !reflect.DeepEqual(in.UnicastPeerTTLs, tt.want) {
				t.Errorf("peers %v, TTL ranges %+v; want %+v", in.UnicastPeers, in.UnicastPeerTTLs, tt.want)
			}
			lenient := diags.Lenient()
			switch {
			case tt.warning == "" && len(diags) != 0:
				t.Errorf("want no diagnostic, got %v", diags)
			case tt.warning != "" && (len(lenient) != 1 || lenient[0].Summary != tt.warning || lenient[0].Pos.Line != 8):
				t.Errorf("want the lenient warning %q at line 8, got %v", tt.warning, diags)
			}

			hclSrc := "vrrp_instance \"VI_1\" {\n  interface = \"eth0\"\n  virtual_router_id = 51\n  virtual_ipaddress = [\"192.0.2.1\"]\n" +
				"  unicast_peer = [\"" + tt.line + "\"]\n}\n"
			hl := kaTestLoader()
			hcfg, hdiags := hl.LoadSource("t.hcl", []byte(hclSrc))
			if tt.warning != "" {
				if hcfg != nil || !strings.Contains(fmt.Sprint(hdiags), tt.warning) {
					t.Errorf("HCL: want refused naming %q, got %v", tt.warning, hdiags)
				}
				return
			}
			if hcfg == nil || !reflect.DeepEqual(hcfg.Instances[0].UnicastPeerTTLs, tt.want) {
				t.Fatalf("HCL: %v %v", hcfg, hdiags)
			}
			l := kaTestLoader()
			assertConvertsBack(t, &l, cfg)
		})
	}
}
