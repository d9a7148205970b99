package hcl_test

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// loader reads files (name → content) through hcltest, with VIP set in
// its environment for env().
func loader(files map[string]string) *hcl.Loader {
	l := hcltest.Loader(files)
	l.LookupEnv = func(k string) (string, bool) { v, ok := map[string]string{"VIP": "192.0.2.100"}[k]; return v, ok }
	return l
}

// refusal is a configuration t.hcl that must not load, and a line its
// diagnostics must contain.
type refusal struct{ name, src, want string }

// testRefusals loads each configuration and wants it refused with its line.
func testRefusals(t *testing.T, tests []refusal) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, diags := hcltest.Loader(map[string]string{"t.hcl": tt.src}).Load("t.hcl")
			if cfg != nil || !diags.HasErrors() {
				t.Fatalf("loaded a broken config; diagnostics: %v", diags)
			}
			if !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("diagnostics:\n%v\nwant a line containing:\n%s", diags, tt.want)
			}
		})
	}
}

// instance is vrrp_instance "V" on eth0 with virtual_router_id 1, then
// attrs, each on its own line from line 4.
func instance(attrs ...string) string {
	var b strings.Builder
	b.WriteString("vrrp_instance \"V\" {\n  interface = \"eth0\"\n  virtual_router_id = 1\n")
	for _, a := range attrs {
		b.WriteString("  " + a + "\n")
	}
	b.WriteString("}")
	return b.String()
}

// authentication is an authentication block of an instance (see instance).
func authentication(typ, pass string) string {
	return fmt.Sprintf("authentication {\n    auth_type = %q\n    auth_pass = %q\n  }", typ, pass)
}

// stripPositions clears every place so that two readers' models compare.
func stripPositions(c *hcl.Config) {
	c.Files = nil
	c.Global.Pos, c.Global.Positions = hcl.Pos{}, hcl.Positions{}
	for i := range c.Scripts {
		c.Scripts[i].Pos, c.Scripts[i].Positions = hcl.Pos{}, hcl.Positions{}
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		in.Pos, in.Positions = hcl.Pos{}, hcl.Positions{}
		for j := range in.VirtualIPs {
			in.VirtualIPs[j].Pos = hcl.Pos{}
		}
	}
	for i := range c.SyncGroups {
		c.SyncGroups[i].Pos, c.SyncGroups[i].Positions = hcl.Pos{}, hcl.Positions{}
	}
	for i := range c.VirtualServers {
		vs := &c.VirtualServers[i]
		vs.Pos, vs.Positions = hcl.Pos{}, hcl.Positions{}
		if vs.SorryServer != nil {
			vs.SorryServer.Pos = hcl.Pos{}
		}
		for j := range vs.RealServers {
			rs := &vs.RealServers[j]
			rs.Pos, rs.Positions = hcl.Pos{}, hcl.Positions{}
			for k := range rs.Checkers {
				ch := &rs.Checkers[k]
				ch.Pos, ch.Positions = hcl.Pos{}, hcl.Positions{}
				if h := ch.HTTP(); h != nil {
					for u := range h.URLs {
						h.URLs[u].Pos, h.URLs[u].Positions = hcl.Pos{}, hcl.Positions{}
					}
				}
			}
		}
	}
}

func mustLoad(t *testing.T, path string) *hcl.Config {
	t.Helper()
	cfg, diags := hcl.Load(path)
	if diags.HasErrors() {
		t.Fatalf("hcl.Load(%s):\n%v", path, diags)
	}
	return cfg
}

func TestHCLAndJSONGiveTheSameModel(t *testing.T) {
	native := mustLoad(t, "testdata/hcl/full.hcl")
	json := mustLoad(t, "testdata/hcl/full.hcl.json")
	stripPositions(native)
	stripPositions(json)
	if !reflect.DeepEqual(native, json) {
		t.Errorf("models differ:\nHCL:  %+v\nJSON: %+v", native, json)
	}
}

