package hcl_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/internal/hcltest"
)

// vipList returns an HCL list of n addresses.
func vipList(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		fmt.Fprintf(&b, "%q, ", fmt.Sprintf("10.%d.%d.1/32", i/250, i%250))
	}
	b.WriteString("]")
	return b.String()
}

// Every check vrrp.NewNode made on its configuration before issue 11 is
// made here, at the place of the problem, so that vrrp takes the model as
// final and cannot fail on it.
func TestVRRPValidationNamesThePlaceOfWhatNewNodeChecked(t *testing.T) {
	testRefusals(t, []refusal{
		{"vrid out of range", `vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 256
}`, `t.hcl:3:23: error: invalid virtual_router_id`},
		{"vrid missing", `vrrp_instance "V" {
  interface = "eth0"
}`, `t.hcl:1:1: error: missing virtual_router_id`},
		{"priority zero", instance("priority = 0"), `t.hcl:4:14: error: invalid priority`},
		{"no interface", `vrrp_instance "V" {
  virtual_router_id = 1
}`, `t.hcl:1:1: error: missing interface`},
		{"instance defined twice", instance() + `
vrrp_instance "V" {
  interface = "eth1"
  virtual_router_id = 2
}`, `t.hcl:5:1: error: duplicate vrrp_instance`},
		{"advert_int over 255 s", instance(`advert_int = "256s"`), `t.hcl:4:16: error: invalid advert_int`},
		{"auth AH without auth_pass", instance(authentication("AH", "")), `t.hcl:5:17: error: missing auth_pass; vrrp_instance "V": auth_type AH needs auth_pass`},
		{"auth unknown", instance(authentication("MD5", "x")), `t.hcl:5:17: error: invalid auth_type`},
		{"more addresses than an advert carries", instance("virtual_ipaddress = " + vipList(256)),
			`t.hcl:4:23: error: too many virtual_ipaddress; vrrp_instance "V" has 256 addresses; a VRRPv2 advert carries at most 255`},
		{"track_script unknown", instance(`track_script = ["nope"]`), `t.hcl:4:18: error: unknown vrrp_script`},
		{"track_script weight out of range", `vrrp_script "chk" { script = "true" }
` + instance(`track_script = ["chk weight 254"]`),
			`t.hcl:5:18: error: invalid track_script; "chk weight 254": weight must be a whole number from -253 to 253`},
		{"sync group names an unknown instance", instance() + `
vrrp_sync_group "G" {
  group = ["V", "W"]
}`, `t.hcl:6:11: error: unknown vrrp_instance; vrrp_sync_group "G" names "W"`},
		{"instance in two sync groups", instance() + `
vrrp_sync_group "G" {
  group = ["V"]
}
vrrp_sync_group "H" {
  group = ["V"]
}`, `t.hcl:9:11: error: instance in two sync groups`},
	})
}

// A track_script's weight is resolved once, in the model: its own when
// written, else its vrrp_script's (keepalived). vrrp reads Weight only.
func TestTrackScriptWeightIsResolvedInTheModel(t *testing.T) {
	src := `vrrp_script "chk" {
  script = "true"
  weight = -20
}
vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  track_script = ["chk"]
}
vrrp_instance "W" {
  interface = "eth0"
  virtual_router_id = 2
  track_script = ["chk weight 5"]
}`
	cfg, diags := hcltest.Loader(map[string]string{"t.hcl": src}).Load("t.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := cfg.Instances[0].TrackScripts[0].Weight; got != -20 {
		t.Errorf("inherited weight %d, want the vrrp_script's -20", got)
	}
	if got := cfg.Instances[1].TrackScripts[0].Weight; got != 5 {
		t.Errorf("own weight %d, want 5", got)
	}
}

