package fullnat

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/lvsd/lvsd/hcl"
)

// Rule is the source NAT of one FULLNAT service: connections IPVS sends
// from VIP (the conntrack entry's original destination) leave from an
// address in From..To.
type Rule struct {
	Protocol string         // hcl.ProtoTCP, ProtoUDP or ProtoSCTP
	VIP      netip.AddrPort // the virtual service
	From, To netip.Addr     // the local address pool, one IPv4 range
}

// Desired returns the rules of cfg's FULLNAT services, in the order of
// the configuration.
func Desired(cfg *hcl.Config) []Rule {
	var out []Rule
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		if vs.LBKind != hcl.KindFNAT || len(vs.LocalAddresses) == 0 {
			continue
		}
		pool := slices.Clone(vs.LocalAddresses)
		slices.SortFunc(pool, netip.Addr.Compare)
		out = append(out, Rule{Protocol: vs.Protocol, VIP: vs.Addr, From: pool[0], To: pool[len(pool)-1]})
	}
	return out
}

// tagPrefix starts the user data of every rule lvsd writes.
const tagPrefix = "lvsd fullnat "

// Tag names r in the table (the rule's user data): "lvsd fullnat TCP
// 10.1.0.100:81 10.0.0.250-10.0.0.251".
func (r Rule) Tag() string {
	return fmt.Sprintf("%s%s %s %s-%s", tagPrefix, r.Protocol, r.VIP, r.From, r.To)
}

// parseTag reads a rule back from its tag.
func parseTag(tag string) (Rule, bool) {
	rest, ok := strings.CutPrefix(tag, tagPrefix)
	f := strings.Fields(rest)
	if !ok || len(f) != 3 {
		return Rule{}, false
	}
	vip, err := netip.ParseAddrPort(f[1])
	from, to, found := strings.Cut(f[2], "-")
	if err != nil || !found {
		return Rule{}, false
	}
	a, err1 := netip.ParseAddr(from)
	b, err2 := netip.ParseAddr(to)
	if err1 != nil || err2 != nil {
		return Rule{}, false
	}
	return Rule{Protocol: f[0], VIP: vip, From: a, To: b}, true
}

func l4proto(p string) byte {
	switch p {
	case hcl.ProtoUDP:
		return unix.IPPROTO_UDP
	case hcl.ProtoSCTP:
		return unix.IPPROTO_SCTP
	}
	return unix.IPPROTO_TCP
}

// exprs is r as nftables expressions, what `nft` prints as
//
//	meta l4proto tcp ct original ip daddr VIP ct original proto-dst PORT snat ip to FROM-TO
//
// The match is on the conntrack entry's original tuple, client to VIP,
// which IPVS leaves in place when it sends the connection to a real
// server (ip_vs_update_conntrack changes the reply tuple only), so only
// connections of this virtual service are translated, and only on the
// director's leg to the real server (a nat chain sees a connection's
// first packet, after IPVS chose the real server).
func (r Rule) exprs() []expr.Any {
	vip := r.VIP.Addr().As4()
	port := []byte{byte(r.VIP.Port() >> 8), byte(r.VIP.Port())}
	from, to := r.From.As4(), r.To.As4()
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{l4proto(r.Protocol)}},
		&expr.Ct{Register: 1, Key: expr.CtKeyDST, Direction: 0}, // IP_CT_DIR_ORIGINAL
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: vip[:]},
		&expr.Ct{Register: 1, Key: expr.CtKeyPROTODST, Direction: 0},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: port},
		&expr.Immediate{Register: 1, Data: from[:]},
		&expr.Immediate{Register: 2, Data: to[:]},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegAddrMax: 2},
	}
}
