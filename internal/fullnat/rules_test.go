package fullnat

import (
	"net/netip"
	"testing"

	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestDesiredTakesEveryFullNATServiceAndItsPool: only FNAT services get
// a rule, with their group's addresses as one range; a tag reads back
// as the rule it names.
func TestDesiredTakesEveryFullNATServiceAndItsPool(t *testing.T) {
	cfg := hcltest.LoadKeepalived(t, `
local_address_group laddr_g1 {
  10.0.0.251
  10.0.0.250 lan
  10.0.0.252-253
}
virtual_server 10.1.0.100 81 {
  protocol TCP
  lb_algo rr
  lb_kind FNAT
  laddr_group_name laddr_g1
  real_server 10.0.0.11 80 {
  }
}
virtual_server 10.1.0.100 82 {
  protocol TCP
  lb_algo rr
  lb_kind NAT
  real_server 10.0.0.11 80 {
  }
}
`)
	got := Desired(cfg)
	want := Rule{Protocol: "TCP", VIP: netip.MustParseAddrPort("10.1.0.100:81"), From: netip.MustParseAddr("10.0.0.250"), To: netip.MustParseAddr("10.0.0.253")}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("Desired = %+v, want [%+v]", got, want)
	}
	if back, ok := parseTag(want.Tag()); !ok || back != want {
		t.Errorf("tag %q reads back as %+v, %t", want.Tag(), back, ok)
	}
}