func TestFullConfigValues(t *testing.T) {
	cfg := mustLoad(t, "testdata/hcl/full.hcl")
	in := cfg.Instances[0]
	if in.State != hcl.StateMaster || in.Priority != 150 || in.AuthPass != "secret" || !in.NoPreempt || in.PreemptDelay != 30*time.Second {
		t.Errorf("instance VI_1 = %+v", in)
	}
	if got := in.VirtualIPs[1]; got.Prefix != netip.MustParsePrefix("192.0.2.101/32") || got.Dev != "eth0" {
		t.Errorf("bare VIP = %+v, want /32 on the instance's interface", got)
	}
	if in.TrackInterfaces[1] != (hcl.TrackInterface{Name: "eth2", Weight: -10}) {
		t.Errorf("track_interface = %+v", in.TrackInterfaces)
	}
	gw := cfg.Instances[1]
	if gw.State != hcl.StateBackup || gw.Priority != 100 || gw.AdvertInt != time.Second || gw.GarpMasterRepeat != 5 || gw.GarpMasterDelay != 5*time.Second {
		t.Errorf("defaults of VI_GW = %+v", gw)
	}
	vs := cfg.VirtualServers[0]
	if vs.VRRPInstance != "VI_1" || vs.PersistenceGranularity != 24 || vs.PersistenceTimeout != 600*time.Second {
		t.Errorf("virtual_server = %+v", vs)
	}
	ssl := vs.RealServers[0].Checkers[0]
	if ssl.Connect != netip.MustParseAddrPort("10.0.1.11:9443") || ssl.RetryDelay != 500*time.Millisecond || ssl.Warmup != 5*time.Second {
		t.Errorf("SSL_GET = %+v", ssl)
	}
	if urls := ssl.HTTP().URLs; urls[0].Digest != "9b3a0c85a887a256d6939da88aabd8cd" || len(urls[0].StatusCodes) != 2 || urls[1].StatusCodes[0] != (hcl.StatusRange{200, 299}) {
		t.Errorf("urls = %+v", urls)
	}
	rs2 := vs.RealServers[1]
	if rs2.Weight != 1 || rs2.InhibitOnFailure {
		t.Errorf("real_server 2 = %+v", rs2)
	}
	misc, tcp, http := rs2.Checkers[0], rs2.Checkers[1], rs2.Checkers[2]
	if misc.Misc().Timeout != 3*time.Second || !misc.Misc().Dynamic || misc.RetryDelay != 3*time.Second {
		t.Errorf("MISC_CHECK = %+v", misc)
	}
	if tcp.Retry != 2 || tcp.RetryDelay != time.Second || tcp.Timeout != 5*time.Second || tcp.DelayLoop != 10*time.Second || tcp.Connect != netip.MustParseAddrPort("10.0.0.12:8443") {
		t.Errorf("TCP_CHECK defaults = %+v", tcp)
	}
	if http.HTTP().Virtualhost != "app.example.com" || http.RetryDelay != 3*time.Second || http.HTTP().HTTPVersion != "1.0" || !http.Alpha {
		t.Errorf("HTTP_GET defaults = %+v", http)
	}
	fw := cfg.VirtualServers[1]
	if fw.FWMark != 7 || fw.IPv6 || fw.RealServers[0].Checkers[0].Connect != netip.MustParseAddrPort("192.0.2.21:80") {
		t.Errorf("fwmark service = %+v", fw)
	}
	v6 := cfg.VirtualServers[2]
	if !v6.IPv6 || v6.PersistenceGranularity != 128 || v6.Key() != "UDP:[2001:db8::100]:80" {
		t.Errorf("IPv6 service = %+v key %s", v6, v6.Key())
	}
}

func TestIncludesAndFunctions(t *testing.T) {
	l := loader(map[string]string{
		"/etc/lvsd/lvsd.hcl": `include = ["conf.d/*.hcl"]
vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  priority = hostname() == "lb1" ? 150 : 100
  virtual_ipaddress = [env("VIP"), env("MISSING", "192.0.2.101")]
}`,
		"/etc/lvsd/conf.d/web.hcl": `virtual_server "192.0.2.100:80" {
  real_server "192.0.2.11:80" {}
}`,
		"/etc/lvsd/conf.d/api.hcl.json": `{"virtual_server": {"192.0.2.101:80": {"lb_algo": "rr"}}}`,
	})
	cfg, diags := l.Load("/etc/lvsd/lvsd.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.Instances[0].Priority != 150 {
		t.Errorf("priority = %d, want 150 from hostname() == lb1", cfg.Instances[0].Priority)
	}
	if got := cfg.Instances[0].VirtualIPs[1].Prefix.Addr().String(); got != "192.0.2.101" {
		t.Errorf("env default = %s", got)
	}
	if len(cfg.VirtualServers) != 1 || cfg.VirtualServers[0].VRRPInstance != "VI_1" {
		t.Errorf("included virtual servers = %+v", cfg.VirtualServers)
	}
	if len(cfg.Files) != 2 || cfg.Files[1] != "/etc/lvsd/conf.d/web.hcl" {
		t.Errorf("files = %v (only *.hcl matches the glob)", cfg.Files)
	}
}

func TestIncludeCycleIsAnError(t *testing.T) {
	l := loader(map[string]string{
		"/a.hcl": `include = "b.hcl"`,
		"/b.hcl": `include = ["a.hcl"]`,
	})
	_, diags := l.Load("/a.hcl")
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "/b.hcl:1:1: error: include cycle") {
		t.Errorf("diagnostics = %v", diags)
	}
}

