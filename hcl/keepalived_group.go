package hcl

import (
	"fmt"
	"slices"
)

// This file reads keepalived's virtual_server_group blocks and the
// `virtual_server group NAME` that uses one (check_parser.c, check_data.c
// of keepalived 2.2.7): one IPVS service per member, all with the virtual
// server's settings and real servers.

// groups reads every virtual_server_group of the file before the virtual
// servers, so that a group may be defined after its use, as keepalived
// allows.
func (r *kaReader) groups(nodes []*kaNode) {
	for _, n := range nodes {
		if n.name != "virtual_server_group" {
			continue
		}
		name, ok := r.name(n)
		if !ok {
			continue
		}
		g := VirtualServerGroup{Name: name, Pos: n.pos}
		if i := r.groupIndex(name); i >= 0 {
			// keepalived keeps both and uses the first.
			r.warnf(n.pos, fmt.Sprintf("virtual_server_group %s already defined - ignoring", name), "defined at %s", r.cfg.VirtualServerGroups[i].Pos)
			continue
		}
		for _, e := range n.block {
			if e.hasBlock {
				r.errf(e.pos, "invalid virtual_server_group entry", "%s opens a block", e.name)
				continue
			}
			members, err := ParseGroupEntry(e.line())
			if err != nil {
				r.warnf(e.pos, fmt.Sprintf("Invalid virtual server group IP address %s - skipping", e.line()), "%v; as keepalived does", err)
				continue
			}
			for i := range members {
				members[i].Pos = e.pos
			}
			g.Entries = append(g.Entries, e.line())
			g.Members = append(g.Members, members...)
		}
		r.cfg.VirtualServerGroups = append(r.cfg.VirtualServerGroups, g)
	}
}

func (r *kaReader) groupIndex(name string) int {
	for i, g := range r.cfg.VirtualServerGroups {
		if g.Name == name {
			return i
		}
	}
	return -1
}

// groupServer reads `virtual_server group NAME { … }` (k holds its
// defaults) and adds one virtual server per member: the body is read
// once, then each member gets keepalived's defaults and corrections for
// its own address or mark (vsComplete). A member reports only what no
// member before it reported at the same place, and only the first keeps
// the quorum and notify scripts (VirtualServer.Group).
func (r *kaReader) groupServer(n *kaNode, k *kaVS, args []string) {
	if len(args) != 2 {
		r.errf(n.pos, "invalid virtual_server group", "want virtual_server group NAME")
		return
	}
	i := r.groupIndex(args[1])
	if i < 0 {
		r.errf(n.pos, fmt.Sprintf("virtual_server_group %s not found", args[1]), "virtual_server group %s names no virtual_server_group", args[1])
		return
	}
	g := r.cfg.VirtualServerGroups[i]
	vs := &k.vs
	vs.Group, vs.Name = g.Name, "group "+g.Name
	if len(g.Members) > 0 {
		first := g.Members[0]
		vs.FWMark = first.FWMark
		vs.IPv6 = first.Addr.IsValid() && first.Addr.Addr().Is6() || first.Family == "inet6"
	}
	for _, c := range n.block {
		r.vsKeyword(k, c)
	}
	if len(g.Members) == 0 {
		r.warnf(n.pos, fmt.Sprintf("virtual server group %s has no members - ignoring", g.Name), "as keepalived does")
		return
	}
	diags := r.diags
	defer func() { r.diags = diags }()
	for i, m := range g.Members {
		mk := cloneKaVS(k)
		mvs := &mk.vs
		mvs.Name, mvs.Addr, mvs.FWMark = m.Name(), m.Addr, m.FWMark
		if m.FWMark == 0 {
			mvs.IPv6 = m.Addr.Addr().Is6()
		} else {
			// The group's protocol is its address members'; keepalived
			// does not warn that a fwmark member ignores it.
			mk.protocolSet = false
			if m.Family != "" && mk.family == "" {
				mk.family = m.Family
			}
		}
		if i > 0 {
			r.diags = &Diagnostics{}
		}
		complete := r.vsComplete(mk)
		if i > 0 {
			// A finding at a place no member reported yet is news (a
			// fwmark member's real server ports); the rest repeats.
			for _, d := range *r.diags {
				if !slices.ContainsFunc(*diags, func(o Diagnostic) bool { return o.Pos == d.Pos }) {
					*diags = append(*diags, d)
				}
			}
		}
		if !complete {
			continue
		}
		if i > 0 {
			mvs.QuorumUp, mvs.QuorumDown = "", ""
			for j := range mvs.RealServers {
				mvs.RealServers[j].NotifyUp, mvs.RealServers[j].NotifyDown = "", ""
				// Every member's checkers came from the block's one
				// kaCheck: resolveChecker gave each its own kind
				// settings; the first member keeps the block's
				// Positions, the others get their own.
				cs := mvs.RealServers[j].Checkers
				for k := range cs {
					cs[k].Positions = cs[k].Positions.Clone()
				}
			}
		}
		r.cfg.VirtualServers = append(r.cfg.VirtualServers, *mvs)
	}
}

// cloneKaVS copies what vsComplete changes, so that each member completes
// its own copy.
func cloneKaVS(k *kaVS) *kaVS {
	c := *k
	c.vs.Positions = k.vs.Positions.Clone()
	if k.vs.SorryServer != nil {
		ss := *k.vs.SorryServer
		c.vs.SorryServer = &ss
	}
	c.vs.SchedulerFlags = append([]string(nil), k.vs.SchedulerFlags...)
	c.rss = make([]*kaRS, len(k.rss))
	for i, rs := range k.rss {
		cp := *rs
		cp.rs.Positions = rs.rs.Positions.Clone()
		c.rss[i] = &cp
	}
	return &c
}
