package hcl

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The network edge of VRRP beyond virtual_ipaddress, spelled as
// keepalived spells it: virtual_ipaddress_excluded, virtual_routes,
// virtual_rules, use_vmac, vmac_xmit_base, mcast_dst_ip (global
// vrrp_mcast_group4/6), unicast_ttl; and the static_ipaddress,
// static_routes and static_rules installed at start whatever the state.
// The model, its defaults and its validation live here; the parsers of
// routes and rules in route.go.

// InstanceNet is what a vrrp_instance holds besides its advertised
// addresses. Every default is resolved by validation.
type InstanceNet struct {
	// ExcludedIPs are held while MASTER like VirtualIPs but left out of
	// the adverts (virtual_ipaddress_excluded); any address family.
	ExcludedIPs []VIP
	// Routes and Rules are added on becoming MASTER and removed on
	// leaving it (virtual_routes, virtual_rules).
	Routes []Route
	Rules  []Rule
	// VMAC is the macvlan the instance's addresses live on (use_vmac);
	// nil without one.
	VMAC *VMAC
	// VMACAddr (use_vmac_addr) gives the addresses on other interfaces
	// than the instance's, and the excluded ones of the other family,
	// VMACs of their own: AddrVMACs, one per interface and family, each
	// address's Dev set to its VMAC by validation.
	VMACAddr  bool
	AddrVMACs []VMAC
	// McastGroup is where multicast adverts go: mcast_dst_ip, else global
	// vrrp_mcast_group4 (vrrp_mcast_group6), else 224.0.0.18 (ff02::12),
	// RFC 3768 §5.2.2, RFC 5798 §5.1.1.2. Unused with unicast peers.
	McastGroup netip.Addr
	// UnicastTTL is the IP TTL (IPv6 Hop Limit) of unicast adverts
	// (unicast_ttl, default 255, RFC 3768 §5.2.3); multicast adverts
	// always carry 255.
	UnicastTTL int
	// NoAccept is Accept_Mode False (RFC 5798 §6.1): while MASTER, a
	// node that is not the address owner drops the packets addressed to
	// the instance's addresses (virtual and excluded) and sends none from
	// them; ARP and IPv6 neighbour discovery still answer
	// (internal/acceptmode). keepalived's no_accept, and its default
	// under vrrp_strict or strict_mode; never for priority 255, which
	// always accepts (validation clears it there).
	NoAccept bool
	// LowerPriorityNoAdvert: a MASTER discards an advert of a lower
	// priority (RFC 3768 §6.4.3). Without it lvsd answers one at once
	// with an advert and gratuitous ARPs, as keepalived does by default
	// (a split brain heals at once). keepalived's strict mode
	// (vrrp_strict, strict_mode) sets it: lower_prio_no_advert with
	// garp_lower_prio_repeat 0.
	LowerPriorityNoAdvert bool
}

// VMAC is keepalived's use_vmac: a macvlan interface (mode private) on
// the instance's interface, carrying the virtual router MAC address of
// RFC 3768 §7.3 (00-00-5E-00-01-VRID; 00-00-5E-00-02-VRID for IPv6, RFC
// 5798 §7.3). lvsd creates it at start, holds the VIPs on it, sends the
// adverts from it (from the base interface with XmitBase) and removes it
// at stop.
type VMAC struct {
	Name     string           // interface name (default "vrrp.VRID", keepalived's numbering when taken)
	Named    bool             // the name was written (use_vmac NAME)
	MAC      net.HardwareAddr // default the virtual router MAC
	XmitBase bool             // vmac_xmit_base: adverts to and from the base interface
	// Base is the interface it sits on: the instance's for use_vmac,
	// an address's for use_vmac_addr; IPv6 its address family.
	Base string
	IPv6 bool
	// IPVLAN makes it keepalived's use_ipvlan instead: an ipvlan in mode
	// l2 with IPVLANFlag (bridge, the default, private or vepa), which
	// shares the base interface's MAC (MAC stays nil) and holds Addr
	// from start to stop; the adverts go through it from Addr unless
	// unicast_src_ip names another (keepalived's vrrp_ipvlan_handler).
	// Unlike a VMAC's, the VIPs stay on the base interface, as
	// keepalived 2.2.7 adds them.
	IPVLAN     bool
	IPVLANFlag string
	Addr       netip.Prefix
}