// TestBrokenConfigNamesEveryPlace checks that each mistake is reported at
// its FILE:LINE:COL with a message that says what is wrong.
func TestBrokenConfigNamesEveryPlace(t *testing.T) {
	const base = `vrrp_instance "VI_1" {
  interface = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.1/24"]
}
`
	testRefusals(t, []refusal{
		{"unknown attribute suggests", `vrrp_instance "VI_1" {
  interface = "eth0"
  priorty = 100
}`, `t.hcl:3:3: error: Unsupported argument; An argument named "priorty" is not expected here. Did you mean "priority"?`},
		{"syntax error", `vrrp_instance "VI_1" {`, `t.hcl:1:22: error: Unclosed configuration block`},
		{"duplicate vrid", base + `vrrp_instance "VI_2" {
  interface = "eth0"
  virtual_router_id = 51
}`, `t.hcl:8:23: error: duplicate virtual_router_id`},
		{"priority out of range", instance("priority = 256"), `t.hcl:4:14: error: invalid priority`},
		{"auth_pass over 8", instance(authentication("PASS", "123456789")), `t.hcl:6:17: error: auth_pass too long`},
		{"garp_master_refresh_repeat zero", instance("garp_master_refresh_repeat = 0"), `t.hcl:4:32: error: invalid garp_master_refresh_repeat`},
		{"unknown scheduler", base + `virtual_server "192.0.2.1:80" {
  lb_algo = "wrrr"
}`, `t.hcl:7:13: error: unknown scheduler; virtual_server "192.0.2.1:80": lb_algo "wrrr" is not an IPVS scheduler (rr wrr lc wlc lblc lblcr dh sh sed nq mh fo ovf). Did you mean "wrr"?`},
		{"orphan virtual server", base + `virtual_server "192.0.2.9:80" {}`, `t.hcl:6:1: error: virtual_server outside every vrrp_instance`},
		{"DR port differs", base + `virtual_server "192.0.2.1:80" {
  lb_kind = "DR"
  real_server "10.0.0.1:8080" {}
}`, `t.hcl:8:3: error: real_server port differs in DR`},
		{"weight out of range", base + `virtual_server "192.0.2.1:80" {
  real_server "10.0.0.1:80" { weight = 65536 }
}`, `t.hcl:7:40: error: invalid weight`},
		{"bad VIP", instance(`virtual_ipaddress = ["192.0.2.300/24"]`), `t.hcl:4:23: error: invalid virtual_ipaddress`},
		{"wrong type", `vrrp_instance "V" {
  interface = "eth0"
  virtual_router_id = "x"
}`, `t.hcl:3:23: error: invalid virtual_router_id`},
		{"unknown track_script", `vrrp_script "chk_web" { script = "true" }
` + instance(`track_script = ["chk_wbe"]`), `t.hcl:5:18: error: unknown vrrp_script; vrrp_instance "V" tracks "chk_wbe", which is not defined. Did you mean "chk_web"?`},
		{"fwmark without owner", base + `virtual_server "fwmark 3" {}`, `t.hcl:6:1: error: fwmark service without vrrp_instance`},
		{"bad status code", base + `virtual_server "192.0.2.1:80" {
  real_server "10.0.0.1:80" {
    HTTP_GET {
      url {
        path = "/"
        status_code = ["200-99"]
      }
    }
  }
}`, `t.hcl:11:23: error: invalid status_code`},
		{"bad regex", base + `virtual_server "192.0.2.1:80" {
  real_server "10.0.0.1:80" {
    HTTP_GET {
      url {
        path = "/"
        regex = "("
      }
    }
  }
}`, `t.hcl:11:17: error: invalid regex`},
		{"unknown function", `vrrp_instance "V" {
  interface = nodename()
}`, `t.hcl:2:15: error: Call to unknown function`},
	})
}

func TestLVSProgramAlwaysAllowsOrphans(t *testing.T) {
	l := loader(map[string]string{"t.hcl": `global { lvs_program = "always" }
virtual_server "192.0.2.9:80" {
  real_server "10.0.0.1:80" {}
}`})
	cfg, diags := l.Load("t.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if cfg.VirtualServers[0].VRRPInstance != "" {
		t.Errorf("owner = %q", cfg.VirtualServers[0].VRRPInstance)
	}
}

func TestParseAddrPort(t *testing.T) {
	good := map[string]string{
		"192.0.2.1:80":      "192.0.2.1:80",
		"192.0.2.1 80":      "192.0.2.1:80",
		"[2001:db8::1]:443": "[2001:db8::1]:443",
		"2001:db8::1 443":   "[2001:db8::1]:443",
		"192.0.2.1":         "192.0.2.1:0",
	}
	for in, want := range good {
		got, err := hcl.ParseAddrPort(in)
		if err != nil || got.String() != want {
			t.Errorf("hcl.ParseAddrPort(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "host:80", "192.0.2.1:99999", "[192.0.2.1:80", "192.0.2.1:x"} {
		if _, err := hcl.ParseAddrPort(bad); err == nil {
			t.Errorf("hcl.ParseAddrPort(%q) accepted", bad)
		}
	}
}

func TestParseVIP(t *testing.T) {
	v, err := hcl.ParseVIP("192.0.2.100/24 dev eth0 label eth0:1 scope global brd 192.0.2.255")
	if err != nil || v.Dev != "eth0" || v.Label != "eth0:1" || v.Scope != "global" || v.Broadcast.String() != "192.0.2.255" || v.Prefix.Bits() != 24 {
		t.Errorf("hcl.ParseVIP = %+v, %v", v, err)
	}
	for _, bad := range []string{"", "192.0.2.1 dev", "192.0.2.1 colour red", "192.0.2.1 scope wide"} {
		if _, err := hcl.ParseVIP(bad); err == nil {
			t.Errorf("hcl.ParseVIP(%q) accepted", bad)
		}
	}
}
