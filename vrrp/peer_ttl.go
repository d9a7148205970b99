package vrrp

import "net/netip"

// DropPeerTTL: unicast, the advert's TTL (IPv6: hop limit) is outside the
// range its unicast_peer was given with min_ttl/max_ttl (keepalived 2.2.7
// vrrp.c vrrp_check_packet: "TTL/HL %d not in range %d - %d", counted as
// ip_ttl_err).
const DropPeerTTL DropReason = "peer_ttl"

// PeerTTL is the TTL range a unicast peer's adverts must arrive with.
type PeerTTL struct {
	Peer     netip.Addr
	Min, Max int
}

// peerTTLOutOfRange tells whether an advert from src that arrived with ttl
// falls outside the range configured for src; a peer with no range, and a
// packet whose TTL is unknown (negative), always pass.
func peerTTLOutOfRange(ranges []PeerTTL, src netip.Addr, ttl int) bool {
	if ttl < 0 {
		return false
	}
	for _, r := range ranges {
		if r.Peer == src {
			return ttl < r.Min || ttl > r.Max
		}
	}
	return false
}