// IPVLAN flags (ip-link(8): ipvlan mode l2 bridge|private|vepa).
const (
	IPVLANBridge  = "bridge"
	IPVLANPrivate = "private"
	IPVLANVEPA    = "vepa"
)

// ParseIPVLAN reads use_ipvlan's arguments: [NAME] [ADDR[/PREFIX]]
// [bridge|private|vepa], in any order as keepalived reads them; an
// address without a prefix is a host address. notes are what keepalived
// reports and goes past (a second flag or address is ignored).
func ParseIPVLAN(args []string) (m *VMAC, notes []string, err error) {
	m = &VMAC{IPVLAN: true, IPVLANFlag: IPVLANBridge}
	flagSet := false
	for _, a := range args {
		switch a {
		case IPVLANBridge, IPVLANPrivate, IPVLANVEPA:
			if flagSet {
				notes = append(notes, fmt.Sprintf("ipvlan type already specified - ignoring '%s'", a))
				continue
			}
			m.IPVLANFlag, flagSet = a, true
			continue
		}
		if p, ok := parseHostPrefix(a); ok {
			if m.Addr.IsValid() {
				notes = append(notes, fmt.Sprintf("ipvlan address already specified - ignoring '%s'", a))
				continue
			}
			m.Addr = p
			continue
		}
		if m.Name != "" {
			return nil, notes, fmt.Errorf("use_ipvlan: want [NAME] [ADDR] [bridge|private|vepa], got %q", strings.Join(args, " "))
		}
		m.Name, m.Named = a, true
	}
	return m, notes, nil
}

// parseHostPrefix reads ADDR or ADDR/PREFIX; ADDR alone is /32 or /128.
func parseHostPrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// StaticNet is what lvsd installs at start and removes at stop whatever
// the VRRP state, as keepalived does (static_ipaddress, static_routes,
// static_rules).
type StaticNet struct {
	Addresses []VIP
	Routes    []Route
	Rules     []Rule
}

// ownerPriority is the address owner's priority (RFC 3768 §5.3.4).
const ownerPriority = 255

// maxIfName is the longest interface name Linux takes (IFNAMSIZ - 1).
const maxIfName = 15

// Rules written without a priority are numbered from here down, as
// keepalived does ("Rule has no preference specified - setting to 16384").
const firstRulePriority = 16384

// VirtualRouterMAC is the virtual router MAC address of vrid: RFC 3768
// §7.3 (00-00-5E-00-01-VRID), RFC 5798 §7.3 for IPv6 (00-00-5E-00-02-VRID).
func VirtualRouterMAC(vrid int, ipv6 bool) net.HardwareAddr {
	family := byte(1)
	if ipv6 {
		family = 2
	}
	return net.HardwareAddr{0x00, 0x00, 0x5e, 0x00, family, byte(vrid)}
}

// ParseVMAC reads use_vmac's arguments: [NAME] [MAC], where MAC may have
// five octets (the VRID is the sixth), as keepalived takes it.
func ParseVMAC(args []string, vrid int, ipv6 bool) (*VMAC, error) {
	v := &VMAC{}
	for _, a := range args {
		if strings.Count(a, ":") >= 4 && v.MAC == nil {
			if strings.Count(a, ":") == 4 {
				a += ":" + strconv.FormatInt(int64(vrid), 16)
			}
			mac, err := net.ParseMAC(a)
			if err != nil || len(mac) != 6 {
				return nil, fmt.Errorf("use_vmac: %q is not a MAC address", a)
			}
			v.MAC = mac
			continue
		}
		if v.Name != "" {
			return nil, fmt.Errorf("use_vmac: want [NAME] [MAC], got %q", strings.Join(args, " "))
		}
		v.Name, v.Named = a, true
	}
	return v, nil
}

