package integration

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/lvsd/lvsd/vrrp"
)

// TestVRRPStrictModeOnTheWire runs keepalived 2.2.7 and lvsd as MASTER,
// each without and with strict_mode, and sends them crafted adverts from
// the client:
//
//   - ten adverts of a lower priority within a second. Without strict
//     mode both daemons answer each with an advert of their own
//     and gratuitous ARPs (keepalived's "forcing new election":
//     lower_prio_no_advert is off and garp_lower_prio_repeat 5 by
//     default); strict mode sets lower_prio_no_advert and
//     garp_lower_prio_repeat 0, and both then discard them as RFC 3768
//     §6.4.3 says, sending their one advert a second and no ARP.
//   - adverts of a higher priority that keepalived 2.2.7's
//     vrrp_check_packet() drops strict or not: a multicast TTL of 64 (both
//     daemons drop it, RFC 3768 §7.1), and an address list that is not the
//     instance's (keepalived 2.2.7 drops it; lvsd accepts it as keepalived
//     2.3.3 and later do, and steps down). Strict mode changes neither.
//   - a valid higher-priority advert, which makes each step down: the
//     crafted adverts did reach the daemon.
func TestVRRPStrictModeOnTheWire(t *testing.T) {
	requireKeepalived(t)
	type outcome struct {
		answersLower       bool // sends an advert per lower-priority advert
		acceptsAddressList bool // steps down on another address list
	}
	for _, tc := range []struct {
		kind   string
		strict bool
		want   outcome
	}{
		{"keepalived", false, outcome{answersLower: true}},
		{"keepalived", true, outcome{}},
		{"lvsd", false, outcome{answersLower: true, acceptsAddressList: true}},
		{"lvsd", true, outcome{acceptsAddressList: true}},
	} {
		t.Run(fmt.Sprintf("%s strict %v", tc.kind, tc.strict), func(t *testing.T) {
			t.Parallel() // one lab each
			l := newVRRPLab(t)
			wire := l.capture("C")
			tx := l.sender("C")
			body := ""
			if tc.strict {
				body = "    strict_mode on\n"
			}
			a := &kaPeer{lab: l, name: "A", kind: tc.kind, priority: 200, body: body}
			a.start()
			if !waitFor(a.masterDownInterval()+4*time.Second, func() bool { return a.holds("eth0") }) {
				t.Fatalf("%v did not become MASTER\n%s", a, tail(a.p.logText(), 20))
			}
			advert := func(priority int, addr string) []byte {
				return craftedAdvert(t, func(v *vrrp.Advert) {
					v.AuthType, v.Password, v.Priority = vrrp.AuthNone, [vrrp.AuthPasswordLen]byte{}, uint8(priority)
					v.Addresses = []netip.Addr{netip.MustParseAddr(addr)}
				}, nil)
			}
			var got outcome

			// Lower priority: count A's adverts while ten arrive.
			from := netip.MustParseAddr(l.ip["A"])
			vip := netip.MustParseAddr(labVIP)
			// The count starts once the gratuitous ARPs A sent as it
			// became MASTER are on the wire: the poll of `ip addr` can
			// see the VIP before they leave (keepalived adds the VIP,
			// then sends them), and one counted in strict mode failed
			// this test. A's next advert comes after the whole burst.
			if !waitFor(5*time.Second, func() bool {
				var burst time.Time
				for _, ev := range wire.snapshot() {
					switch {
					case ev.garp && ev.src == vip && burst.IsZero():
						burst = ev.at
					case !ev.garp && ev.src == from && ev.vrid == 51 && !burst.IsZero() && ev.at.After(burst):
						return true
					}
				}
				return false
			}) {
				t.Fatalf("%v: no gratuitous ARP, then advert, on the wire after it became MASTER; last events:\n%s", a, wire.describe(10))
			}
			start := time.Now()
			for range 10 {
				tx.send(t, 255, advert(50, labVIP))
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(time.Second)
			end := time.Now()
			n, garps := 0, 0
			for _, ev := range wire.snapshot() {
				if ev.at.Before(start) || ev.at.After(end) {
					continue
				}
				switch {
				case !ev.garp && ev.src == from && ev.vrid == 51:
					n++
				case ev.garp && ev.src == vip:
					garps++
				}
			}
			switch {
			case n >= 8 && garps > 0:
				got.answersLower = true
			case n > 4 || garps > 0:
				t.Fatalf("%v sent %d adverts and %d gratuitous ARPs in %v while ten lower-priority adverts arrived: neither one advert a second and no ARP, nor one advert and ARPs per advert",
					a, n, garps, end.Sub(start).Round(time.Millisecond))
			}
			t.Logf("%v: %d adverts and %d gratuitous ARPs in %v while ten of priority 50 arrived", a, n, garps, end.Sub(start).Round(time.Millisecond))

			// Higher priority with a TTL of 64: dropped by both, strict or not.
			for range 5 {
				tx.send(t, 64, advert(254, labVIP))
				time.Sleep(200 * time.Millisecond)
			}
			if !a.holds("eth0") {
				t.Fatalf("%v stepped down on adverts with TTL 64\n%s", a, tail(a.p.logText(), 15))
			}

			// Higher priority, another address list.
			for range 5 {
				tx.send(t, 255, advert(254, "10.99.0.201"))
				time.Sleep(200 * time.Millisecond)
			}
			got.acceptsAddressList = !a.holds("eth0")

			if got != tc.want {
				t.Errorf("%v: answers lower-priority adverts %v (want %v), steps down on another address list %v (want %v)\n%s",
					a, got.answersLower, tc.want.answersLower, got.acceptsAddressList, tc.want.acceptsAddressList, tail(a.p.logText(), 25))
			}
			if got.acceptsAddressList {
				return // the crafted adverts reached it
			}
			// A valid advert of priority 254 makes the MASTER step down.
			for range 3 {
				tx.send(t, 255, advert(254, labVIP))
				time.Sleep(200 * time.Millisecond)
			}
			if a.holds("eth0") {
				t.Fatalf("a valid priority-254 advert from the client did not reach %v\n%s", a, tail(a.p.logText(), 15))
			}
		})
	}
}
