package vrrp

import (
	"fmt"
	"log/slog"

	"github.com/lvsd/lvsd/hcl"
)

// Routing installs what lvsd holds besides the advertised addresses:
// routes and routing rules (virtual_routes and virtual_rules while
// MASTER, static_routes and static_rules from start to stop) and the VMAC
// interfaces of use_vmac. routing_linux.go implements it over rtnetlink.
type Routing interface {
	// AddRoute installs a route; one already there is not an error.
	AddRoute(r hcl.Route) error
	// RemoveRoute removes a route; an absent one is not an error.
	RemoveRoute(r hcl.Route) error
	// AddRule installs a routing rule; one already there is not an error.
	AddRule(r hcl.Rule) error
	// RemoveRule removes a routing rule; an absent one is not an error.
	RemoveRule(r hcl.Rule) error
	// AddVMAC creates the macvlan m (mode private, m.MAC) on base, sets
	// the sysctls keepalived sets on a VMAC and its base interface
	// (vrrp_vmac.c, vrrp_if_config.c), and brings it up. A macvlan of the
	// same name, base and MAC left by an earlier run is taken over.
	AddVMAC(base string, m hcl.VMAC, ipv6 bool) error
	// RemoveVMAC deletes the macvlan and restores the sysctls AddVMAC
	// changed.
	RemoveVMAC(base string, m hcl.VMAC) error
}

// installStatic adds static_ipaddress, static_routes and static_rules at
// start, whatever the VRRP state, as keepalived does; failures are logged
// (keepalived logs the netlink error and runs on).
func (n *Node) installStatic() {
	s := n.cfg.Static
	for _, a := range s.Addresses {
		if err := n.net.Addresses.AddVIP(a); err != nil {
			n.log.Error("adding static_ipaddress failed", "address", a.Prefix, "dev", a.Dev, "err", err)
		}
	}
	for _, r := range s.Routes {
		if err := n.net.Routing.AddRoute(r); err != nil {
			n.log.Error("adding static route failed", "route", r.String(), "err", err)
		}
	}
	for _, r := range s.Rules {
		if err := n.net.Routing.AddRule(r); err != nil {
			n.log.Error("adding static rule failed", "rule", r.String(), "err", err)
		}
	}
}

// removeStatic removes them at stop, as keepalived does.
func (n *Node) removeStatic() {
	s := n.cfg.Static
	for _, r := range s.Rules {
		_ = n.net.Routing.RemoveRule(r)
	}
	for _, r := range s.Routes {
		_ = n.net.Routing.RemoveRoute(r)
	}
	for _, a := range s.Addresses {
		_ = n.net.Addresses.RemoveVIP(a)
	}
}

// addHeld adds what an instance holds as MASTER besides its VIPs: the
// excluded addresses, then its routes and rules (a route may need an
// address just added).
func (n *Node) addHeld(in *instance) {
	for _, v := range in.cfg.Net.ExcludedIPs {
		if err := n.net.Addresses.AddVIP(v); err != nil {
			in.log.Error("adding virtual_ipaddress_excluded failed", "address", v.Prefix, "err", err)
		}
	}
	for _, r := range in.cfg.Net.Routes {
		if err := n.net.Routing.AddRoute(r); err != nil {
			in.log.Error("adding virtual route failed", "route", r.String(), "err", err)
		}
	}
	for _, r := range in.cfg.Net.Rules {
		if err := n.net.Routing.AddRule(r); err != nil {
			in.log.Error("adding virtual rule failed", "rule", r.String(), "err", err)
		}
	}
}

// removeHeld removes them in the reverse order; quiet says an absent one
// is expected (at start and at stop).
func (n *Node) removeHeld(in *instance, quiet bool) {
	for _, r := range in.cfg.Net.Rules {
		if err := n.net.Routing.RemoveRule(r); err != nil && !quiet {
			in.log.Error("removing virtual rule failed", "rule", r.String(), "err", err)
		}
	}
	for _, r := range in.cfg.Net.Routes {
		if err := n.net.Routing.RemoveRoute(r); err != nil && !quiet {
			in.log.Error("removing virtual route failed", "route", r.String(), "err", err)
		}
	}
	for _, v := range in.cfg.Net.ExcludedIPs {
		if err := n.net.Addresses.RemoveVIP(v); err != nil && !quiet {
			in.log.Error("removing virtual_ipaddress_excluded failed", "address", v.Prefix, "err", err)
		}
	}
}

