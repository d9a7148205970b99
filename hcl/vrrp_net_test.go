package hcl

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParseRouteReadsKeepalivedsSyntax(t *testing.T) {
	tests := []struct {
		line  string
		want  string // routeLines of the parsed route
		notes int
	}{
		{"src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1", "src 192.168.100.1 192.168.109.0/24 via 192.168.200.254 dev eth1", 0},
		{"192.168.111.0/24 dev eth2 no_track", "192.168.111.0/24 dev eth2", 0},
		{"192.168.113.0/24 via 192.168.100.252 or 192.168.100.253", "192.168.113.0/24 via 192.168.100.252 or 192.168.100.253", 1},
		{"blackhole 192.168.113.1/32", "blackhole 192.168.113.1/32", 0},
		{"0.0.0.0/0 gw 192.168.0.1 table 100", "0.0.0.0/0 via 192.168.0.1 table 100", 1},
		{"to 10.1.0.0/16 via 10.0.0.1 metric 20 protocol static onlink", "10.1.0.0/16 via 10.0.0.1 metric 20 protocol 4 onlink", 0},
		{"default via 2001:db8::1 dev eth0 table main", "::/0 via 2001:db8::1 dev eth0 table 254", 0},
		{"unreachable 10.9.0.0/16 scope global", "unreachable 10.9.0.0/16 scope global", 0},
	}
	for _, tt := range tests {
		r, notes, err := ParseRoute(tt.line)
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if got := r.String(); got != tt.want || len(notes) != tt.notes {
			t.Errorf("%q: got %q with %d notes, want %q with %d", tt.line, got, len(notes), tt.want, tt.notes)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/8 mtu 1400", "192.168.100./24 dev eth0", "blackhole 10.0.0.0/8 via 10.0.0.1",
		"10.0.0.0/8 via 2001:db8::1", "10.0.0.0/8 nexthop via 10.0.0.1"} {
		if _, _, err := ParseRoute(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestParseRuleReadsKeepalivedsSyntax(t *testing.T) {
	tests := []struct{ line, want string }{
		{"from 192.168.2.0/24 table 1", "from 192.168.2.0/24 table 1"},
		{"to 192.168.2.0/24 table 1 no_track priority 100", "to 192.168.2.0/24 priority 100 table 1"},
		{"from all fwmark 24/0xff iif eth0 preference 39 lookup 40", "fwmark 24/0xff iif eth0 priority 39 table 40"},
		{"from 2001:db8::/64 prohibit prio 7", "from 2001:db8::/64 priority 7 prohibit"},
	}
	for _, tt := range tests {
		r, err := ParseRule(tt.line)
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if got := r.String(); got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.line, got, tt.want)
		}
	}
	for _, bad := range []string{"from 192.168.100./24 table 1", "from 10.0.0.0/8", "from 10.0.0.0/8 to 2001:db8::/32 table 1",
		"from 10.0.0.0/8 goto 40 table 2", "from 10.0.0.0/8 blackhole table 3"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestKeepalivedNetworkKeywordsAsKeepalivedReadsThem(t *testing.T) {
	src := `global_defs {
 vrrp_mcast_group4 224.0.0.19
}
static_ipaddress {
 192.0.2.50/24 dev eth1 scope link
}
static_routes {
 198.51.100.0/24 via 192.0.2.254 dev eth1
}
static_rules {
 from 198.51.100.0/24 table 7
}
vrrp_instance VI_1 {
 state MASTER
 interface eth0
 use_vmac vrrp51 00:00:5e:00:01
 virtual_router_id 51
 priority 100
 authentication {
  auth_type AH
  auth_pass secret
 }
 virtual_ipaddress {
  192.0.2.1/24
  192.0.2.2 dev eth1
 }
 virtual_ipaddress_excluded {
  2001:db8::1/64
 }
 virtual_routes {
  203.0.113.0/24 via 192.0.2.254
 }
 virtual_rules {
  to 203.0.113.0/24 table 8
 }
}
vrrp_instance VI_2 {
 interface eth1
 virtual_router_id 52
 mcast_dst_ip 224.0.0.20
 virtual_ipaddress {
  192.0.2.3
 }
 unicast_peer {
  192.0.2.9
 }
 unicast_ttl 64
 use_vmac
}
`
	cfg, diags := kaLoadText(t, src, false)
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	in := cfg.Instances[0]
	if m := in.Net.VMAC; m == nil || m.Name != "vrrp51" || m.MAC.String() != "00:00:5e:00:01:33" || m.XmitBase {
		t.Errorf("VMAC %+v, want vrrp51 with 00:00:5e:00:01:33 (the VRID completes five octets)", m)
	}
	// A VIP without dev goes on the VMAC; an excluded address of the
	// other family on the interface (the VMAC carries the instance's).
	if in.VirtualIPs[0].Dev != "vrrp51" || in.VirtualIPs[1].Dev != "eth1" || in.Net.ExcludedIPs[0].Dev != "eth0" {
		t.Errorf("devices %q %q %q", in.VirtualIPs[0].Dev, in.VirtualIPs[1].Dev, in.Net.ExcludedIPs[0].Dev)
	}
	// A route with a gateway and no dev: the kernel picks the device
	// (keepalived: "cannot track route ... with no interface").
	if in.Net.Routes[0].Dev != "" || in.Net.Routes[0].Via[0] != netip.MustParseAddr("192.0.2.254") {
		t.Errorf("route %+v", in.Net.Routes[0])
	}
	// Static rules are numbered first, then the instances', from 16384
	// down, as keepalived numbers them.
	if cfg.Static.Rules[0].Priority != 16384 || in.Net.Rules[0].Priority != 16383 {
		t.Errorf("rule priorities %d, %d; want 16384, 16383", cfg.Static.Rules[0].Priority, in.Net.Rules[0].Priority)
	}
	if in.AuthType != "AH" || in.State != StateBackup {
		t.Errorf("auth %q state %s: AH with state MASTER starts as BACKUP, as keepalived", in.AuthType, in.State)
	}
	if in.Net.McastGroup != netip.MustParseAddr("224.0.0.19") || in.Net.UnicastTTL != 255 {
		t.Errorf("group %s TTL %d; want global vrrp_mcast_group4 and 255", in.Net.McastGroup, in.Net.UnicastTTL)
	}
	in2 := cfg.Instances[1]
	if in2.Net.McastGroup != netip.MustParseAddr("224.0.0.20") || in2.Net.UnicastTTL != 64 {
		t.Errorf("second instance: group %s TTL %d", in2.Net.McastGroup, in2.Net.UnicastTTL)
	}
	if m := in2.Net.VMAC; m == nil || m.Name != "vrrp.52" || m.MAC.String() != "00:00:5e:00:01:34" || !m.XmitBase {
		t.Errorf("second VMAC %+v: unicast needs vmac_xmit_base, which keepalived sets", m)
	}
	if len(cfg.Static.Addresses) != 1 || len(cfg.Static.Routes) != 1 {
		t.Errorf("static %+v", cfg.Static)
	}
	var lenient []string
	for _, d := range diags.Lenient() {
		lenient = append(lenient, d.Summary)
	}
	for _, want := range []string{"Initial state master is incompatible with AH", "unicast with use_vmac requires vmac_xmit_base",
		"Rule has no preference specified - setting to 16384"} {
		if !slices.ContainsFunc(lenient, func(s string) bool { return strings.Contains(s, want) }) {
			t.Errorf("no warning %q in %q", want, lenient)
		}
	}
	assertConvertsBack(t, &Loader{}, cfg)
}

func TestHCLNetworkKeywordsAreValidated(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"route without via or dev in static_routes", `static_routes = ["10.0.0.0/8"]`, "needs via or dev"},
		{"mcast_dst_ip not multicast", `vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.1"]
  mcast_dst_ip = "192.0.2.9"
}`, "invalid mcast_dst_ip"},
		{"unicast_ttl 0", `vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.1"]
  unicast_peer = ["192.0.2.9"]
  unicast_ttl = 0
}`, "invalid unicast_ttl"},
		{"use_vmac with unicast and no vmac_xmit_base", `vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.1"]
  unicast_peer = ["192.0.2.9"]
  use_vmac = true
}`, "use_vmac with unicast peers"},
		{"VMAC name too long", `vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.1"]
  use_vmac = "a-very-long-vmac-name"
}`, "invalid use_vmac"},
		{"rule option lvsd lacks", `static_rules = ["from 10.0.0.0/8 table 3 realms 4"]`, "invalid rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Loader{ReadFile: func(string) ([]byte, error) { return []byte(tt.body), nil }}
			cfg, diags := l.LoadSource("t.hcl", []byte(tt.body))
			if cfg != nil || !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("want a refusal naming %q, got %v", tt.want, diags)
			}
		})
	}
}

