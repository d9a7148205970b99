package hcl

import (
	"bytes"
	"errors"
	"strings"

	hcl2 "github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// The HCL side of vrrp_net.go: the attributes spelled as keepalived
// spells them, each list entry a keepalived line:
//
//	virtual_ipaddress_excluded = ["192.0.2.200/24 dev eth1"]
//	virtual_routes = ["198.51.100.0/24 via 192.0.2.254", "blackhole 203.0.113.0/24"]
//	virtual_rules  = ["from 192.0.2.0/24 table 100 priority 100"]
//	use_vmac = true            # or "NAME [MAC]"
//	vmac_xmit_base = true
//	use_vmac_addr = true
//	use_ipvlan = "192.0.2.10/24"  # or true (IPv6), "NAME ADDR private"
//	mcast_dst_ip = "224.0.0.19"
//	unicast_ttl = 64
//	no_accept = true           # or accept = false
//
// and at the top level static_ipaddress, static_routes, static_rules.

// instanceNetAttrs are the vrrp_instance attributes decoded here.
var instanceNetAttrs = []string{"virtual_ipaddress_excluded", "virtual_routes", "virtual_rules",
	"use_vmac", "vmac_xmit_base", "use_vmac_addr", "mcast_dst_ip", "unicast_ttl", "accept", "no_accept", "use_ipvlan",
	"lower_prio_no_advert"}

// staticNetAttrs are the top-level attributes decoded here.
var staticNetAttrs = []string{"static_ipaddress", "static_routes", "static_rules"}

func (d *decoder) instanceNet(bl *block, in *VRRPInstance) {
	n := &in.Net
	n.ExcludedIPs = d.vipList(bl, "virtual_ipaddress_excluded")
	if list, ok := bl.strList("virtual_routes"); ok {
		n.Routes = d.routeList(list, bl.pos.Where("virtual_routes", Pos{}))
	}
	if list, ok := bl.strList("virtual_rules"); ok {
		n.Rules = d.ruleList(list, bl.pos.Where("virtual_rules", Pos{}))
	}
	if v, ok := bl.value("use_vmac", cty.DynamicPseudoType); ok {
		switch v.Type() {
		case cty.Bool:
			if v.True() {
				n.VMAC = &VMAC{}
			}
		case cty.String:
			m, err := ParseVMAC(strings.Fields(v.AsString()), in.VirtualRouterID, false)
			if err != nil {
				d.diags.errorf(bl.pos.Where("use_vmac", Pos{}), "invalid use_vmac", "%v", err)
			} else {
				n.VMAC = m
			}
		default:
			d.diags.errorf(bl.pos.Where("use_vmac", Pos{}), "invalid use_vmac", "use_vmac is true or \"NAME [MAC]\"")
		}
	}
	if v, ok := bl.value("use_ipvlan", cty.DynamicPseudoType); ok {
		var m *VMAC
		switch {
		case v.Type() == cty.Bool && v.True():
			m = &VMAC{IPVLAN: true, IPVLANFlag: IPVLANBridge}
		case v.Type() == cty.String:
			var notes []string
			var err error
			m, notes, err = ParseIPVLAN(strings.Fields(v.AsString()))
			if err == nil && len(notes) > 0 {
				err = errors.New(strings.Join(notes, "; "))
			}
			if err != nil {
				d.diags.errorf(bl.pos.Where("use_ipvlan", Pos{}), "invalid use_ipvlan", "%v", err)
				m = nil
			}
		case v.Type() != cty.Bool:
			d.diags.errorf(bl.pos.Where("use_ipvlan", Pos{}), "invalid use_ipvlan", "use_ipvlan is true or \"[NAME] [ADDR] [bridge|private|vepa]\"")
		}
		if m != nil && n.VMAC != nil {
			d.diags.errorf(bl.pos.Where("use_ipvlan", Pos{}), "use_ipvlan with use_vmac", "vrrp_instance %q: write one of them", in.Name)
		} else if m != nil {
			n.VMAC = m
		}
	}
	var xmit bool
	if bl.boolean("vmac_xmit_base", &xmit) && n.VMAC != nil {
		n.VMAC.XmitBase = xmit
	}
	bl.boolean("use_vmac_addr", &n.VMACAddr)
	bl.addr("mcast_dst_ip", &n.McastGroup)
	bl.integer("unicast_ttl", &n.UnicastTTL)
	var accept, noAccept bool
	hasAccept, hasNoAccept := bl.boolean("accept", &accept), bl.boolean("no_accept", &noAccept)
	if hasAccept && hasNoAccept && accept == noAccept {
		d.diags.errorf(bl.pos.Where("no_accept", Pos{}), "accept and no_accept disagree", "vrrp_instance %q: write one of them", in.Name)
	}
	n.NoAccept = noAccept || (hasAccept && !accept)
	bl.boolean("lower_prio_no_advert", &n.LowerPriorityNoAdvert)
}

// vipList decodes a list of addresses in virtual_ipaddress syntax.
func (d *decoder) vipList(bl *block, name string) []VIP {
	list, ok := bl.strList(name)
	if !ok {
		return nil
	}
	var out []VIP
	for _, raw := range list {
		vip, err := ParseVIP(raw)
		if err != nil {
			d.diags.errorf(bl.pos.Where(name, Pos{}), "invalid "+name, "%v", err)
			continue
		}
		vip.Pos = bl.pos.Where(name, Pos{})
		out = append(out, vip)
	}
	return out
}

func (d *decoder) routeList(list []string, pos Pos) []Route {
	var out []Route
	for _, raw := range list {
		r, _, err := ParseRoute(raw)
		if err != nil {
			d.diags.errorf(pos, "invalid route", "%v", err)
			continue
		}
		r.Pos = pos
		out = append(out, r)
	}
	return out
}

func (d *decoder) ruleList(list []string, pos Pos) []Rule {
	var out []Rule
	for _, raw := range list {
		r, err := ParseRule(raw)
		if err != nil {
			d.diags.errorf(pos, "invalid rule", "%v", err)
			continue
		}
		r.Pos = pos
		out = append(out, r)
	}
	return out
}

// staticNet decodes the top-level static_* attributes of one file.
func (d *decoder) staticNet(attrs hcl2.Attributes) {
	s := &d.cfg.Static
	for _, name := range staticNetAttrs {
		attr, ok := attrs[name]
		if !ok {
			continue
		}
		list, ok := d.stringList(attr)
		if !ok {
			continue
		}
		pos := posOf(attr.Expr.Range())
		switch name {
		case "static_ipaddress":
			for _, raw := range list {
				vip, err := ParseVIP(raw)
				if err != nil {
					d.diags.errorf(pos, "invalid static_ipaddress", "%v", err)
					continue
				}
				vip.Pos = pos
				s.Addresses = append(s.Addresses, vip)
			}
		case "static_routes":
			s.Routes = append(s.Routes, d.routeList(list, pos)...)
		case "static_rules":
			s.Rules = append(s.Rules, d.ruleList(list, pos)...)
		}
	}
}

// convertInstanceNet writes an instance's network edge back.
func convertInstanceNet(b *hclBody, in VRRPInstance) {
	n := in.Net
	var excl []string
	for _, v := range n.ExcludedIPs {
		excl = append(excl, v.Raw)
	}
	setList(b, "virtual_ipaddress_excluded", excl)
	setList(b, "virtual_routes", rawRoutes(n.Routes))
	setList(b, "virtual_rules", rawRules(n.Rules))
	if m := n.VMAC; m != nil && m.IPVLAN {
		var args []string
		if m.Named {
			args = append(args, m.Name)
		}
		if m.Addr.IsValid() {
			args = append(args, m.Addr.String())
		}
		if m.IPVLANFlag != IPVLANBridge {
			args = append(args, m.IPVLANFlag)
		}
		if len(args) == 0 {
			b.attr("use_ipvlan", "true")
		} else {
			setStr(b, "use_ipvlan", strings.Join(args, " "))
		}
	} else if m != nil {
		var args []string
		if m.Named {
			args = append(args, m.Name)
		}
		if !bytes.Equal(m.MAC, VirtualRouterMAC(in.VirtualRouterID, in.IPv6)) {
			args = append(args, m.MAC.String())
		}
		if len(args) == 0 {
			b.attr("use_vmac", "true")
		} else {
			setStr(b, "use_vmac", strings.Join(args, " "))
		}
		if m.XmitBase {
			b.attr("vmac_xmit_base", "true")
		}
	}
	if n.VMACAddr {
		b.attr("use_vmac_addr", "true")
	}
	if n.McastGroup.IsValid() && n.McastGroup != MulticastGroup(in.IPv6) {
		setStr(b, "mcast_dst_ip", n.McastGroup.String())
	}
	if n.UnicastTTL != 0 && n.UnicastTTL != defaultUnicastTTL {
		setInt(b, "unicast_ttl", n.UnicastTTL)
	}
	if n.NoAccept {
		b.attr("no_accept", "true")
	}
	if n.LowerPriorityNoAdvert {
		b.attr("lower_prio_no_advert", "true")
	}
}

// convertStaticNet writes static_ipaddress, static_routes, static_rules.
func convertStaticNet(root *hclBody, s StaticNet) {
	var addrs []string
	for _, a := range s.Addresses {
		addrs = append(addrs, a.Raw)
	}
	setList(root, "static_ipaddress", addrs)
	setList(root, "static_routes", rawRoutes(s.Routes))
	setList(root, "static_rules", rawRules(s.Rules))
}

// rawRoutes and rawRules are the entries as written (a rule with the
// priority it was numbered with), which both readers parse alike.
func rawRoutes(rs []Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Raw)
	}
	return out
}

func rawRules(rs []Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Raw)
	}
	return out
}
