package vrrp

import (
	"net/netip"
	"testing"
)

// TestUnicastPeerTTLRangeDropsAdvertsOutsideIt: keepalived 2.2.7 drops a
// unicast advert whose TTL is outside its peer's min_ttl..max_ttl, bounds
// included in the range; a peer without a range takes any TTL.
func TestUnicastPeerTTLRangeDropsAdvertsOutsideIt(t *testing.T) {
	good := mustMarshal(t, sampleAdvert())
	src := netip.MustParseAddr("10.0.0.2")
	other := netip.MustParseAddr("10.0.0.3")
	ranged := []PeerTTL{{Peer: src, Min: 60, Max: 64}}
	tests := []struct {
		name   string
		ttl    int
		ranges []PeerTTL
		want   DropReason
	}{
		{"below min_ttl", 59, ranged, DropPeerTTL},
		{"at min_ttl", 60, ranged, DropNone},
		{"at max_ttl", 64, ranged, DropNone},
		{"above max_ttl", 65, ranged, DropPeerTTL},
		{"the RFC's 255 above max_ttl", 255, ranged, DropPeerTTL},
		{"min_ttl above max_ttl drops everything", 62, []PeerTTL{{Peer: src, Min: 63, Max: 62}}, DropPeerTTL},
		{"another peer's range does not apply", 1, []PeerTTL{{Peer: other, Min: 60, Max: 64}}, DropNone},
		{"unknown TTL passes", -1, ranged, DropNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleExpect()
			e.Peers = []netip.Addr{src, other}
			e.PeerTTLs = tt.ranges
			v := e.Check(Received{Src: src, Dst: netip.MustParseAddr("10.0.0.1"), TTL: tt.ttl, Payload: good})
			if v.Drop != tt.want {
				t.Fatalf("drop = %q, want %q", v.Drop, tt.want)
			}
		})
	}
}
