package hcl

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// maxGroupRange bounds the addresses one virtual_server_group entry may
// stand for (a /16: 65536 services is more than any director runs).
const maxGroupRange = 1 << 16

// ParseGroupEntry reads one entry of a virtual_server_group
// (keepalived.conf(5)): "fwmark N [inet|inet6]", or an address or range
// with an optional port, "ADDR [PORT]", "ADDR:PORT", "[V6ADDR]:PORT",
// where a range is A.B.C.D-E (the last octet runs to E; IPv6: the last
// 16-bit group, in hex), A-B (two whole addresses) or ADDR/LEN (every
// address of the prefix). It returns one member per address.
func ParseGroupEntry(s string) ([]GroupMember, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return nil, fmt.Errorf("empty entry")
	}
	if f[0] == "fwmark" {
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("%q: want fwmark N [inet|inet6]", s)
		}
		mark, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil || mark == 0 {
			return nil, fmt.Errorf("%q: fwmark must be 1-4294967295", s)
		}
		m := GroupMember{FWMark: uint32(mark)}
		if len(f) == 3 {
			if f[2] != "inet" && f[2] != "inet6" {
				return nil, fmt.Errorf("%q: family %q: want inet or inet6", s, f[2])
			}
			m.Family = f[2]
		}
		return []GroupMember{m}, nil
	}
	if len(f) > 2 {
		return nil, fmt.Errorf("%q: want ADDR [PORT] or fwmark N", s)
	}
	text, port := f[0], uint16(0)
	if len(f) == 2 {
		p, err := strconv.ParseUint(f[1], 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q: port %q is not 0-65535", s, f[1])
		}
		port = uint16(p)
	} else if ap, err := netip.ParseAddrPort(text); err == nil {
		return []GroupMember{{Addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}}, nil
	}
	first, last, err := parseAddrRange(text)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	var out []GroupMember
	for a := first; ; a = a.Next() {
		if len(out) == maxGroupRange {
			return nil, fmt.Errorf("%q holds more than %d addresses", s, maxGroupRange)
		}
		out = append(out, GroupMember{Addr: netip.AddrPortFrom(a, port)})
		if a == last {
			break
		}
	}
	return out, nil
}

// parseAddrRange reads ADDR, ADDR-END, ADDR-ADDR or ADDR/LEN.
func parseAddrRange(s string) (first, last netip.Addr, err error) {
	if p, perr := netip.ParsePrefix(s); perr == nil {
		p = p.Masked()
		first = p.Addr()
		bits := first.BitLen() - p.Bits()
		if bits > 16 {
			return first, first, fmt.Errorf("a /%d holds more than %d addresses", p.Bits(), maxGroupRange)
		}
		last = first
		for range (1 << bits) - 1 {
			last = last.Next()
		}
		return first, last, nil
	}
	from, to, isRange := strings.Cut(s, "-")
	first, err = netip.ParseAddr(from)
	if err != nil {
		return first, first, fmt.Errorf("%q is not an IP address", from)
	}
	if first.Zone() != "" {
		return first, first, fmt.Errorf("%q: a service address has no zone", from)
	}
	first = first.Unmap()
	if !isRange {
		return first, first, nil
	}
	if a, err := netip.ParseAddr(to); err == nil {
		last = a.Unmap()
	} else {
		// The end replaces the last octet (decimal) or, in IPv6, the last
		// 16-bit group (hex).
		b := first.AsSlice()
		if first.Is4() {
			v, err := strconv.ParseUint(to, 10, 8)
			if err != nil {
				return first, first, fmt.Errorf("range end %q is not an octet (0-255)", to)
			}
			b[3] = byte(v)
		} else {
			v, err := strconv.ParseUint(to, 16, 16)
			if err != nil {
				return first, first, fmt.Errorf("range end %q is not a 16-bit group in hex", to)
			}
			b[14], b[15] = byte(v>>8), byte(v)
		}
		last, _ = netip.AddrFromSlice(b)
	}
	if last.Is4() != first.Is4() || last.Less(first) {
		return first, first, fmt.Errorf("range %s-%s ends before it starts", first, last)
	}
	n := 1
	for a := first; a != last; a = a.Next() {
		if n++; n > maxGroupRange {
			return first, first, fmt.Errorf("range holds more than %d addresses", maxGroupRange)
		}
	}
	return first, last, nil
}

