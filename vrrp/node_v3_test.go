package vrrp

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
)

// dualStackHCL is an IPv4 and an IPv6 VRRPv3 instance on the same VRID
// (two virtual routers, RFC 5798 §7.3) at advert_int 0.1, tied by a sync
// group.
func dualStackHCL(prio int) string {
	inst := func(name, vip string) string {
		return fmt.Sprintf(`vrrp_instance %q {
  interface = "eth0"
  virtual_router_id = 51
  priority = %d
  version = 3
  advert_int = 0.1
  virtual_ipaddress = [%q]
}
`, name, prio, vip)
	}
	return inst("V4", "192.0.2.100/24") + inst("V6", "2001:db8::100/64") + `vrrp_sync_group "G" { group = ["V4", "V6"] }` + "\n"
}

// TestNodeDualStackV3OverFakeWire: an IPv6 instance advertises from its
// link-local address, a backup sees that address as the master, both
// families share a VRID on their own sockets, the new master announces the
// IPv6 VIP (unsolicited NAs, through the Announcer) as often as
// garp_master_repeat says, and the takeover after the master's priority-0
// advert comes after exactly VRRPv3's Skew_Time, scaled by the interval.
func TestNodeDualStackV3OverFakeWire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa, fb := l.net("A", 1), l.net("B", 2)
		na := l.start(hcltest.Load(t, dualStackHCL(150)), fa)
		nb := l.start(hcltest.Load(t, dualStackHCL(100)), fb)
		l.advance(2 * time.Second)
		for _, name := range []string{"V4", "V6"} {
			if na.state(name) != StateMaster || nb.state(name) != StateBackup {
				t.Fatalf("%s: A is %s, B is %s", name, na.state(name), nb.state(name))
			}
		}
		st := map[string]InstanceStatus{}
		for _, s := range nb.Status() {
			st[s.Name] = s
		}
		if s := st["V6"]; s.Version != 3 || s.Family != "inet6" || s.MasterIP != fa.linkLocal() || s.Counters.AdvertsReceived < 15 {
			t.Fatalf("B's V6: version %d family %s master %v after %d adverts; want 3, inet6, %v",
				s.Version, s.Family, s.MasterIP, s.Counters.AdvertsReceived, fa.linkLocal())
		}
		if s := st["V4"]; s.Family != "inet" || s.MasterIP != fa.addr {
			t.Fatalf("B's V4: family %s master %v", s.Family, s.MasterIP)
		}
		if socks := nb.Sockets(); len(socks) != 2 || socks[0].Family == socks[1].Family {
			t.Fatalf("B's sockets: %+v, want one per family", socks)
		}
		for _, s := range nb.Status() {
			if len(s.Counters.Drops) != 0 {
				t.Fatalf("B dropped adverts of %s: %v", s.Name, s.Counters.Drops)
			}
		}
		na.stop()
		l.settle()
		skew := SkewTimeV3(100, 100*time.Millisecond)
		l.advance(skew - time.Nanosecond)
		if nb.state("V6") != StateBackup {
			t.Fatalf("B is %s before Skew_Time %v", nb.state("V6"), skew)
		}
		l.advance(time.Nanosecond)
		if nb.state("V4") != StateMaster || nb.state("V6") != StateMaster || !fb.holds("2001:db8::100") || !fb.holds("192.0.2.100") {
			t.Fatalf("at Skew_Time %v: V4 %s V6 %s", skew, nb.state("V4"), nb.state("V6"))
		}
		var na6 int
		for _, line := range l.snapshot() {
			if line == "B garp 2001:db8::100 x5" {
				na6++
			}
		}
		if na6 != 1 {
			t.Fatalf("B announced the IPv6 VIP %d times at takeover, want one round of garp_master_repeat 5: %q", na6, l.snapshot())
		}
	})
}
