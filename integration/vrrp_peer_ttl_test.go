package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestVRRPUnicastPeerTTLMixedPair: lvsd and keepalived 2.2.7, unicast with
// unicast_ttl 64, each giving its peer a TTL range (unicast_peer { ADDR
// min_ttl N max_ttl M }). With 60..64 the higher priority holds the VIP
// and the lower stays BACKUP; with 65..255 the lower priority drops every
// advert of the higher and becomes MASTER too. lvsd is the lower priority
// in one lab, keepalived in the other: both daemons drop alike.
func TestVRRPUnicastPeerTTLMixedPair(t *testing.T) {
	requireKeepalived(t)
	for _, low := range []string{"lvsd", "keepalived"} {
		t.Run(low+" lower priority", func(t *testing.T) {
			t.Parallel() // two labs side by side
			l := newVRRPLab(t)
			high := map[string]string{"lvsd": "keepalived", "keepalived": "lvsd"}[low]
			body := func(self, peer, ttlRange string) string {
				return fmt.Sprintf("    unicast_src_ip %s\n    unicast_peer {\n        %s %s\n    }\n    unicast_ttl 64\n",
					l.addrOf(self), l.addrOf(peer), ttlRange)
			}
			inRange := "min_ttl 60 max_ttl 64"
			a := &kaPeer{lab: l, name: "A", kind: high, priority: 150, body: body("A", "B", inRange)}
			b := &kaPeer{lab: l, name: "B", kind: low, priority: 100, body: body("B", "A", inRange)}
			a.start()
			b.start()
			expectHolder(t, a, b, "eth0", a.masterDownInterval()+3*time.Second)
			// B stays BACKUP past its Master_Down_Interval: A's adverts,
			// TTL 64, are inside B's range.
			time.Sleep(b.masterDownInterval() + time.Second)
			if b.holds("eth0") {
				t.Fatalf("%v took the VIP with %v's adverts inside its TTL range\n%s", b, a, tail(b.p.logText(), 15))
			}

			b.term()
			b.body = body("B", "A", "min_ttl 65")
			b.start()
			if !waitFor(b.masterDownInterval()+4*time.Second, func() bool { return b.holds("eth0") && a.holds("eth0") }) {
				t.Fatalf("%v (min_ttl 65) did not become MASTER beside %v, whose adverts carry TTL 64: B holds %v, A holds %v\n--- %v log:\n%s",
					b, a, b.holds("eth0"), a.holds("eth0"), b, tail(b.p.logText(), 20))
			}
			want := map[string]string{"lvsd": "reason=peer_ttl", "keepalived": "TTL/HL 64 not in range 65 - 255"}[low]
			if !waitFor(2*time.Second, func() bool { return strings.Contains(b.p.logText(), want) }) {
				t.Errorf("%v does not log %q\n%s", b, want, tail(b.p.logText(), 15))
			}
		})
	}
}
