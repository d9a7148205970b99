package hcl_test

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

const syncPairHCL = `
global {
%s
}
vrrp_instance "VI_1" {
  interface         = "eth1"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.100/24"]
}
virtual_server "192.0.2.100:80" {
  real_server "10.0.0.1:80" {}
}
`

const syncPairConf = `
global_defs {
%s
}
vrrp_instance VI_1 {
  interface eth1
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.100/24
  }
%s
}
virtual_server 192.0.2.100 80 {
  protocol TCP
  lb_algo rr
  lb_kind DR
  real_server 10.0.0.1 80 {
  }
}
`

func TestSyncDaemonDefaultsAndForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  *hcl.Config
		want hcl.LVSSyncDaemon
	}{
		{"HCL default: on, the owning instance's interface and VRID",
			hcltest.Load(t, strings.Replace(syncPairHCL, "%s", "", 1)),
			hcl.LVSSyncDaemon{Enabled: true, Interface: "eth1", Instance: "VI_1", SyncID: 51}},
		{"HCL off",
			hcltest.Load(t, strings.Replace(syncPairHCL, "%s", "lvs_sync_daemon {\n enabled = false\n}", 1)),
			hcl.LVSSyncDaemon{}},
		{"HCL block with instance: interface and id from it",
			hcltest.Load(t, strings.Replace(syncPairHCL, "%s", "lvs_sync_daemon {\n instance = \"VI_1\"\n ttl = 2\n port = 8850\n maxlen = 1400\n group = \"239.1.2.3\"\n}", 1)),
			hcl.LVSSyncDaemon{Enabled: true, Interface: "eth1", Instance: "VI_1", SyncID: 51, TTL: 2, Port: 8850, MaxLen: 1400, Group: netip.MustParseAddr("239.1.2.3")}},
		{"HCL block without instance: both daemons, id 0",
			hcltest.Load(t, strings.Replace(syncPairHCL, "%s", "lvs_sync_daemon {\n interface = \"eth2\"\n}", 1)),
			hcl.LVSSyncDaemon{Enabled: true, Interface: "eth2"}},
		{"keepalived.conf without lvs_sync_daemon: off, as keepalived",
			hcltest.LoadKeepalived(t, strings.Replace(strings.Replace(syncPairConf, "%s", "", 1), "%s", "", 1)),
			hcl.LVSSyncDaemon{}},
		{"keepalived.conf lvs_sync_daemon IF INSTANCE id maxlen port ttl group",
			hcltest.LoadKeepalived(t, strings.Replace(strings.Replace(syncPairConf, "%s", "lvs_sync_daemon eth2 VI_1 id 7 maxlen 1400 port 8850 ttl 3 group 239.9.9.9", 1), "%s", "", 1)),
			hcl.LVSSyncDaemon{Enabled: true, Interface: "eth2", Instance: "VI_1", SyncID: 7, MaxLen: 1400, Port: 8850, TTL: 3, Group: netip.MustParseAddr("239.9.9.9")}},
		{"keepalived.conf lvs_sync_daemon IF inst NAME: id is the VRID",
			hcltest.LoadKeepalived(t, strings.Replace(strings.Replace(syncPairConf, "%s", "lvs_sync_daemon eth2 inst VI_1", 1), "%s", "", 1)),
			hcl.LVSSyncDaemon{Enabled: true, Interface: "eth2", Instance: "VI_1", SyncID: 51}},
		{"keepalived.conf lvs_sync_daemon IF alone: both daemons",
			hcltest.LoadKeepalived(t, strings.Replace(strings.Replace(syncPairConf, "%s", "lvs_sync_daemon eth2", 1), "%s", "", 1)),
			hcl.LVSSyncDaemon{Enabled: true, Interface: "eth2"}},
		{"deprecated lvs_sync_daemon_interface in vrrp_instance",
			hcltest.LoadKeepalived(t, strings.Replace(strings.Replace(syncPairConf, "%s", "", 1), "%s", "lvs_sync_daemon_interface eth3", 1)),
			hcl.LVSSyncDaemon{Enabled: true, Interface: "eth3", Instance: "VI_1", SyncID: 51}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cfg.Global.LVSSyncDaemon
			got.Pos, got.Positions = hcl.Pos{}, hcl.Positions{}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSyncDaemonRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{"lvs_sync_daemon {\n instance = \"VI_2\"\n}", "unknown lvs_sync_daemon instance"},
		{"lvs_sync_daemon {\n id = 51\n}", "lvs_sync_daemon without interface"},
		{"lvs_sync_daemon {\n instance = \"VI_1\"\n id = 256\n}", "invalid lvs_sync_daemon id"},
		{"lvs_sync_daemon {\n instance = \"VI_1\"\n ttl = 300\n}", "invalid lvs_sync_daemon ttl"},
		{"lvs_sync_daemon {\n instance = \"VI_1\"\n group = \"10.0.0.1\"\n}", "invalid lvs_sync_daemon group"},
	} {
		l := hcltest.Loader(map[string]string{"/etc/lvsd/lvsd.hcl": strings.Replace(syncPairHCL, "%s", tc.block, 1)})
		cfg, diags := l.Load("/etc/lvsd/lvsd.hcl")
		if cfg != nil || !strings.Contains(diags.Error(), tc.want) || !strings.Contains(diags.Error(), "lvsd.hcl:") {
			t.Errorf("%s: loaded %v, diagnostics %v; want %q with its place", tc.block, cfg != nil, diags, tc.want)
		}
	}
}

// TestSyncDaemonDefaultSaysNothingOfAnUnknownInstance loads a virtual
// server naming an instance that is not defined, without an
// lvs_sync_daemon block: the one error is the virtual server's, at its
// place (the default sync daemon, derived from it, used to repeat it
// without a place: FuzzLoadHCL found it).
func TestSyncDaemonDefaultSaysNothingOfAnUnknownInstance(t *testing.T) {
	l := hcltest.Loader(map[string]string{"/etc/lvsd/lvsd.hcl": "virtual_server \"192.0.2.1:80\" {\n  vrrp_instance = \"VI_0\"\n}\n"})
	cfg, diags := l.Load("/etc/lvsd/lvsd.hcl")
	if cfg != nil || !diags.HasErrors() {
		t.Fatalf("loaded %v, diagnostics %v; want an error", cfg != nil, diags)
	}
	for _, d := range diags {
		if d.Pos.File == "" {
			t.Errorf("diagnostic without a place: %v", d)
		}
		if strings.Contains(d.Summary, "lvs_sync_daemon") {
			t.Errorf("the default sync daemon reports: %v", d)
		}
	}
	if !strings.Contains(diags.Error(), "unknown vrrp_instance") {
		t.Errorf("diagnostics %v; want the virtual server's unknown vrrp_instance", diags)
	}
}
