package hcl

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

const kaFullNAT = `
local_address_group laddr_g1 {
    10.0.0.251 dpdk0
    10.0.0.250
    10.0.0.252-253
}
virtual_server 10.1.0.100 81 {
    protocol TCP
    lb_algo rr
    lb_kind FNAT
    laddr_group_name laddr_g1
    real_server 10.0.0.11 8080 {
    }
}
virtual_server 10.1.0.100 82 {
    protocol TCP
    lb_algo rr
    lb_kind FULLNAT
    laddr_group_name laddr_g1
    real_server 10.0.0.12 80 {
    }
}
`

const hclFullNAT = `
global { lvs_program = "always" }
local_address_group "laddr_g1" {
  addresses = ["10.0.0.251 dpdk0", "10.0.0.250", "10.0.0.252-253"]
}
virtual_server "10.1.0.100:81" {
  lb_algo          = "rr"
  lb_kind          = "FNAT"
  laddr_group_name = "laddr_g1"
  real_server "10.0.0.11:8080" {}
}
virtual_server "10.1.0.100:82" {
  lb_algo          = "rr"
  lb_kind          = "FULLNAT"
  laddr_group_name = "laddr_g1"
  real_server "10.0.0.12:80" {}
}
`

// TestFullNATReadsTheSameInHCLAndKeepalivedConf: DPVS's spelling
// (lb_kind FNAT or FULLNAT, laddr_group_name, local_address_group with an
// interface after an address, ranges) gives each FULLNAT service its pool,
// a NAT real server keeps its own port, and lvsd convert writes it back.
func TestFullNATReadsTheSameInHCLAndKeepalivedConf(t *testing.T) {
	pool := []netip.Addr{netip.MustParseAddr("10.0.0.251"), netip.MustParseAddr("10.0.0.250"),
		netip.MustParseAddr("10.0.0.252"), netip.MustParseAddr("10.0.0.253")}
	for _, tc := range []struct{ name, src string }{{"keepalived.conf", kaFullNAT}, {"fullnat.hcl", hclFullNAT}} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			cfg, diags := l.LoadSource(tc.name, []byte(tc.src))
			if cfg == nil || diags.HasErrors() {
				t.Fatalf("refused: %v", diags)
			}
			for _, vs := range cfg.VirtualServers {
				if vs.LBKind != KindFNAT || vs.LocalAddressGroup != "laddr_g1" || !slices.Equal(vs.LocalAddresses, pool) {
					t.Errorf("%s: lb_kind %s group %q pool %v", vs.Name, vs.LBKind, vs.LocalAddressGroup, vs.LocalAddresses)
				}
			}
			if got := cfg.VirtualServers[0].RealServers[0].Addr.String(); got != "10.0.0.11:8080" {
				t.Errorf("a FULLNAT real server keeps its port like NAT: %s", got)
			}
			assertConvertsBack(t, &l, cfg)
		})
	}
}

// TestFullNATRefusesWhatItCannotTranslate names the place of each
// FULLNAT service lvsd cannot offer.
func TestFullNATRefusesWhatItCannotTranslate(t *testing.T) {
	service := func(addr, extra string) string {
		return "virtual_server " + addr + " {\n protocol TCP\n lb_kind FNAT\n" + extra + " real_server 10.0.0.11 80 {\n }\n}\n"
	}
	group := func(entries ...string) string {
		return "local_address_group g {\n " + strings.Join(entries, "\n ") + "\n}\n"
	}
	for _, tc := range []struct{ name, src, want string }{
		{"no group", service("10.1.0.100 81", ""), "lb_kind FNAT without laddr_group_name"},
		{"undefined group", service("10.1.0.100 81", " laddr_group_name nope\n"), "undefined local_address_group"},
		{"not one range", group("10.0.0.250", "10.0.0.252") + service("10.1.0.100 81", " laddr_group_name g\n"), "10.0.0.251 is missing"},
		{"IPv6 pool", group("fd00::1") + service("10.1.0.100 81", " laddr_group_name g\n"), "not IPv4"},
		{"fwmark service", group("10.0.0.250") + service("fwmark 3", " laddr_group_name g\n"), "fwmark service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := kaTestLoader()
			_, diags := l.LoadSource("keepalived.conf", []byte(tc.src))
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.want) || !strings.Contains(diags.Error(), "keepalived.conf:") {
				t.Errorf("want an error at its place with %q, got %v", tc.want, diags)
			}
		})
	}
}