// instanceNet validates an instance's network edge and resolves its
// defaults; it runs before the VIPs' devices are defaulted, so that VIPs
// written without dev go on the VMAC.
func (v *validator) instanceNet(in *VRRPInstance, where func(string) Pos) {
	n := &in.Net
	if m := n.VMAC; m != nil {
		m.Base, m.IPv6 = in.Interface, in.IPv6
		switch {
		case m.IPVLAN:
			v.ipvlan(in, m, where)
		case m.MAC == nil:
			m.MAC = VirtualRouterMAC(in.VirtualRouterID, in.IPv6)
		}
		switch {
		case m.IPVLAN && m.Name == "":
			m.Name = v.vmacName(in.VirtualRouterID, in.IPv6) // one ipvlan per instance
		case m.Name == "":
			m.Name = v.vmacFor(in.VirtualRouterID, in.IPv6, m.Base, m.MAC)
		case !m.IPVLAN:
			v.vmacs[m.Base+" "+m.MAC.String()] = m.Name
		}
		if len(m.Name) > maxIfName || strings.ContainsAny(m.Name, "/ ") {
			v.diags.errorf(where("use_vmac"), "invalid use_vmac", "vrrp_instance %q: interface name %q: at most %d characters, no '/' or space", in.Name, m.Name, maxIfName)
		}
		if m.Name == in.Interface {
			v.diags.errorf(where("use_vmac"), "invalid use_vmac", "vrrp_instance %q: the VMAC interface needs a name other than the instance's interface %q", in.Name, in.Interface)
		}
		if len(in.UnicastPeers) > 0 && !m.XmitBase && !m.IPVLAN {
			v.diags.errorf(where("use_vmac"), "use_vmac with unicast peers", "vrrp_instance %q: unicast adverts need vmac_xmit_base (keepalived.conf(5): use_vmac)", in.Name)
		}
		// keepalived: a VIP without dev, or on the instance's interface,
		// lives on the VMAC; with an ipvlan it stays on the interface
		// (vrrp.c vrrp_complete_instance moves VIPs for VRRP_VMAC_BIT
		// only; seen in keepalived 2.2.7: the VIP on eth0, not ipv51).
		for i := range in.VirtualIPs {
			if d := in.VirtualIPs[i].Dev; (d == "" || d == in.Interface) && !m.IPVLAN {
				in.VirtualIPs[i].Dev = m.Name
			}
		}
	} else if ok := in.Positions.Has("vmac_xmit_base"); ok {
		v.diags.warnf(where("vmac_xmit_base"), "vmac_xmit_base has no effect", "vrrp_instance %q has no use_vmac", in.Name)
	}
	dev := in.Interface
	if n.VMAC != nil && !n.VMAC.IPVLAN {
		dev = n.VMAC.Name
	}
	seen := map[netip.Addr]bool{}
	for _, vip := range in.VirtualIPs {
		seen[vip.Prefix.Addr()] = true
	}
	for i := range n.ExcludedIPs {
		e := &n.ExcludedIPs[i]
		if e.Dev == "" || e.Dev == in.Interface {
			// The VMAC carries the instance's family only.
			e.Dev = in.Interface
			if e.Prefix.Addr().Is6() == in.IPv6 {
				e.Dev = dev
			}
		}
		if seen[e.Prefix.Addr()] {
			v.diags.errorf(e.Pos, "duplicate virtual_ipaddress_excluded", "vrrp_instance %q: %s is listed twice", in.Name, e.Prefix.Addr())
		}
		seen[e.Prefix.Addr()] = true
	}
	group := MulticastGroup(in.IPv6)
	if n.McastGroup.IsValid() {
		if !n.McastGroup.IsMulticast() || n.McastGroup.Is6() != in.IPv6 {
			v.diags.errorf(where("mcast_dst_ip"), "invalid mcast_dst_ip", "vrrp_instance %q: %s is not an %s multicast group", in.Name, n.McastGroup, familyName(in.IPv6))
			n.McastGroup = group
		}
	} else {
		n.McastGroup = group
	}
	if ok := in.Positions.Has("unicast_ttl"); !ok {
		n.UnicastTTL = defaultUnicastTTL
	}
	if in.Priority == ownerPriority {
		// keepalived.conf(5), priority: the address owner accepts.
		n.NoAccept = false
	}
	if n.UnicastTTL < 1 || n.UnicastTTL > 255 {
		v.diags.errorf(where("unicast_ttl"), "invalid unicast_ttl", "vrrp_instance %q: unicast_ttl %d is outside 1..255", in.Name, n.UnicastTTL)
	}
	v.addrVMACs(in)
	v.routes(n.Routes, dev)
}