// groupMemberService makes a member's virtual service from its group's
// virtual server: the member's address or mark, its address family, and
// for every member but the first no quorum or notify scripts (they run
// once per group; see VirtualServer.Group).
func groupMemberService(vs VirtualServer, group string, m GroupMember, first bool) VirtualServer {
	vs.Group = group
	vs.Name = m.Name()
	vs.Addr, vs.FWMark = m.Addr, m.FWMark
	if m.FWMark == 0 {
		vs.IPv6 = m.Addr.Addr().Is6()
	} else if m.Family != "" {
		vs.IPv6 = m.Family == "inet6"
	} else if set := vs.Positions.Has("ip_family"); !set {
		// A fwmark service's family is its real servers' (as a
		// virtual_server "fwmark N" without ip_family).
		vs.IPv6 = len(vs.RealServers) > 0 && vs.RealServers[0].Addr.Addr().Is6()
	}
	vs.SchedulerFlags = slices.Clone(vs.SchedulerFlags)
	vs.RealServers = append([]RealServer(nil), vs.RealServers...)
	if vs.SorryServer != nil {
		ss := *vs.SorryServer
		vs.SorryServer = &ss
	}
	if !first {
		vs.QuorumUp, vs.QuorumDown = "", ""
		for i := range vs.RealServers {
			vs.RealServers[i].NotifyUp, vs.RealServers[i].NotifyDown = "", ""
		}
	}
	for i := range vs.RealServers {
		vs.RealServers[i].Checkers = cloneCheckers(vs.RealServers[i].Checkers)
	}
	return vs
}

// cloneCheckers copies a group's checkers for one of its members, down to
// every slice a checker holds (its kind's settings, its URLs and theirs,
// the UDP payloads, the positions): validation completes each member's
// checkers in place (a url's default status codes and virtualhost, the
// SSL block's files, a FILE_CHECK's file), and it validates runs of
// virtual servers on several goroutines, so no two members may share a
// part it writes.
func cloneCheckers(cs []Checker) []Checker {
	if cs == nil {
		return nil
	}
	out := make([]Checker, len(cs))
	for i, c := range cs {
		c.OwnSettings()
		c.Positions = c.Positions.Clone()
		out[i] = c
	}
	return out
}

// expandGroups returns cfg's virtual servers with each group's expanded
// into its members (groupMemberService); a group that is not defined is
// reported where the virtual server names it.
func expandGroups(cfg *Config, diags *Diagnostics) []VirtualServer {
	groups := map[string]*VirtualServerGroup{}
	for i := range cfg.VirtualServerGroups {
		groups[cfg.VirtualServerGroups[i].Name] = &cfg.VirtualServerGroups[i]
	}
	var out []VirtualServer
	for _, vs := range cfg.VirtualServers {
		if vs.Group == "" {
			out = append(out, vs)
			continue
		}
		g := groups[vs.Group]
		if g == nil {
			names := map[string]bool{}
			for n := range groups {
				names[n] = true
			}
			diags.errorf(vs.Pos, "unknown virtual_server_group", "virtual_server %q: no virtual_server_group %q is defined.%s", vs.Name, vs.Group, suggest(vs.Group, keys(names)))
			continue
		}
		for i, m := range g.Members {
			mvs := groupMemberService(vs, g.Name, m, i == 0)
			if mvs.PersistenceGranularity == 0 {
				mvs.PersistenceGranularity = defaultGranularity(mvs.IPv6)
			}
			out = append(out, mvs)
		}
	}
	return out
}
