package hcl

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// The keepalived.conf side of vrrp_net.go: virtual_ipaddress_excluded,
// virtual_routes, virtual_rules, use_vmac, vmac_xmit_base, mcast_dst_ip,
// unicast_ttl, accept, no_accept, use_ipvlan in vrrp_instance; vrrp_mcast_group4/6 in global_defs; and
// static_ipaddress, static_routes, static_rules at the top level. Bad
// entries are skipped with keepalived's warning (vrrp_parser.c,
// vrrp_iproute.c, vrrp_iprule.c), as keepalived skips them.

// kaNet is what the reader keeps between blocks for these keywords.
type kaNet struct {
	mcastGroup4, mcastGroup6 netip.Addr // global_defs vrrp_mcast_group4/6
	rulePriority             int        // the next priority keepalived gives a rule without one
	// vmac holds use_vmac's arguments (nil: none) and vmac_xmit_base by
	// instance index, settled by netFinish once the VRID is known (a MAC
	// of five octets takes it as its sixth).
	vmac     map[int][]string
	xmitBase map[int]bool
	// ipvlan holds use_ipvlan's arguments by instance index.
	ipvlan map[int][]string
	// accept holds accept (true) and no_accept (false) by instance
	// index, settled by netFinish with strict mode and the priority.
	accept map[int]bool
	// loose holds, by instance index, the keywords written with a value
	// strict mode resets (keepalived_strict.go).
	loose map[int][]kaStrictLoose
}

// globalNet reads vrrp_mcast_group4, vrrp_mcast_group6 and vrrp_strict
// (keepalived_strict.go applies it); it says whether it took c.
func (r *kaReader) globalNet(c *kaNode) bool {
	switch c.name {
	case "vrrp_strict":
		if r.none(c) {
			r.vrrpStrict = true
		}
		return true
	case "vrrp_mcast_group4", "vrrp_mcast_group6":
	default:
		return false
	}
	a, ok := r.addr(c)
	if !ok {
		return true
	}
	six := c.name == "vrrp_mcast_group6"
	if a.Is6() != six || !a.IsMulticast() || (six && !a.IsLinkLocalMulticast()) {
		r.warnf(c.pos, fmt.Sprintf("%s %s is not a%s multicast address", c.name, a, map[bool]string{true: " link-local IPv6", false: "n IPv4"}[six]), "ignored, as keepalived does")
		return true
	}
	if six {
		r.net.mcastGroup6 = a
	} else {
		r.net.mcastGroup4 = a
	}
	r.cfg.Global.Positions.Set(c.name, c.pos)
	return true
}