// ipvlan validates use_ipvlan: its address in the instance's family,
// required for IPv4 (keepalived.conf(5): "For IPv4 instances, an IP
// address is required"); not with use_vmac_addr, whose VMACs carry the
// virtual router MAC an ipvlan cannot have.
func (v *validator) ipvlan(in *VRRPInstance, m *VMAC, where func(string) Pos) {
	switch {
	case m.Addr.IsValid() && m.Addr.Addr().Is6() != in.IPv6:
		v.diags.errorf(where("use_ipvlan"), "invalid use_ipvlan", "vrrp_instance %q: the ipvlan address %s is not %s", in.Name, m.Addr, familyName(in.IPv6))
	case !m.Addr.IsValid() && !in.IPv6:
		v.diags.errorf(where("use_ipvlan"), "invalid use_ipvlan", "vrrp_instance %q: an IPv4 instance's ipvlan needs an address (use_ipvlan [NAME] ADDR [bridge|private|vepa])", in.Name)
	}
	if !slices.Contains([]string{IPVLANBridge, IPVLANPrivate, IPVLANVEPA}, m.IPVLANFlag) {
		v.diags.errorf(where("use_ipvlan"), "invalid use_ipvlan", "vrrp_instance %q: ipvlan type %q is not bridge, private or vepa", in.Name, m.IPVLANFlag)
	}
	if in.Net.VMACAddr {
		v.diags.errorf(where("use_vmac_addr"), "use_vmac_addr with use_ipvlan", "vrrp_instance %q: use_vmac_addr makes VMACs, which an ipvlan instance has none of", in.Name)
	}
	m.XmitBase = false
}

// vmacNames takes the names given with use_vmac, before the instances
// are validated: instanceNet then names the other VMACs, each instance's
// own and then its use_vmac_addr ones, in the order of the instances, as
// keepalived's create_vmac_name does (vmacName).
func (v *validator) vmacNames() {
	v.vmacs = map[string]string{}
	for i := range v.cfg.Instances {
		if m := v.cfg.Instances[i].Net.VMAC; m != nil && m.Name != "" {
			v.vmacs[m.Name] = m.Name
		}
	}
}

// vmacFor names a VMAC written without a name: the VMAC an instance
// before it has on the same interface with the same MAC, which they then
// share (keepalived's if_get_by_vmac: a macvlan cannot have its parent's
// other macvlan's MAC), else the next name of keepalived's sequence.
func (v *validator) vmacFor(vrid int, ipv6 bool, base string, mac net.HardwareAddr) string {
	key := base + " " + mac.String()
	if name, ok := v.vmacs[key]; ok {
		return name
	}
	name := v.vmacName(vrid, ipv6)
	v.vmacs[key] = name
	return name
}

// vmacName returns the first name of keepalived's sequence not taken,
// "vrrp.VRID", else "vrrp1.VRID", "vrrp2.VRID"... (IPv6 tries
// "vrrp6.VRID" second), and takes it.
func (v *validator) vmacName(vrid int, ipv6 bool) string {
	name := func(num int) string {
		if num == 0 {
			return fmt.Sprintf("vrrp.%d", vrid)
		}
		return fmt.Sprintf("vrrp%d.%d", num, vrid)
	}
	num := 0
	for v.vmacs[name(num)] != "" {
		switch {
		case !ipv6:
			num++
		case num == 0:
			num = 6
		case num == 6:
			num = 1
		default:
			if num++; num == 6 {
				num++
			}
		}
	}
	v.vmacs[name(num)] = name(num)
	return name(num)
}