// A repeated track_script is a warning, and the first one is used: before,
// vrrp waited forever for the second one's first result.
func TestRepeatedTrackScriptKeepsTheFirst(t *testing.T) {
	src := `vrrp_script "chk" { script = "true" }
vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = 1
  virtual_ipaddress = ["192.0.2.1/32"]
  track_script = ["chk weight 2", "chk"]
}`
	cfg, diags := hcltest.Loader(map[string]string{"t.hcl": src}).Load("t.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if want := `t.hcl:6:18: warning: duplicate track_script`; !strings.Contains(diags.Error(), want) {
		t.Errorf("diagnostics:\n%v\nwant %s", diags, want)
	}
	if got := cfg.Instances[0].TrackScripts; len(got) != 1 || got[0].Weight != 2 {
		t.Errorf("track scripts %+v, want the first one only", got)
	}
}

// VRRPv3 and IPv6 (RFC 5798): one address family per instance, version 3
// for IPv6, centisecond intervals, no authentication; each refusal names
// its place.
func TestVRRPv3ValidationNamesThePlace(t *testing.T) {
	testRefusals(t, []refusal{
		{"mixed families", instance(`virtual_ipaddress = ["192.0.2.1/32", "2001:db8::1/64"]`),
			`t.hcl:4:23: error: mixed address families; vrrp_instance "V": 2001:db8::1 is not IPv4`},
		{"IPv6 with version 2", instance(`version = 2`, `virtual_ipaddress = ["2001:db8::1/64"]`),
			`t.hcl:4:13: error: IPv6 with VRRPv2`},
		{"version 4", instance(`version = 4`), `t.hcl:4:13: error: invalid version`},
		{"fraction in v2", instance(`advert_int = 0.5`), `t.hcl:4:16: error: invalid advert_int`},
		{"v3 interval over 40.95 s", instance(`version = 3`, `advert_int = 41`), `t.hcl:5:16: error: invalid advert_int`},
		{"authentication in v3", instance(`version = 3`, authentication("PASS", "x")), `t.hcl:6:17: error: authentication in VRRPv3`},
		{"IPv4 peer of an IPv6 instance", instance(`virtual_ipaddress = ["2001:db8::1/64"]`, `unicast_peer = ["10.0.0.2"]`),
			`t.hcl:5:18: error: invalid unicast_peer; vrrp_instance "V": unicast_peer 10.0.0.2 is not IPv6`},
	})
}

func TestVRRPv3InstanceIsFinalInTheModel(t *testing.T) {
	src := `global { vrrp_version = 3 }
vrrp_instance "V4" {
  interface = "eth0"
  virtual_router_id = 7
  advert_int = 0.1
  virtual_ipaddress = ["192.0.2.1/32"]
}
vrrp_instance "V6" {
  interface = "eth0"
  virtual_router_id = 7
  advert_int = "250ms"
  virtual_ipaddress = ["2001:db8::1/64"]
}
vrrp_instance "OLD" {
  interface = "eth0"
  virtual_router_id = 8
  version = 2
}`
	cfg, diags := hcltest.Loader(map[string]string{"t.hcl": src}).Load("t.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for i, want := range []struct {
		version int
		ipv6    bool
		advert  string
	}{{3, false, "100ms"}, {3, true, "250ms"}, {2, false, "1s"}} {
		in := cfg.Instances[i]
		if in.Version != want.version || in.IPv6 != want.ipv6 || in.AdvertInt.String() != want.advert {
			t.Errorf("%s: version %d IPv6 %v advert_int %v, want %+v", in.Name, in.Version, in.IPv6, in.AdvertInt, want)
		}
	}
}