// updateHeld gives a MASTER the excluded addresses, routes and rules a
// reload changed: what went is removed, what came is added.
func (n *Node) updateHeld(in *instance, old hcl.InstanceNet) {
	if in.m == nil || in.m.State() != StateMaster {
		return
	}
	now := in.cfg.Net
	n.diffNet(in.log, old.ExcludedIPs, now.ExcludedIPs, old.Routes, now.Routes, old.Rules, now.Rules)
}

// reloadStatic installs the static addresses, routes and rules a reload
// changed, removing those it dropped.
func (n *Node) reloadStatic(next hcl.StaticNet) {
	old := n.cfg.Static
	n.diffNet(n.log, old.Addresses, next.Addresses, old.Routes, next.Routes, old.Rules, next.Rules)
}

// diffNet removes what is in the old lists only and adds what is in the
// new ones only; entries compare in their resolved form.
func (n *Node) diffNet(log *slog.Logger, oldAddrs, newAddrs []hcl.VIP, oldRoutes, newRoutes []hcl.Route, oldRules, newRules []hcl.Rule) {
	vipKey := func(v hcl.VIP) string { return v.Prefix.String() + " " + v.Dev + " " + v.Raw }
	routeKey := func(r hcl.Route) string { return r.String() }
	ruleKey := func(r hcl.Rule) string { return r.String() }
	for _, r := range onlyIn(oldRules, newRules, ruleKey) {
		if err := n.net.Routing.RemoveRule(r); err != nil {
			log.Error("removing rule failed", "rule", r.String(), "err", err)
		}
	}
	for _, r := range onlyIn(oldRoutes, newRoutes, routeKey) {
		if err := n.net.Routing.RemoveRoute(r); err != nil {
			log.Error("removing route failed", "route", r.String(), "err", err)
		}
	}
	for _, v := range onlyIn(oldAddrs, newAddrs, vipKey) {
		if err := n.net.Addresses.RemoveVIP(v); err != nil {
			log.Error("removing address failed", "address", v.Prefix, "err", err)
		}
	}
	for _, v := range onlyIn(newAddrs, oldAddrs, vipKey) {
		if err := n.net.Addresses.AddVIP(v); err != nil {
			log.Error("adding address failed", "address", v.Prefix, "err", err)
		}
	}
	for _, r := range onlyIn(newRoutes, oldRoutes, routeKey) {
		if err := n.net.Routing.AddRoute(r); err != nil {
			log.Error("adding route failed", "route", r.String(), "err", err)
		}
	}
	for _, r := range onlyIn(newRules, oldRules, ruleKey) {
		if err := n.net.Routing.AddRule(r); err != nil {
			log.Error("adding rule failed", "rule", r.String(), "err", err)
		}
	}
}

// onlyIn returns the entries of a whose key no entry of b has.
func onlyIn[T any](a, b []T, key func(T) string) []T {
	seen := map[string]bool{}
	for _, x := range b {
		seen[key(x)] = true
	}
	var out []T
	for _, x := range a {
		if !seen[key(x)] {
			out = append(out, x)
		}
	}
	return out
}

// netKey is what of an instance's network edge a reload cannot change in
// place: its VMAC and its advert socket's options; an instance whose
// netKey changes is stopped and started anew.
func netKey(c hcl.VRRPInstance) string {
	k := ""
	for _, m := range vmacsOf(c) {
		k += fmt.Sprintf("vmac %s %s %s %v ", m.Base, m.Name, m.MAC, m.XmitBase)
	}
	in := instance{cfg: c}
	return k + fmt.Sprintf(" %+v", in.socketOptions())
}
