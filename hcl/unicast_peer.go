package hcl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// UnicastPeerTTL is the TTL (IPv6: hop limit) range a unicast peer's
// adverts must arrive with: keepalived 2.2.7's `unicast_peer { ADDR
// min_ttl N max_ttl M }` (vrrp_data.c alloc_vrrp_unicast_peer; vrrp.c
// vrrp_check_packet drops an advert outside it, "TTL/HL %d not in range").
// An advert routed across more hops than expected, or one sent from
// farther away than the peer, is then dropped. Min defaults to 0, Max to
// 255.
type UnicastPeerTTL struct {
	Peer     netip.Addr
	Min, Max int
}

// String is the entry as keepalived writes it (and the HCL list holds it).
func (p UnicastPeerTTL) String() string {
	return fmt.Sprintf("%s min_ttl %d max_ttl %d", p.Peer, p.Min, p.Max)
}

// unicastPeerProblem is what keepalived reports about one unicast_peer
// entry and runs past, and what lvsd does about it (consequence).
type unicastPeerProblem struct {
	summary, consequence string
}

// parseUnicastPeer reads one unicast_peer entry, `ADDR [min_ttl N]
// [max_ttl M]`, with keepalived 2.2.7's rules: the options come in
// name/value pairs; a value that is not a number from 0 to 255 is
// reported and skipped; an option without a value or with an unknown name
// is reported and ends the entry's options. ttl is nil when no option was
// taken. An address that does not parse is err. name is the instance's.
func parseUnicastPeer(name string, fields []string) (addr netip.Addr, ttl *UnicastPeerTTL, problems []unicastPeerProblem, err error) {
	if len(fields) == 0 {
		return netip.Addr{}, nil, nil, fmt.Errorf("no address")
	}
	addr, err = netip.ParseAddr(fields[0])
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, nil, nil, fmt.Errorf("%q is not an IP address", fields[0])
	}
	const endsLine = "the rest of the line is ignored, as keepalived does"
	r := UnicastPeerTTL{Peer: addr, Max: 255}
	taken := false
	for i := 1; i < len(fields); i += 2 {
		if i+1 >= len(fields) {
			problems = append(problems, unicastPeerProblem{fmt.Sprintf("(%s) %s is missing a value", name, fields[i]), endsLine})
			break
		}
		v, bad := ttlNumber(fields[i+1])
		if bad != "" {
			problems = append(problems, unicastPeerProblem{bad, "the option is ignored, as keepalived does"})
			continue
		}
		switch fields[i] {
		case "min_ttl":
			r.Min = int(v)
		case "max_ttl":
			r.Max = int(v)
		default:
			problems = append(problems, unicastPeerProblem{fmt.Sprintf("(%s) unknown unicast_peer option %s", name, fields[i]), endsLine})
			i = len(fields)
			continue
		}
		taken = true
	}
	if !taken {
		return addr, nil, problems, nil
	}
	if r.Min > r.Max {
		problems = append(problems, unicastPeerProblem{fmt.Sprintf("(%s) min_ttl %d > max_ttl %d - all packets will be discarded", name, r.Min, r.Max),
			"every advert from " + addr.String() + " is dropped, as keepalived drops it"})
	}
	return addr, &r, problems, nil
}

// ttlNumber reads a TTL, 0 to 255, or says what is wrong with it in
// keepalived's words (lib/parser.c read_unsigned_func).
func ttlNumber(s string) (int, string) {
	t := strings.TrimLeft(s, " \t")
	if strings.HasPrefix(t, "-") {
		return 0, fmt.Sprintf("negative number '%s'", s)
	}
	v, err := strconv.ParseUint(t, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange):
		return 0, fmt.Sprintf("number '%s' outside unsigned integer range", s)
	case err != nil:
		return 0, fmt.Sprintf("invalid number '%s'", s)
	case v > 255:
		return 0, fmt.Sprintf("number '%s' outside range [0, 255]", s)
	}
	return int(v), ""
}

// unicastPeerEntries is the instance's unicast_peer list as keepalived
// writes it: each peer, with its TTL range where one was given.
func unicastPeerEntries(in *VRRPInstance) []string {
	var out []string
	for _, p := range in.UnicastPeers {
		s := p.String()
		for _, r := range in.UnicastPeerTTLs {
			if r.Peer == p {
				s = r.String()
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// unicastPeer reads one entry of the HCL unicast_peer list, spelled as in
// keepalived.conf ("ADDR min_ttl N max_ttl M"); HCL refuses what
// keepalived would run past.
func (d *decoder) unicastPeer(pos Pos, entry string, in *VRRPInstance) {
	a, ttl, problems, err := parseUnicastPeer(in.Name, strings.Fields(entry))
	if err != nil {
		d.diags.errorf(pos, "invalid unicast_peer", "%q: %v", entry, err)
		return
	}
	for _, p := range problems {
		d.diags.errorf(pos, "invalid unicast_peer", "%q: %s", entry, p.summary)
	}
	in.UnicastPeers = append(in.UnicastPeers, a)
	if ttl != nil {
		in.UnicastPeerTTLs = append(in.UnicastPeerTTLs, *ttl)
	}
}
