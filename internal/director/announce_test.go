package director

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/announce"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
	"github.com/lvsd/lvsd/vrrp"
)

// routeSpeaker is a fake announce.Speaker holding the announced routes.
type routeSpeaker struct {
	mu      sync.Mutex
	routes  map[netip.Prefix]bool
	stopped bool
}

func (r *routeSpeaker) Start(context.Context, *hcl.Announce) error { return nil }
func (r *routeSpeaker) Announce(_ context.Context, p netip.Prefix) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes[p] = true
	return nil
}
func (r *routeSpeaker) Withdraw(_ context.Context, p netip.Prefix) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.routes, p)
	return nil
}
func (r *routeSpeaker) Peers(context.Context) []announce.PeerStatus { return nil }
func (r *routeSpeaker) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
}
func (r *routeSpeaker) announced(p string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.routes[netip.MustParsePrefix(p)]
}

// TestVIPIsAnnouncedWhileItsServiceHasQuorum: a director with an announce
// block sets the IPVS settings of a cluster (sloppy_tcp …), puts the VIP
// on lo, announces it once IPVS is programmed, withdraws it when its
// only real server fails its TCP_CHECK (quorum lost), announces it again
// when the real server is back, and withdraws it on the way out.
func TestVIPIsAnnouncedWhileItsServiceHasQuorum(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	go acceptAll(ln)
	cfg := hcltest.Load(t, fmt.Sprintf(`
global { lvs_program = "always" }
virtual_server "192.0.2.10:80" {
  delay_loop = "50ms"
  real_server "127.0.0.1:%d" {
    TCP_CHECK {
      connect_timeout    = "200ms"
      retry              = 0
    }
  }
}
announce "bgp" {
  local_as  = 65001
  router_id = "10.9.0.2"
  neighbor "10.9.0.1" { remote_as = 65000 }
}
`, port))
	sp := &routeSpeaker{routes: map[netip.Prefix]bool{}}
	sysctls := map[string]string{}
	held := &heldAddresses{}
	d, err := New(cfg, Options{Checks: true, Speaker: sp, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil },
		Sysctl:  func(name, value string) error { sysctls[name] = value; return nil },
		Network: vrrp.Network{Addresses: held}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sloppy_tcp", "sloppy_sctp", "expire_nodest_conn", "expire_quiescent_template"} {
		if sysctls["net/ipv4/vs/"+name] != "1" {
			t.Errorf("net.ipv4.vs.%s not set to 1 in a cluster: %v", name, sysctls)
		}
	}
	stop := startRun(t, d)
	defer stop()
	const vip = "192.0.2.10/32"
	waitFor(t, "the VIP announced", func() bool { return sp.announced(vip) })
	if got := held.list(); len(got) != 1 || got[0] != "192.0.2.10/32 dev lo" {
		t.Errorf("VIPs held: %v, want 192.0.2.10/32 on lo", got)
	}
	waitFor(t, "the report to show it", func() bool {
		r := d.Report().BGP
		return r != nil && len(r.Routes) == 1 && r.Routes[0].Announced
	})
	var screen strings.Builder
	Render(&screen, d.Report(), false)
	if !strings.Contains(screen.String(), "192.0.2.10/32  announced  1 service(s) programmed with quorum") {
		t.Errorf("lvsd status lacks the announced VIP:\n%s", screen.String())
	}

	ln.Close()
	waitFor(t, "the VIP withdrawn after its real server failed", func() bool { return !sp.announced(vip) })
	waitFor(t, "the report to say why", func() bool {
		r := d.Report().BGP
		return len(r.Routes) == 1 && !r.Routes[0].Announced && strings.Contains(r.Routes[0].Reason, "below quorum")
	})

	ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go acceptAll(ln)
	waitFor(t, "the VIP announced again", func() bool { return sp.announced(vip) })

	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if sp.announced(vip) || !sp.stopped {
		t.Errorf("after Run: announced %v, speaker stopped %v", sp.announced(vip), sp.stopped)
	}
}

// heldAddresses is a fake vrrp.Addresses recording the VIPs added.
type heldAddresses struct {
	mu    sync.Mutex
	added []string
}

func (h *heldAddresses) PrimaryAddr(string, bool, []netip.Addr) (netip.Addr, error) {
	return netip.Addr{}, nil
}
func (h *heldAddresses) HasVIP(hcl.VIP) (bool, error) { return false, nil }
func (h *heldAddresses) AddVIP(v hcl.VIP) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.added = append(h.added, v.Prefix.String()+" dev "+v.Dev)
	return nil
}
func (h *heldAddresses) RemoveVIP(hcl.VIP) error { return nil }
func (h *heldAddresses) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.added...)
}

func acceptAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// TestPairSetsNoClusterSysctls: without an announce block lvsd leaves the
// kernel's IPVS settings alone.
func TestPairSetsNoClusterSysctls(t *testing.T) {
	cfg := hcltest.Load(t, `
global { lvs_program = "always" }
virtual_server "192.0.2.10:80" {
  real_server "10.0.0.1:80" {}
}
`)
	_, err := New(cfg, Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return lvstest.NewFakeKernel(nil), nil },
		Sysctl: func(name, value string) error { t.Errorf("set %s=%s", name, value); return nil }})
	if err != nil {
		t.Fatal(err)
	}
}