func TestVMACNamesAndUseVMACAddrAsKeepalived(t *testing.T) {
	src := `vrrp_instance A {
 interface eth0
 virtual_router_id 51
 use_vmac
 use_vmac_addr
 virtual_ipaddress {
  10.0.0.1/24
  10.0.0.2/24 dev eth0
  10.1.0.1/24 dev eth1
  10.1.0.2/24 dev eth1
 }
 virtual_ipaddress_excluded {
  fd00::1/64
 }
}
vrrp_instance B {
 interface eth1
 virtual_router_id 51
 use_vmac
 virtual_ipaddress {
  10.2.0.1/24
 }
}
vrrp_instance C {
 interface eth2
 virtual_router_id 52
 use_vmac vrrp.51
 virtual_ipaddress {
  10.3.0.1/24
 }
}
`
	cfg, diags := kaLoadText(t, src, false)
	if cfg == nil {
		t.Fatalf("refused: %v", diags)
	}
	var got []string
	for _, in := range cfg.Instances {
		for _, m := range append([]VMAC{*in.Net.VMAC}, in.Net.AddrVMACs...) {
			got = append(got, in.Name+" "+m.Name+" on "+m.Base+" "+m.MAC.String())
		}
		for _, v := range append(append([]VIP(nil), in.VirtualIPs...), in.Net.ExcludedIPs...) {
			got = append(got, in.Name+" "+v.Prefix.String()+" dev "+v.Dev)
		}
	}
	// C names vrrp.51, so A's VMAC is the next of keepalived's sequence;
	// A's addresses on eth1 and of IPv6 get VMACs of their own, named
	// before B's; B shares the one A has on eth1 with its MAC (measured
	// with keepalived 2.2.7: the same names).
	want := []string{
		"A vrrp1.51 on eth0 00:00:5e:00:01:33", "A vrrp2.51 on eth1 00:00:5e:00:01:33", "A vrrp6.51 on eth0 00:00:5e:00:02:33",
		"A 10.0.0.1/24 dev vrrp1.51", "A 10.0.0.2/24 dev vrrp1.51", "A 10.1.0.1/24 dev vrrp2.51", "A 10.1.0.2/24 dev vrrp2.51",
		"A fd00::1/64 dev vrrp6.51",
		"B vrrp2.51 on eth1 00:00:5e:00:01:33", "B 10.2.0.1/24 dev vrrp2.51",
		"C vrrp.51 on eth2 00:00:5e:00:01:34", "C 10.3.0.1/24 dev vrrp.51",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	assertConvertsBack(t, &Loader{}, cfg)
}