// keepalived.conf's VRRPv3 and IPv6 keywords, and keepalived's leniency:
// an address of the other family is ignored, IPv6 with version 2 becomes
// version 3, native_ipv6 is deprecated; each warning names its line.
func TestKeepalivedVRRPv3Keywords(t *testing.T) {
	src := `global_defs {
    vrrp_version 3
    vrrp_mcast_group6 ff02::12
}
vrrp_instance V4 {
    interface eth0
    virtual_router_id 9
    advert_int 0.1
    v3_checksum_as_v2
    virtual_ipaddress {
        192.0.2.1/32
        2001:db8::9/64
    }
}
vrrp_instance V6 {
    interface eth0
    virtual_router_id 9
    version 2
    unicast_peer {
        fe80::2
    }
    virtual_ipaddress {
        2001:db8::1/64
    }
}
vrrp_instance N6 {
    interface eth0
    virtual_router_id 10
    native_ipv6
}
`
	cfg, diags := hcltest.Loader(map[string]string{"keepalived.conf": src}).Load("keepalived.conf")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, want := range []string{
		"keepalived.conf:12: warning: address family must match VRRP instance - ignoring",
		"keepalived.conf:18: warning: cannot use IPv6 with VRRP version 2; setting version 3",
		"keepalived.conf:29: warning: native_ipv6 is deprecated",
	} {
		if !strings.Contains(diags.Error(), want) {
			t.Errorf("diagnostics:\n%v\nwant %s", diags, want)
		}
	}
	v4, v6, n6 := cfg.Instances[0], cfg.Instances[1], cfg.Instances[2]
	if v4.Version != 3 || v4.IPv6 || v4.AdvertInt.String() != "100ms" || !v4.V3ChecksumAsV2 || len(v4.VirtualIPs) != 1 {
		t.Errorf("V4: %+v", v4)
	}
	if v6.Version != 3 || !v6.IPv6 || len(v6.UnicastPeers) != 1 {
		t.Errorf("V6: %+v", v6)
	}
	if n6.Version != 3 || !n6.IPv6 {
		t.Errorf("N6: %+v", n6)
	}
}

// One address in two instances: keepalived 2.2.7 runs both (and its -t
// exits 0), so a keepalived.conf loads with a warning and its virtual
// servers follow the first instance; HCL refuses it at the second place.
func TestAddressInTwoInstancesIsKeepalivedsWarningAndHCLsError(t *testing.T) {
	conf := `vrrp_instance VI_1 {
 interface eth0
 virtual_router_id 96
 virtual_ipaddress {
  10.99.0.196
 }
}
vrrp_instance VI_2 {
 interface eth0
 virtual_router_id 97
 virtual_ipaddress {
  10.99.0.196
 }
}
virtual_server 10.99.0.196 80 {
 real_server 10.0.0.1 80 {
 }
}
`
	cfg, diags := hcltest.Loader(map[string]string{hcltest.KeepalivedFile: conf}).Load(hcltest.KeepalivedFile)
	if cfg == nil || diags.HasErrors() {
		t.Fatalf("keepalived.conf refused: %v", diags)
	}
	if len(cfg.Instances) != 2 || len(cfg.Instances[1].VirtualIPs) != 1 {
		t.Fatalf("instances %+v, want both with their address", cfg.Instances)
	}
	if got := cfg.VirtualServers[0].VRRPInstance; got != "VI_1" {
		t.Errorf("virtual server follows %q, want VI_1", got)
	}
	found := false
	for _, d := range diags.Warnings() {
		if d.Summary == "duplicate virtual_ipaddress" {
			found = true
			if d.Pos.Line != 12 || d.Lenient {
				t.Errorf("%v (lenient %v): want a plain warning at line 12 (keepalived's -t exits 0)", d, d.Lenient)
			}
		}
	}
	if !found {
		t.Errorf("no duplicate virtual_ipaddress warning in %v", diags)
	}
	src := `vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 96
  virtual_ipaddress = ["10.99.0.196"]
}
vrrp_instance "VI_2" {
  interface         = "eth0"
  virtual_router_id = 97
  virtual_ipaddress = ["10.99.0.196"]
}
`
	if cfg, diags := hcltest.Loader(map[string]string{hcltest.HCLFile: src}).Load(hcltest.HCLFile); cfg != nil || !strings.Contains(diags.Error(), "lvsd.hcl:9") {
		t.Errorf("HCL with one address in two instances: %v, want an error at lvsd.hcl:9", diags)
	}
}
