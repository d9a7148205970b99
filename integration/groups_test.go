package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// groupsConfig is a keepalived.conf of n virtual_server_groups of members
// addresses each (10.G.0.1 … on port 80), every group with reals real
// servers checked by TCP_CHECK; extra adds lines to the first group.
func groupsConfig(n, members, reals int, firstGroup ...string) string {
	var b strings.Builder
	for g := range n {
		fmt.Fprintf(&b, "virtual_server_group G%d {\n", g)
		if g == 0 && len(firstGroup) > 0 {
			for _, m := range firstGroup {
				fmt.Fprintf(&b, "  %s\n", m)
			}
		} else {
			fmt.Fprintf(&b, "  10.%d.%d.1-%d 80\n", 100+g/250, g%250, members)
		}
		b.WriteString("}\n")
		fmt.Fprintf(&b, "virtual_server group G%d {\n  protocol TCP\n  lb_algo rr\n  lb_kind NAT\n  delay_loop 60\n", g)
		for r := range reals {
			fmt.Fprintf(&b, "  real_server 172.16.%d.%d 8080 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n", g%250, r+1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// TestGroupReloadTouchesOnlyTheChangedMembers: a reload that adds one
// member to a virtual_server_group and removes another costs the
// operations of those two services only (keepalived #2253, #1226 were
// bugs here), on the table of 100 groups × 20 members × 16 real servers
// (2,000 services, keepalived #2318's shape); the figures are logged.
func TestGroupReloadTouchesOnlyTheChangedMembers(t *testing.T) {
	const groups, members, reals = 100, 20, 16
	start := time.Now()
	cfg := hcltest.LoadKeepalived(t, groupsConfig(groups, members, reals))
	loadTime := time.Since(start)
	if len(cfg.VirtualServers) != groups*members {
		t.Fatalf("%d services, want %d", len(cfg.VirtualServers), groups*members)
	}
	k := lvstest.NewFakeKernel(lvs.Table{})
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	start = time.Now()
	m.SetConfig(cfg)
	applyTime := time.Since(start)
	initial := len(k.Applied)
	if want := groups * members * (1 + reals); initial != want {
		t.Errorf("start: %d operations, want %d (a service and its real servers each)", initial, want)
	}
	k.ResetApplied()

	// G0's members: 10.100.0.1-20; drop .20, add .21.
	first := make([]string, 0, members)
	for i := 1; i < members; i++ {
		first = append(first, fmt.Sprintf("10.100.0.%d 80", i))
	}
	first = append(first, fmt.Sprintf("10.100.0.%d 80", members+1))
	reloaded := hcltest.LoadKeepalived(t, groupsConfig(groups, members, reals, first...))
	m.SetConfig(reloaded)
	var added, removed, other []string
	for _, op := range k.Applied {
		switch addr := op.Service.Addr.String(); {
		case addr == fmt.Sprintf("10.100.0.%d:80", members+1):
			added = append(added, op.String())
		case addr == fmt.Sprintf("10.100.0.%d:80", members):
			removed = append(removed, op.String())
		default:
			other = append(other, op.String())
		}
	}
	if len(added) != 1+reals || len(removed) == 0 || len(removed) > 1+reals || len(other) != 0 {
		t.Errorf("reload: %d operations on the new member (want %d), %d on the removed one (want 1..%d), %d on others (want 0): %v",
			len(added), 1+reals, len(removed), 1+reals, len(other), other)
	}
	t.Logf("%d groups × %d members × %d real servers: keepalived.conf read in %v, %d operations applied in %v; a one-member change on reload: %d operations",
		groups, members, reals, loadTime.Round(time.Millisecond), initial, applyTime.Round(time.Millisecond), len(k.Applied))
}