// instanceNet reads an instance's network keywords; it says whether it
// took c.
func (r *kaReader) instanceNet(c *kaNode, in *VRRPInstance) bool {
	if r.strictKeyword(c, in) { // keepalived_strict.go
		return true
	}
	n := &in.Net
	switch c.name {
	case "virtual_ipaddress_excluded":
		if r.block(c) {
			in.Positions.Set(c.name, c.pos)
			n.ExcludedIPs = append(n.ExcludedIPs, r.vipBlock(c, in.Name)...)
		}
	case "virtual_routes":
		if r.block(c) {
			in.Positions.Set(c.name, c.pos)
			n.Routes = append(n.Routes, r.routeBlock(c, true)...)
		}
	case "virtual_rules":
		if r.block(c) {
			in.Positions.Set(c.name, c.pos)
			n.Rules = append(n.Rules, r.ruleBlock(c)...)
		}
	case "use_vmac":
		if r.noBlock(c) {
			if r.net.vmac == nil {
				r.net.vmac = map[int][]string{}
			}
			r.net.vmac[len(r.cfg.Instances)] = append([]string{}, c.argText()...)
			in.Positions.Set(c.name, c.pos)
		}
	case "use_ipvlan":
		if r.noBlock(c) {
			if r.net.ipvlan == nil {
				r.net.ipvlan = map[int][]string{}
			}
			r.net.ipvlan[len(r.cfg.Instances)] = append([]string{}, c.argText()...)
			in.Positions.Set(c.name, c.pos)
		}
	case "vmac_xmit_base":
		if r.none(c) {
			if r.net.xmitBase == nil {
				r.net.xmitBase = map[int]bool{}
			}
			r.net.xmitBase[len(r.cfg.Instances)] = true
			in.Positions.Set(c.name, c.pos)
		}
	case "use_vmac_addr":
		// VMACs on the other interfaces VIPs name (vrrp_net.go).
		if r.none(c) {
			n.VMACAddr = true
			in.Positions.Set(c.name, c.pos)
		}
	case "mcast_dst_ip":
		if a, ok := r.addr(c); ok {
			if !a.IsMulticast() || (a.Is6() && !a.IsLinkLocalMulticast()) {
				r.warnf(c.pos, fmt.Sprintf("(%s) mcast_dst_ip %s not multicast. Skipping...", in.Name, a), "as keepalived does")
				return true
			}
			n.McastGroup = a
			in.Positions.Set(c.name, c.pos)
		}
	case "accept", "no_accept":
		if r.none(c) {
			if r.net.accept == nil {
				r.net.accept = map[int]bool{}
			}
			r.net.accept[len(r.cfg.Instances)] = c.name == "accept"
			in.Positions.Set(c.name, c.pos)
		}
	case "unicast_ttl":
		if v, ok := r.integer(c, 1, 255); ok {
			n.UnicastTTL = int(v)
			in.Positions.Set(c.name, c.pos)
		}
	default:
		return false
	}
	return true
}

// staticNet reads static_ipaddress, static_routes and static_rules; it
// says whether it took n.
func (r *kaReader) staticNet(n *kaNode) bool {
	s := &r.cfg.Static
	switch n.name {
	case "static_ipaddress":
		if r.block(n) {
			s.Addresses = append(s.Addresses, r.vipBlock(n, "")...)
		}
	case "static_routes":
		if r.block(n) {
			s.Routes = append(s.Routes, r.routeBlock(n, false)...)
		}
	case "static_rules":
		if r.block(n) {
			s.Rules = append(s.Rules, r.ruleBlock(n)...)
		}
	default:
		return false
	}
	return true
}

// vipBlock reads addresses in virtual_ipaddress syntax; bad ones are
// skipped as keepalived skips them.
func (r *kaReader) vipBlock(n *kaNode, instance string) []VIP {
	var out []VIP
	for _, e := range n.block {
		if e.hasBlock {
			r.errf(e.pos, "invalid "+n.name+" entry", "%s opens a block", e.name)
			continue
		}
		vip, err := ParseVIP(e.line())
		if err != nil {
			r.warnf(e.pos, fmt.Sprintf("VRRP parsed invalid IP %s. skipping IP...", e.name), "%v", err)
			continue
		}
		vip.Pos = e.pos
		if slices.ContainsFunc(out, func(o VIP) bool { return o.Prefix.Addr() == vip.Prefix.Addr() }) {
			r.notef(e.pos, fmt.Sprintf("%s %s is listed twice", n.name, vip.Prefix.Addr()), "the first is used, as keepalived does")
			continue
		}
		out = append(out, vip)
	}
	return out
}

// routeBlock reads routes; virtual says they follow an instance, where
// keepalived warns about a route it cannot track (one without dev).
func (r *kaReader) routeBlock(n *kaNode, virtual bool) []Route {
	var out []Route
	for _, e := range n.block {
		if e.hasBlock {
			r.errf(e.pos, "invalid "+n.name+" entry", "%s opens a block", e.name)
			continue
		}
		rt, notes, err := ParseRoute(e.line())
		for _, note := range notes {
			r.warnf(e.pos, string(note), "as keepalived does")
		}
		if err != nil {
			r.warnf(e.pos, "invalid route", "%v; skipped, as keepalived skips it", err)
			continue
		}
		rt.Pos = e.pos
		if virtual && rt.Dev == "" && !slices.Contains(e.argText(), "no_track") && e.name != "no_track" {
			r.warnf(e.pos, fmt.Sprintf("Warning - cannot track route %s with no interface specified, not tracking", rt.Dst), "as keepalived says; lvsd adds and removes it with its instance")
		}
		out = append(out, rt)
	}
	return out
}

