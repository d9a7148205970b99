package hcl

import "fmt"

// unicastPeer reads one line of a keepalived.conf unicast_peer block,
// `ADDR [min_ttl N] [max_ttl M]` (unicast_peer.go has keepalived 2.2.7's
// rules); what keepalived reports and runs past is a lenient warning.
func (r *kaReader) unicastPeer(e *kaNode, in *VRRPInstance) {
	if e.hasBlock {
		r.errf(e.pos, "invalid unicast_peer entry", "%s opens a block", e.name)
		return
	}
	a, ttl, problems, err := parseUnicastPeer(in.Name, append([]string{e.name}, e.argText()...))
	if err != nil {
		r.errf(e.pos, fmt.Sprintf("invalid unicast_peer %q", e.name), "want an IP address")
		return
	}
	for _, p := range problems {
		r.warnf(e.pos, p.summary, "vrrp_instance %s: %s", in.Name, p.consequence)
	}
	in.UnicastPeers = append(in.UnicastPeers, a)
	if ttl != nil {
		in.UnicastPeerTTLs = append(in.UnicastPeerTTLs, *ttl)
	}
}
