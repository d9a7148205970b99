package lvs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
)

// TestKernelProgramsTunnelsEnginesAndTimeouts: against the kernel, the
// TUN settings (gue with its port and remote checksum, gre), the sip
// persistence engine, an inhibited sorry server and lvs_timeouts are
// what ipvsadm reads back (-Ln --tun-info, -L --timeout), and lvsd's own
// reader sees them too: a repair pass afterwards changes nothing.
func TestKernelProgramsTunnelsEnginesAndTimeouts(t *testing.T) {
	e := newKernelEnv(t)
	k := e.open(lvs.KernelOptions{})
	cfg := hcltest.LoadKeepalived(t, `
global_defs {
  lvs_timeouts tcp 901 tcpfin 61 udp 121
}
virtual_server 192.0.2.80 80 {
  protocol TCP
  lb_algo rr
  lb_kind TUN type gue port 6080 remcsum
  sorry_server 10.0.9.9 80
  sorry_server_inhibit
  real_server 10.0.1.1 80 {
    weight 3
  }
}
virtual_server 192.0.2.81 5060 {
  protocol UDP
  lb_algo rr
  lb_kind TUN type gre
  persistence_timeout 60
  persistence_engine sip
  real_server 10.0.1.2 5060 {
    weight 2
  }
}
`)
	m := lvs.NewManager(k, lvs.ManagerOptions{})
	m.SetConfig(cfg)
	out := e.ipvsadmRun("-Ln", "--tun-info")
	t.Logf("ipvsadm -Ln --tun-info:\n%s", out)
	for _, want := range []string{
		"10.0.1.1:80",
		"gue:6080:r+c", // fwd_tun_info: type:port:flags (-c none, +c csum, r+c remcsum)
		"gre:-c",
		"10.0.9.9:80",
		"persistent 60 pe sip",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ipvsadm -Ln --tun-info lacks %q", want)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 5 && f[1] == "10.0.9.9:80" && f[4] != "0" {
			t.Errorf("the inhibited sorry server has weight %s, want 0: %q", f[4], line)
		}
	}
	if got := e.ipvsadmRun("-L", "--timeout"); !strings.Contains(got, "901 61 121") {
		t.Errorf("ipvsadm -L --timeout: %q, want 901 61 121", got)
	}
	table, err := k.Table()
	if err != nil {
		t.Fatal(err)
	}
	gre := table.Find("UDP:192.0.2.81:5060")
	if gre == nil || gre.PEName != "sip" || len(gre.Destinations) != 1 || gre.Destinations[0].Tunnel != (lvs.Tunnel{Type: lvs.TunnelGRE}) {
		t.Errorf("lvsd's reader: %+v", gre)
	}
	if n, err := m.Reconcile(context.Background()); n != 0 || err != nil {
		t.Errorf("a repair pass after programming applied %d operations (%v): the reader does not see what was written", n, err)
	}
}
