package hcl

import (
	"fmt"
	"net/netip"
	"strings"

	hcl2 "github.com/hashicorp/hcl/v2"
)

// FULLNAT (lb_kind FNAT) comes from Alibaba's patched kernel and DPVS,
// whose keepalived reads `lb_kind FNAT`, `laddr_group_name NAME` and a
// top-level `local_address_group NAME { ADDR [IFNAME] ... }`. Mainline
// IPVS has no FULLNAT; lvsd offers the same effect as IPVS NAT plus a
// source NAT of the director-to-real-server leg to the local address
// pool (internal/fullnat: an nftables table of lvsd's own), so real
// servers need no route back through the director.

// KindFNAT is lb_kind FNAT (also read as FULLNAT).
const KindFNAT = "FNAT"

// LocalAddressGroup is a local_address_group: the director's addresses a
// FULLNAT service's connections to its real servers leave from.
type LocalAddressGroup struct {
	Name string
	// Entries are the entries as written ("10.0.0.250", "10.0.0.251-254").
	Entries []string
	// Addresses are the entries' addresses, ranges expanded, in order.
	Addresses []netip.Addr
	Pos       Pos
}

// parseLocalAddresses reads one local_address_group entry: an address,
// optionally followed by an interface name (DPVS: the port the address
// lives on; lvsd lets the routing table choose), or a range
// A.B.C.D-E.
func parseLocalAddresses(entry string) ([]netip.Addr, error) {
	f := strings.Fields(entry)
	if len(f) == 0 || len(f) > 2 {
		return nil, fmt.Errorf("%q: want ADDR [IFNAME] or A.B.C.D-E", entry)
	}
	members, err := ParseGroupEntry(f[0] + " 0")
	if err != nil {
		return nil, fmt.Errorf("%q: %w", entry, err)
	}
	out := make([]netip.Addr, 0, len(members))
	for _, m := range members {
		if !m.Addr.IsValid() {
			return nil, fmt.Errorf("%q: not an address", entry)
		}
		out = append(out, m.Addr.Addr())
	}
	return out, nil
}

// localAddressGroup reads keepalived's (DPVS's) local_address_group.
func (r *kaReader) localAddressGroup(n *kaNode) {
	name, ok := r.name(n)
	if !ok {
		return
	}
	g := LocalAddressGroup{Name: name, Pos: n.pos}
	for _, e := range n.block {
		if e.hasBlock {
			r.errf(e.pos, "invalid local_address_group entry", "%s opens a block", e.name)
			continue
		}
		addrs, err := parseLocalAddresses(e.line())
		if err != nil {
			r.errf(e.pos, "invalid local_address_group entry", "%v", err)
			continue
		}
		g.Entries = append(g.Entries, e.line())
		g.Addresses = append(g.Addresses, addrs...)
	}
	r.cfg.LocalAddressGroups = append(r.cfg.LocalAddressGroups, g)
}

// localAddressGroup reads the HCL local_address_group block:
// addresses = ["10.0.0.250", "10.0.0.251-254"].
func (d *decoder) localAddressGroup(b *hcl2.Block) {
	bl := d.openBlock(b, localAddressGroupSchema)
	g := LocalAddressGroup{Name: b.Labels[0], Pos: bl.def}
	entries, _ := bl.strList("addresses")
	for _, e := range entries {
		addrs, err := parseLocalAddresses(e)
		if err != nil {
			d.diags.errorf(bl.pos.Where("addresses", Pos{}), "invalid local_address_group address", "%v", err)
			continue
		}
		g.Entries = append(g.Entries, e)
		g.Addresses = append(g.Addresses, addrs...)
	}
	d.cfg.LocalAddressGroups = append(d.cfg.LocalAddressGroups, g)
}

var localAddressGroupSchema = blockSchema([]string{"addresses"})

// fullNAT resolves and checks each FULLNAT service's local address pool:
// it must name a local_address_group whose addresses are of the
// service's family and form one range (the source NAT takes a range);
// IPv4 address services only.
func (v *validator) fullNAT() {
	groups := map[string]*LocalAddressGroup{}
	for i := range v.cfg.LocalAddressGroups {
		g := &v.cfg.LocalAddressGroups[i]
		if groups[g.Name] != nil {
			v.diags.errorf(g.Pos, "duplicate local_address_group", "%q is also defined at %s", g.Name, groups[g.Name].Pos)
			continue
		}
		groups[g.Name] = g
	}
	for i := range v.cfg.VirtualServers {
		vs := &v.cfg.VirtualServers[i]
		where := func(attr string) Pos { return vs.Positions.Where(attr, vs.Pos) }
		if vs.LBKind != KindFNAT {
			if vs.LocalAddressGroup != "" {
				v.diags.warnf(where("laddr_group_name"), "laddr_group_name without lb_kind FNAT", "virtual_server %q: the local addresses are used by FULLNAT only", vs.Name)
			}
			continue
		}
		switch {
		case vs.FWMark != 0:
			v.diags.errorf(where("lb_kind"), "lb_kind FNAT on a fwmark service", "virtual_server %q: lvsd's FULLNAT matches connections by virtual address and port", vs.Name)
			continue
		case vs.IPv6:
			v.diags.errorf(where("lb_kind"), "lb_kind FNAT on an IPv6 service", "virtual_server %q: lvsd's FULLNAT is IPv4 only", vs.Name)
			continue
		case vs.LocalAddressGroup == "":
			v.diags.errorf(where("lb_kind"), "lb_kind FNAT without laddr_group_name", "virtual_server %q: FULLNAT needs the local_address_group its connections to the real servers leave from", vs.Name)
			continue
		}
		g := groups[vs.LocalAddressGroup]
		if g == nil {
			v.diags.errorf(where("laddr_group_name"), "undefined local_address_group", "virtual_server %q: laddr_group_name %q", vs.Name, vs.LocalAddressGroup)
			continue
		}
		if err := oneRange(g.Addresses); err != nil {
			v.diags.errorf(g.Pos, "local_address_group is not one IPv4 range", "%q: %v (lvsd's source NAT takes one range of addresses)", g.Name, err)
			continue
		}
		vs.LocalAddresses = g.Addresses
	}
}

// oneRange checks that addrs are IPv4 addresses that, sorted, follow one
// another.
func oneRange(addrs []netip.Addr) error {
	if len(addrs) == 0 {
		return fmt.Errorf("no address")
	}
	seen := map[netip.Addr]bool{}
	lo := addrs[0]
	for _, a := range addrs {
		if !a.Is4() {
			return fmt.Errorf("%s is not IPv4", a)
		}
		if seen[a] {
			return fmt.Errorf("%s is listed twice", a)
		}
		seen[a] = true
		if a.Less(lo) {
			lo = a
		}
	}
	for a, n := lo, 0; n < len(addrs); a, n = a.Next(), n+1 {
		if !seen[a] {
			return fmt.Errorf("%s is missing between the lowest and the highest address", a)
		}
	}
	return nil
}

// convertLocalAddressGroups writes the local_address_group blocks.
func convertLocalAddressGroups(root *hclBody, groups []LocalAddressGroup) {
	for _, g := range groups {
		root.newline()
		setList(root.block("local_address_group", []string{g.Name}), "addresses", g.Entries)
	}
}
