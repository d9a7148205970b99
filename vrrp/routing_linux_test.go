package vrrp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/hcl"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testNetns is a fresh named network namespace holding a veth pair,
// "base" (10.7.0.1/24) and "far", both up; removed at cleanup.
type testNetns struct {
	t    *testing.T
	name string
}

func newTestNetns(t *testing.T) testNetns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	name := fmt.Sprintf("lvsdrt%d", os.Getpid()%100000)
	exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	for _, args := range [][]string{{"link", "add", "base", "type", "veth", "peer", "name", "far"}, {"link", "set", "base", "up"},
		{"link", "set", "far", "up"}, {"addr", "add", "10.7.0.1/24", "dev", "base"}} {
		if out, err := exec.Command("ip", append([]string{"-n", name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	return testNetns{t, name}
}

// do runs f on a thread switched into the namespace.
func (ns testNetns) do(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the thread dies with the goroutine, never back in the pool
		h, err := netns.GetFromName(ns.name)
		if err != nil {
			ns.t.Error(err)
			return
		}
		defer h.Close()
		if err := netns.Set(h); err != nil {
			ns.t.Error(err)
			return
		}
		f()
	}()
	<-done
}

// ip runs ip -n NS ARGS and returns its output.
func (ns testNetns) ip(args ...string) string {
	out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		ns.t.Errorf("ip %v: %v %s", args, err, out)
	}
	return string(out)
}

func readSysctl(dev, name string) string {
	b, _ := os.ReadFile(ipv4Sysctl(dev, name))
	return strings.TrimSpace(string(b))
}

// TestVMACSysctlsAreRestoredWhenTheLastVMACGoes: two VMACs on one base
// interface share its arp_ignore and arp_filter; removing the first keeps
// them, removing the second restores the values from before. A VMAC two
// instances share goes with the second.
func TestVMACSysctlsAreRestoredWhenTheLastVMACGoes(t *testing.T) {
	var steps []string
	newTestNetns(t).do(func() {
		nr := newNetlinkRouting()
		record := func(what string) {
			steps = append(steps, fmt.Sprintf("%s: base arp_ignore=%s arp_filter=%s", what, readSysctl("base", "arp_ignore"), readSysctl("base", "arp_filter")))
		}
		record("before")
		m1 := hcl.VMAC{Name: "vrrp.51", MAC: hcl.VirtualRouterMAC(51, false)}
		m2 := hcl.VMAC{Name: "vrrp.52", MAC: hcl.VirtualRouterMAC(52, false)}
		for _, m := range []hcl.VMAC{m1, m2} {
			if err := nr.AddVMAC("base", m, false); err != nil {
				t.Error(err)
				return
			}
		}
		l, err := netlink.LinkByName("vrrp.51")
		if err != nil {
			t.Error(err)
			return
		}
		if mv, ok := l.(*netlink.Macvlan); !ok || mv.Mode != netlink.MACVLAN_MODE_PRIVATE || mv.HardwareAddr.String() != "00:00:5e:00:01:33" {
			t.Errorf("vrrp.51 is %#v", l)
		}
		if got := readSysctl("vrrp.51", "arp_ignore") + readSysctl("vrrp.51", "accept_local"); got != "11" {
			t.Errorf("vrrp.51 arp_ignore, accept_local: %q", got)
		}
		record("two VMACs")
		// A second instance shares vrrp.51 (keepalived's if_get_by_vmac).
		if err := nr.AddVMAC("base", m1, false); err != nil {
			t.Errorf("sharing a VMAC of ours: %v", err)
		}
		if err := nr.AddVMAC("base", hcl.VMAC{Name: "vrrp.51", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}}, false); err == nil {
			t.Error("a VMAC name taken by another MAC was accepted")
		}
		if err := nr.RemoveVMAC("base", m1); err != nil {
			t.Error(err)
		}
		if _, err := netlink.LinkByName("vrrp.51"); err != nil {
			t.Error("vrrp.51 went while the second instance has it")
		}
		if err := nr.RemoveVMAC("base", m1); err != nil {
			t.Error(err)
		}
		if _, err := netlink.LinkByName("vrrp.51"); err == nil {
			t.Error("vrrp.51 is still there")
		}
		record("one removed")
		if err := nr.RemoveVMAC("base", m2); err != nil {
			t.Error(err)
		}
		record("both removed")
		if _, err := netlink.LinkByName("vrrp.52"); err == nil {
			t.Error("vrrp.52 is still there")
		}
	})
	want := []string{"before: base arp_ignore=0 arp_filter=0", "two VMACs: base arp_ignore=1 arp_filter=1",
		"one removed: base arp_ignore=1 arp_filter=1", "both removed: base arp_ignore=0 arp_filter=0"}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Errorf("steps\n%s\nwant\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
}

// TestRoutesAndRulesReadBackWithIP: what netlinkRouting installs, ip
// route and ip rule print as keepalived's are printed (integration/
// vrrp_routes_test.go compares them with keepalived's own), and removing
// takes it all away.
func TestRoutesAndRulesReadBackWithIP(t *testing.T) {
	route := func(s string) hcl.Route {
		r, _, err := hcl.ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	rule := func(s string) hcl.Rule {
		r, err := hcl.ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	routes := []hcl.Route{route("10.210.0.0/16 via 10.7.0.254 dev base"), route("blackhole 10.212.0.0/16 table 101"),
		route("10.213.0.0/16 via 10.7.0.253 or 10.7.0.252 dev base"), route("src 10.7.0.1 10.214.0.0/16 dev base scope link metric 7")}
	rules := []hcl.Rule{rule("from 10.7.0.0/24 table 101 priority 300"), rule("fwmark 5/0xff prohibit priority 301")}
	var errs []error
	ns := newTestNetns(t)
	ns.do(func() {
		nr := newNetlinkRouting()
		for _, r := range routes {
			errs = append(errs, nr.AddRoute(r), nr.AddRoute(r)) // twice: already there is no error
		}
		for _, r := range rules {
			errs = append(errs, nr.AddRule(r), nr.AddRule(r))
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got := ns.ip("route", "show", "table", "all") + ns.ip("rule")
	for _, want := range []string{"10.210.0.0/16 via 10.7.0.254 dev base proto keepalived", "blackhole 10.212.0.0/16 table 101 proto keepalived",
		"nexthop via 10.7.0.253 dev base weight 1", "nexthop via 10.7.0.252 dev base weight 1",
		"10.214.0.0/16 dev base proto keepalived scope link src 10.7.0.1 metric 7",
		"300:\tfrom 10.7.0.0/24 lookup 101 proto keepalived", "301:\tfrom all fwmark 0x5/0xff prohibit proto keepalived"} {
		if !strings.Contains(got, want) {
			t.Errorf("ip does not show %q:\n%s", want, got)
		}
	}
	ns.do(func() {
		nr := newNetlinkRouting()
		for _, r := range routes {
			errs = append(errs, nr.RemoveRoute(r), nr.RemoveRoute(r)) // twice: already gone is no error
		}
		for _, r := range rules {
			errs = append(errs, nr.RemoveRule(r), nr.RemoveRule(r))
		}
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if s := ns.ip("route", "show", "table", "all") + ns.ip("rule"); strings.Contains(s, "keepalived") {
		t.Errorf("left behind:\n%s", s)
	}
}

// TestVIPsFollowTheirDeviceMadeAgain: the VIPs go over one kept socket to
// the index their device had at the first request; a device deleted and
// made again under its name (a new index) gets them all the same, with
// their label, and `ip` reads back each step. Adding a VIP twice and
// removing an absent one are no errors; a VIP on a device that does not
// exist is, and names it.
func TestVIPsFollowTheirDeviceMadeAgain(t *testing.T) {
	ns := newTestNetns(t)
	vip := hcl.VIP{Prefix: netip.MustParsePrefix("10.7.0.100/32"), Dev: "base", Label: "base:vip"}
	v6 := hcl.VIP{Prefix: netip.MustParsePrefix("fd00:7::100/128"), Dev: "base"}
	a := &netlinkAddresses{}
	defer a.Close()
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	has := func(v hcl.VIP) bool {
		t.Helper()
		var ok bool
		var err error
		ns.do(func() { ok, err = a.HasVIP(v) })
		step("HasVIP", err)
		return ok
	}
	var err error
	ns.do(func() { err = errors.Join(a.AddVIP(vip), a.AddVIP(vip), a.AddVIP(v6)) })
	step("AddVIP", err)
	if out := ns.ip("-4", "addr", "show", "dev", "base"); !strings.Contains(out, "10.7.0.100/32") || !strings.Contains(out, "base:vip") {
		t.Fatalf("the VIP or its label is not on base:\n%s", out)
	}
	if !has(vip) || !has(v6) {
		t.Fatal("HasVIP does not see the VIPs added")
	}
	first := a.index["base"]

	// base made again: another index, the same name.
	ns.ip("link", "del", "base")
	ns.ip("link", "add", "base", "type", "veth", "peer", "name", "far")
	ns.ip("link", "set", "base", "up")
	if has(vip) {
		t.Fatal("HasVIP sees the VIP on the new base")
	}
	ns.do(func() { err = errors.Join(a.AddVIP(vip), a.AddVIP(v6)) })
	step("AddVIP on the new base", err)
	if a.index["base"] == first {
		t.Fatalf("the index kept is still %d, the deleted device's", first)
	}
	if out := ns.ip("addr", "show", "dev", "base"); !strings.Contains(out, "10.7.0.100/32") || !strings.Contains(out, "base:vip") || !strings.Contains(out, "fd00:7::100/128") {
		t.Fatalf("the VIPs are not on the new base:\n%s", out)
	}
	ns.do(func() { err = errors.Join(a.RemoveVIP(vip), a.RemoveVIP(vip), a.RemoveVIP(v6)) })
	step("RemoveVIP", err)
	if out := ns.ip("addr", "show", "dev", "base"); strings.Contains(out, "10.7.0.100") || strings.Contains(out, "fd00:7::100") {
		t.Fatalf("a VIP is still on base:\n%s", out)
	}
	ns.do(func() { err = a.AddVIP(hcl.VIP{Prefix: netip.MustParsePrefix("10.7.0.101/32"), Dev: "nosuch"}) })
	if err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("a VIP on a missing device: %v, want an error naming it", err)
	}
}
