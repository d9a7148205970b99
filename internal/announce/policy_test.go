package announce_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/announce"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
)

// clusterConfig has two services on 192.0.2.100, one on 192.0.2.200, one
// on 2001:db8::100 and a fwmark service, announced over one neighbor.
const clusterConfig = `
global { lvs_program = "always" }
virtual_server "192.0.2.100:80" {
  quorum     = 2
  hysteresis = 1
  real_server "10.0.0.1:80" {}
  real_server "10.0.0.2:80" {}
}
virtual_server "192.0.2.100:443" {
  real_server "10.0.0.1:443" {}
}
virtual_server "192.0.2.200:80" {
  real_server "10.0.0.3:80" {}
}
virtual_server "[2001:db8::100]:80" {
  real_server "[2001:db8:1::1]:80" {}
}
virtual_server "fwmark 5" {
  real_server "10.0.0.4:80" {}
}
announce "bgp" {
  local_as  = 65001
  router_id = "10.9.0.2"
  neighbor "10.9.0.1" { remote_as = 65000 }
}
`

func loadCluster(t *testing.T) *hcl.Config {
	t.Helper()
	cfg, diags := hcltest.Loader(map[string]string{"c.hcl": clusterConfig}).Load("c.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return cfg
}

// healthy returns every configured service programmed with quorum.
func healthy(cfg *hcl.Config) []lvs.ServiceStatus {
	var out []lvs.ServiceStatus
	for _, vs := range cfg.VirtualServers {
		out = append(out, lvs.ServiceStatus{Key: vs.Key(), State: lvs.StateProgrammed, QuorumUp: true, Quorum: vs.Quorum, Hysteresis: vs.Hysteresis, LiveWeight: 2})
	}
	return out
}

func with(st []lvs.ServiceStatus, key string, f func(*lvs.ServiceStatus)) []lvs.ServiceStatus {
	out := append([]lvs.ServiceStatus(nil), st...)
	for i := range out {
		if out[i].Key == key {
			f(&out[i])
		}
	}
	return out
}

func without(st []lvs.ServiceStatus, key string) []lvs.ServiceStatus {
	var out []lvs.ServiceStatus
	for _, s := range st {
		if s.Key != key {
			out = append(out, s)
		}
	}
	return out
}

func TestDecideAnnouncesAVIPWhileEveryServiceOnItHasQuorum(t *testing.T) {
	cfg := loadCluster(t)
	all := healthy(cfg)
	const v4, v4b, v6 = "192.0.2.100/32", "192.0.2.200/32", "2001:db8::100/128"
	for _, tc := range []struct {
		name     string
		services []lvs.ServiceStatus
		all      string // withdrawAll
		want     map[string]bool
		reason   map[string]string // a part of the reason of a withdrawn VIP
	}{
		{name: "all healthy: every address, fwmark none", services: all,
			want: map[string]bool{v4: true, v4b: true, v6: true}},
		{name: "one of two services on a VIP below quorum withdraws the VIP, the others stay",
			services: with(all, "TCP:192.0.2.100:443", func(s *lvs.ServiceStatus) { s.QuorumUp = false; s.LiveWeight = 0 }),
			want:     map[string]bool{v4: false, v4b: true, v6: true},
			reason:   map[string]string{v4: "TCP:192.0.2.100:443: below quorum (live weight 0, quorum 1, hysteresis 0)"}},
		{name: "the quorum state, not the live weight, decides (hysteresis holds it up)",
			services: with(all, "TCP:192.0.2.100:80", func(s *lvs.ServiceStatus) { s.LiveWeight = 1 }),
			want:     map[string]bool{v4: true, v4b: true, v6: true}},
		{name: "a withdrawn service (its VRRP instance not MASTER) withdraws its VIP",
			services: with(all, "TCP:192.0.2.200:80", func(s *lvs.ServiceStatus) { s.State = lvs.StateWithdrawn }),
			want:     map[string]bool{v4: true, v4b: false, v6: true},
			reason:   map[string]string{v4b: "withdrawn, not programmed"}},
		{name: "a held service (mastership undecided) is not announced",
			services: with(all, "TCP:[2001:db8::100]:80", func(s *lvs.ServiceStatus) { s.State = lvs.StateHeld }),
			want:     map[string]bool{v4: true, v4b: true, v6: false}},
		{name: "no IPVS state yet announces nothing",
			services: nil,
			want:     map[string]bool{v4: false, v4b: false, v6: false},
			reason:   map[string]string{v4: "no IPVS state yet"}},
		{name: "a service missing from the state withdraws its VIP",
			services: without(all, "TCP:192.0.2.200:80"),
			want:     map[string]bool{v4: true, v4b: false, v6: true}},
		{name: "stopping withdraws every VIP", services: all, all: "stopping",
			want:   map[string]bool{v4: false, v4b: false, v6: false},
			reason: map[string]string{v4: "stopping", v6: "stopping"}},
		{name: "the maintenance file withdraws every VIP", services: all, all: "maintenance file /run/m exists",
			want:   map[string]bool{v4: false, v4b: false, v6: false},
			reason: map[string]string{v4b: "maintenance file /run/m exists"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := announce.Decide(cfg, tc.services, tc.all)
			if len(got) != len(tc.want) {
				t.Fatalf("decisions = %+v, want %d", got, len(tc.want))
			}
			for i, d := range got {
				if i > 0 && !got[i-1].Prefix.Addr().Less(d.Prefix.Addr()) {
					t.Errorf("decisions not sorted: %v", got)
				}
				want, ok := tc.want[d.Prefix.String()]
				if !ok {
					t.Errorf("unexpected decision %+v", d)
					continue
				}
				if d.Announce != want {
					t.Errorf("%s: announce = %v (%s), want %v", d.Prefix, d.Announce, d.Reason, want)
				}
				if r := tc.reason[d.Prefix.String()]; r != "" && !strings.Contains(d.Reason, r) {
					t.Errorf("%s: reason %q, want it to contain %q", d.Prefix, d.Reason, r)
				}
			}
		})
	}
}

func TestDecideIsPure(t *testing.T) {
	cfg := loadCluster(t)
	all := healthy(cfg)
	a, b := announce.Decide(cfg, all, ""), announce.Decide(cfg, all, "")
	if len(a) != len(b) {
		t.Fatal("different lengths")
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("%v != %v", a[i], b[i])
		}
	}
	if got := announce.Decide(nil, all, ""); got != nil {
		t.Errorf("no configuration: %v", got)
	}
	if a[0].Prefix != netip.MustParsePrefix("192.0.2.100/32") {
		t.Errorf("first = %v", a[0])
	}
}
