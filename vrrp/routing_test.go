package vrrp

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// fakeRouting records routes, rules and VMACs on the wire's log.
type fakeRouting struct{ net *fakeNet }

func (f fakeRouting) AddRoute(r hcl.Route) error    { f.net.record("route add %s", r); return nil }
func (f fakeRouting) RemoveRoute(r hcl.Route) error { f.net.record("route del %s", r); return nil }
func (f fakeRouting) AddRule(r hcl.Rule) error      { f.net.record("rule add %s", r); return nil }
func (f fakeRouting) RemoveRule(r hcl.Rule) error   { f.net.record("rule del %s", r); return nil }
func (f fakeRouting) AddVMAC(base string, m hcl.VMAC, _ bool) error {
	f.net.record("vmac add %s on %s %s", m.Name, base, m.MAC)
	return nil
}
func (f fakeRouting) RemoveVMAC(base string, m hcl.VMAC) error {
	f.net.record("vmac del %s", m.Name)
	return nil
}

// startRouted starts a node on fn with fakeRouting.
func (l *wire) startRouted(cfg *hcl.Config, fn *fakeNet) *node {
	l.t.Helper()
	nw := fn.network()
	nw.Routing = fakeRouting{fn}
	n := NewNode(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Network: nw, Clock: l.clock})
	ctx, cancel := context.WithCancel(context.Background())
	nd := &node{Node: n, cancel: cancel, done: make(chan error, 1)}
	go func() { nd.done <- n.Run(ctx) }()
	l.t.Cleanup(nd.stop)
	l.settle()
	return nd
}

// since returns the wire's log from mark on, the lines of node name with
// the name cut.
func since(l *wire, mark int, name string) []string {
	var out []string
	for _, s := range l.snapshot()[mark:] {
		if rest, ok := strings.CutPrefix(s, name+" "); ok {
			out = append(out, rest)
		}
	}
	return out
}

// TestVirtualRoutesFollowMastershipStaticOnesTheNode: the static
// addresses, routes and rules are installed before any instance runs and
// removed at stop; an instance's VMAC is created before it runs; its
// excluded addresses, routes and rules come after its VIPs on becoming
// MASTER; a reload adds and removes only what changed; a stop removes
// them, then the VMAC.
func TestVirtualRoutesFollowMastershipStaticOnesTheNode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		static := `static_ipaddress = ["10.9.0.1/24 dev eth1"]
static_routes = ["10.200.0.0/16 via 10.0.0.254 dev eth0"]
static_rules = ["from 10.200.0.0/16 table 100 priority 100"]
`
		net := func(routes string) string {
			return `  use_vmac = true
  virtual_ipaddress_excluded = ["10.9.1.1/24"]
  virtual_routes = [` + routes + `]
  virtual_rules = ["to 10.210.0.0/16 table 101 priority 200"]
`
		}
		cfg := hcltest.Load(t, static+instanceHCL("VI_1", 51, 255, "192.0.2.100", net(`"10.210.0.0/16 via 192.0.2.254", "blackhole 10.212.0.0/16"`)))
		na := l.startRouted(cfg, fa)
		got := since(l, 0, "A")
		want := []string{
			"add 10.9.0.1", "route add 10.200.0.0/16 via 10.0.0.254 dev eth0", "rule add from 10.200.0.0/16 priority 100 table 100",
			"vmac add vrrp.51 on eth0 00:00:5e:00:01:33",
			"add 192.0.2.100", "add 10.9.1.1", "route add 10.210.0.0/16 via 192.0.2.254", "route add blackhole 10.212.0.0/16",
			"rule add to 10.210.0.0/16 priority 200 table 101",
		}
		if i := indexInOrder(got, want); i >= 0 {
			t.Fatalf("start: %q missing or out of order in\n%q", want[i], got)
		}

		mark := len(l.snapshot())
		cfg2 := hcltest.Load(t, static+instanceHCL("VI_1", 51, 255, "192.0.2.100", net(`"10.210.0.0/16 via 192.0.2.254", "10.213.0.0/16 dev eth1"`)))
		if err := na.Reload(cfg2); err != nil {
			t.Fatal(err)
		}
		l.settle()
		got = since(l, mark, "A")
		if !slices.Contains(got, "route del blackhole 10.212.0.0/16") || !slices.Contains(got, "route add 10.213.0.0/16 dev eth1") ||
			slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "10.210.0.0") || strings.HasPrefix(s, "vmac") }) {
			t.Errorf("reload: %q; want the blackhole route replaced by 10.213.0.0/16 and nothing else touched", got)
		}

		mark = len(l.snapshot())
		na.stop()
		got = since(l, mark, "A")
		want = []string{"rule del to 10.210.0.0/16 priority 200 table 101", "route del 10.210.0.0/16 via 192.0.2.254",
			"remove 10.9.1.1", "remove 192.0.2.100", "vmac del vrrp.51", "rule del from 10.200.0.0/16 priority 100 table 100",
			"route del 10.200.0.0/16 via 10.0.0.254 dev eth0", "remove 10.9.0.1"}
		if i := indexInOrder(got, want); i >= 0 {
			t.Errorf("stop: %q missing or out of order in\n%q", want[i], got)
		}
	})
}

// indexInOrder returns the index of the first entry of want not found in
// got after the one before it, or -1 when all are there in order.
func indexInOrder(got, want []string) int {
	at := 0
	for i, w := range want {
		j := slices.Index(got[at:], w)
		if j < 0 {
			return i
		}
		at += j + 1
	}
	return -1
}