// ruleBlock reads rules, numbering those without a priority from 16384
// down as keepalived does, with its warning.
func (r *kaReader) ruleBlock(n *kaNode) []Rule {
	var out []Rule
	for _, e := range n.block {
		if e.hasBlock {
			r.errf(e.pos, "invalid "+n.name+" entry", "%s opens a block", e.name)
			continue
		}
		rule, err := ParseRule(e.line())
		if err != nil {
			r.warnf(e.pos, "invalid rule", "%v; skipped, as keepalived skips it", err)
			continue
		}
		rule.Pos = e.pos
		if !rule.PrioritySet {
			if r.net.rulePriority == 0 {
				r.net.rulePriority = firstRulePriority
			}
			rule.Priority, rule.PrioritySet = r.net.rulePriority, true
			rule.Raw += " priority " + strconv.Itoa(rule.Priority)
			r.net.rulePriority--
			r.warnf(e.pos, fmt.Sprintf("Rule has no preference specified - setting to %d. This is probably not what you want.", rule.Priority), "as keepalived does")
		}
		out = append(out, rule)
	}
	return out
}

// netFinish applies what depends on the whole instance, as keepalived's
// vrrp_complete_instance() does, each with its warning: global multicast
// groups, use_vmac (a five-octet MAC takes the VRID), vmac_xmit_base
// without use_vmac, unicast with use_vmac, unicast_ttl without unicast
// peers, AH with an initial state MASTER, and accept mode.
func (r *kaReader) netFinish() {
	for i := range r.cfg.Instances {
		in := &r.cfg.Instances[i]
		n := &in.Net
		r.acceptMode(i, in)
		r.strictNet(i, in) // keepalived_strict.go
		if args, ok := r.net.vmac[i]; ok {
			m, err := ParseVMAC(args, in.VirtualRouterID, false)
			if err != nil {
				r.warnf(in.Positions.Where("use_vmac", Pos{}), "VMAC invalid", "vrrp_instance %s: %v; the default name and MAC are used, as keepalived does", in.Name, err)
				m = &VMAC{}
			}
			m.XmitBase = r.net.xmitBase[i]
			n.VMAC = m
		} else if args, ok := r.net.ipvlan[i]; ok {
			m, notes, err := ParseIPVLAN(args)
			for _, note := range notes {
				r.warnf(in.Positions.Where("use_ipvlan", Pos{}), fmt.Sprintf("(%s) %s", in.Name, note), "as keepalived does")
			}
			if err != nil {
				r.warnf(in.Positions.Where("use_ipvlan", Pos{}), "IPVLAN invalid", "vrrp_instance %s: %v; the default name is used, as keepalived does", in.Name, err)
				m = &VMAC{IPVLAN: true, IPVLANFlag: IPVLANBridge}
			}
			if m.Addr.IsValid() && m.Addr.Addr().Is6() != instanceFamily(in) {
				r.warnf(in.Positions.Where("use_ipvlan", Pos{}), fmt.Sprintf("(%s) ipvlan address[%s] MUST match vrrp instance family !!! Skipping...", in.Name, m.Addr), "as keepalived does")
				m.Addr = netip.Prefix{}
			}
			n.VMAC = m
		}
		if _, ok := r.net.ipvlan[i]; ok && r.net.vmac[i] != nil {
			r.warnf(in.Positions.Where("use_ipvlan", Pos{}), fmt.Sprintf("(%s) use_ipvlan and use_vmac both given", in.Name), "use_vmac is used")
		}
		if r.net.xmitBase[i] && n.VMAC == nil {
			r.warnf(in.Positions.Where("vmac_xmit_base", Pos{}), fmt.Sprintf("(%s) vmac_xmit_base is only valid with a vmac", in.Name), "ignored, as keepalived does")
			in.Positions.Delete("vmac_xmit_base")
		}
		if m := n.VMAC; m != nil && len(in.UnicastPeers) > 0 && !m.XmitBase && !m.IPVLAN {
			r.warnf(in.Positions.Where("use_vmac", in.Pos), fmt.Sprintf("(%s) unicast with use_vmac requires vmac_xmit_base - setting", in.Name), "as keepalived does")
			m.XmitBase = true
		}
		if ok := in.Positions.Has("unicast_ttl"); ok && len(in.UnicastPeers) == 0 {
			// keepalived 2.2.7 "resets" it to 0 (vrrp_parser.c): the kernel
			// keeps a multicast of TTL 0 on the host, and the peers, hearing
			// nothing, take over. lvsd keeps the default, TTL 255.
			r.warnf(in.Positions.Where("unicast_ttl", Pos{}), fmt.Sprintf("(%s): Cannot use unicast_ttl without unicast peers - resetting", in.Name),
				"lvsd advertises with TTL 255 (RFC 3768 §5.2.3); keepalived 2.2.7 resets it to 0, so its multicast adverts never leave the host and a BACKUP peer takes over")
			n.UnicastTTL = 0
			in.Positions.Delete("unicast_ttl")
		}
		if in.AuthType == "AH" && in.State == StateMaster && in.Priority != kaOwnerPriority {
			// vrrp.c: an AH instance needs an advert's sequence number
			// before it takes over.
			r.warnf(in.Positions.Where("auth_type", in.Pos), fmt.Sprintf("(%s) Initial state master is incompatible with AH authentication - clearing", in.Name), "it starts as BACKUP, as keepalived does")
			in.State = StateBackup
		}
		if !n.McastGroup.IsValid() {
			if instanceFamily(in) {
				n.McastGroup = r.net.mcastGroup6
			} else {
				n.McastGroup = r.net.mcastGroup4
			}
		}
		if n.McastGroup.IsValid() && n.McastGroup.Is6() != instanceFamily(in) {
			r.warnf(in.Positions.Where("mcast_dst_ip", in.Pos), fmt.Sprintf("(%s) mcast dest address %s MUST match VRRP instance family. Skipping...", in.Name, n.McastGroup), "as keepalived does")
			n.McastGroup = netip.Addr{}
		}
	}
}

// acceptMode settles no_accept as keepalived 2.2.7's vrrp.c does: accept
// unless no_accept is written, or strict mode (vrrp_strict, the
// instance's strict_mode) is on and accept is not; strict mode resets
// accept for VRRPv2 with keepalived's warning ("accept mode for VRRP
// version 2 does not comply with RFC3768"). The address owner always
// accepts (validation clears NoAccept at priority 255).
func (r *kaReader) acceptMode(i int, in *VRRPInstance) {
	strict := r.vrrpStrict
	if v, ok := r.strictMode[in.Name]; ok {
		strict = v
	}
	accept, written := r.net.accept[i]
	version := in.Version
	if own := in.Positions.Has("version"); !own && !instanceFamily(in) {
		version = r.cfg.Global.VRRPVersion
	}
	switch {
	case !written:
		in.Net.NoAccept = strict
	case accept && strict && version != vrrpVersionV3:
		r.warnf(in.Positions.Where("accept", Pos{}), fmt.Sprintf("(%s) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting", in.Name), "the instance drops packets to its addresses while MASTER, as keepalived does")
		in.Net.NoAccept = true
	default:
		in.Net.NoAccept = !accept
	}
}