// addrVMACs gives use_vmac_addr's addresses their VMACs, as keepalived's
// vrrp_complete_instance does: an address on another interface than the
// instance's, or an excluded one of the other family, goes on a VMAC on
// its interface (one per interface and family).
func (v *validator) addrVMACs(in *VRRPInstance) {
	n := &in.Net
	if !n.VMACAddr {
		return
	}
	byKey := map[string]string{}
	place := func(a *VIP) {
		six := a.Prefix.Addr().Is6()
		base := a.Dev
		switch {
		case base == "" || base == in.Interface:
			if six == in.IPv6 {
				return // the instance's own interface (or its VMAC)
			}
			base = in.Interface
		case n.VMAC != nil && base == n.VMAC.Name:
			return
		}
		key := fmt.Sprintf("%s/%v", base, six)
		if name, ok := byKey[key]; ok {
			a.Dev = name
			return
		}
		m := VMAC{MAC: VirtualRouterMAC(in.VirtualRouterID, six), Base: base, IPv6: six}
		if n.VMAC != nil && !bytes.Equal(n.VMAC.MAC, VirtualRouterMAC(in.VirtualRouterID, in.IPv6)) {
			m.MAC = n.VMAC.MAC // a MAC given with use_vmac serves every VMAC of the instance
		}
		m.Name = v.vmacFor(in.VirtualRouterID, six, base, m.MAC)
		byKey[key] = m.Name
		n.AddrVMACs = append(n.AddrVMACs, m)
		a.Dev = m.Name
	}
	for i := range in.VirtualIPs {
		place(&in.VirtualIPs[i])
	}
	for i := range n.ExcludedIPs {
		place(&n.ExcludedIPs[i])
	}
}

// MulticastGroup is the RFC's advert group of a family: 224.0.0.18 (RFC
// 3768 §5.2.2) or ff02::12 (RFC 5798 §5.1.2.2).
func MulticastGroup(ipv6 bool) netip.Addr {
	if ipv6 {
		return netip.MustParseAddr("ff02::12")
	}
	return netip.MustParseAddr("224.0.0.18")
}

// routes checks routes; a unicast route without via or dev gets dev
// (the instance's interface or VMAC; nothing for static routes).
func (v *validator) routes(rs []Route, dev string) {
	for i := range rs {
		r := &rs[i]
		if r.Type == RouteUnicast && len(r.Via) == 0 && r.Dev == "" {
			if dev == "" {
				v.diags.errorf(r.Pos, "invalid route", "%q needs via or dev", r.Raw)
				continue
			}
			r.Dev = dev
		}
	}
}

// numberRules numbers the rules written without a priority, from 16384
// down in the order they were written, static ones first, as keepalived
// does.
func (v *validator) numberRules() {
	next := firstRulePriority
	number := func(rs []Rule) {
		for i := range rs {
			r := &rs[i]
			if r.PrioritySet {
				continue
			}
			r.Priority, r.PrioritySet = next, true
			r.Raw += " priority " + strconv.Itoa(next)
			next--
			if !v.keepalived {
				// The keepalived.conf reader numbers its own, with
				// keepalived's warning.
				v.diags.warnf(r.Pos, "rule without priority", "%q is given priority %d (keepalived's numbering); write priority N", r.Raw, r.Priority)
			}
		}
	}
	number(v.cfg.Static.Rules)
	for i := range v.cfg.Instances {
		number(v.cfg.Instances[i].Net.Rules)
	}
}

// staticNet checks static_ipaddress, static_routes and static_rules, and
// numbers every rule written without a priority; it runs before the
// instances are validated.
func (v *validator) staticNet() {
	v.vmacNames()
	s := &v.cfg.Static
	for _, a := range s.Addresses {
		if a.Dev == "" {
			v.diags.errorf(a.Pos, "static_ipaddress without dev", "%q needs dev DEVICE", a.Raw)
		}
	}
	v.routes(s.Routes, "")
	v.numberRules()
}
