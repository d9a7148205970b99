package hcl

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Routes and routing rules in keepalived's syntax (virtual_routes,
// virtual_rules, static_routes, static_rules; keepalived.conf(5)): the
// parsers both readers share, so that an HCL string and a keepalived.conf
// line mean the same.

// Route types (ip-route(8)'s TYPE): a unicast route, or a route that
// answers with a drop (blackhole), host unreachable or administratively
// prohibited, or one that ends the lookup in this table (throw).
const (
	RouteUnicast     = "unicast"
	RouteBlackhole   = "blackhole"
	RouteUnreachable = "unreachable"
	RouteProhibit    = "prohibit"
	RouteThrow       = "throw"
)

// RouteProtoKeepalived is the routing protocol number lvsd gives its
// routes and rules unless one is written: 18, "keepalived" in iproute2's
// rt_protos, the number keepalived 2.x uses, so that a director moved from
// keepalived to lvsd owns the same routes.
const RouteProtoKeepalived = 18

// Route is one entry of virtual_routes or static_routes:
// "[TYPE] [src ADDR] [to] PREFIX [via ADDR [or ADDR]] [dev DEV] [scope S]
// [table T] [metric N] [protocol P] [onlink]".
type Route struct {
	Type string       // RouteUnicast (default), RouteBlackhole, RouteUnreachable, RouteProhibit or RouteThrow
	Dst  netip.Prefix // destination ("default": 0.0.0.0/0 or ::/0)
	Src  netip.Addr   // preferred source; invalid when unset
	// Via is the gateway; more than one ("via A or B", keepalived's
	// deprecated form) makes a multipath route of equal weight.
	Via      []netip.Addr
	Dev      string
	Scope    string // "", "global", "site", "link", "host", "nowhere" or a number
	Table    int    // 0: main (254)
	Metric   int    // metric, priority or preference; 0 when unset
	Protocol int    // rtnetlink protocol; RouteProtoKeepalived when unset
	OnLink   bool
	Raw      string // as written
	Pos      Pos
}

// IPv6 tells the route's address family.
func (r Route) IPv6() bool { return r.Dst.Addr().Is6() }

// Rule is one entry of virtual_rules or static_rules:
// "[from PREFIX|all] [to PREFIX|all] [fwmark N[/M]] [iif DEV] [oif DEV]
// [priority N] table T | blackhole | unreachable | prohibit".
type Rule struct {
	From, To netip.Prefix // invalid: all
	FWMark   uint32
	FWMask   uint32 // 0: the whole mark
	IIF, OIF string
	// Priority is the rule's preference; keepalived numbers rules written
	// without one from 16384 down, and so does lvsd (validation).
	Priority    int
	PrioritySet bool
	Table       int    // the table looked up (Action "")
	Action      string // "" (lookup Table), RouteBlackhole, RouteUnreachable or RouteProhibit
	Protocol    int    // rtnetlink protocol; RouteProtoKeepalived when unset
	IPv6Family  bool   // from the addresses (inet6 keyword too)
	Raw         string // as written, with " priority N" when it was numbered
	Pos         Pos
}

// ParsedNote is something a route or rule parser noticed that keepalived
// reports and runs past (a deprecated keyword); the reader says it.
type ParsedNote string

// routeTable reads a table: a number or main, local, default.
func routeTable(s string) (int, error) {
	switch s {
	case "main":
		return 254, nil
	case "local":
		return 255, nil
	case "default":
		return 253, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("table %q: want a number (1-4294967295), main, local or default", s)
	}
	return int(n), nil
}

// routeProtocol reads a protocol: a number or one of iproute2's names.
func routeProtocol(s string) (int, error) {
	names := map[string]int{"redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8, "ra": 9, "mrt": 10,
		"zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18, "babel": 42,
		"bgp": 186, "isis": 187, "ospf": 188, "rip": 189, "eigrp": 192}
	if n, ok := names[s]; ok {
		return n, nil
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("protocol %q: want a number (0-255) or a name of iproute2's rt_protos", s)
	}
	return int(n), nil
}

// routePrefix reads an address or prefix; "default" (and "all" for
// rules) with the family of six.
func routePrefix(s string) (netip.Prefix, error) {
	if s == "default" {
		return netip.MustParsePrefix("0.0.0.0/0"), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Addr().Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an address or ADDRESS/PREFIXLEN", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or ADDRESS/PREFIXLEN", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func validScope(s string) bool {
	switch s {
	case "global", "universe", "site", "link", "host", "nowhere":
		return true
	}
	_, err := strconv.ParseUint(s, 10, 8)
	return err == nil
}

// ParseRoute reads one route in keepalived's syntax. The notes are what
// keepalived warns about and runs past ("gw" and "or" are deprecated); an
// error is an entry keepalived skips, or an option lvsd does not
// implement (nexthop, tos, mtu and the other metrics).
func ParseRoute(s string) (Route, []ParsedNote, error) {
	f := strings.Fields(s)
	r := Route{Type: RouteUnicast, Raw: s, Protocol: RouteProtoKeepalived}
	var notes []ParsedNote
	if len(f) == 0 {
		return r, nil, fmt.Errorf("empty route")
	}
	switch f[0] {
	case RouteUnicast, RouteBlackhole, RouteUnreachable, RouteProhibit, RouteThrow:
		r.Type = f[0]
		f = f[1:]
	}
	value := func(i int) (string, error) {
		if i+1 >= len(f) {
			return "", fmt.Errorf("%q: %s needs a value", s, f[i])
		}
		return f[i+1], nil
	}
	for i := 0; i < len(f); i++ {
		key := f[i]
		switch key {
		case "no_track":
			continue
		case "onlink":
			r.OnLink = true
			continue
		}
		val, err := value(i)
		switch key {
		case "src", "to", "via", "gw", "or", "dev", "oif", "scope", "table", "metric", "priority", "preference",
			"protocol", "proto", "track_group":
			if err != nil {
				return r, notes, err
			}
			i++
		default:
			// The destination, written bare.
			if r.Dst.IsValid() {
				return r, notes, fmt.Errorf("%q: unknown or unsupported route option %q (lvsd implements src, to, via, or, dev, scope, table, metric, protocol, onlink and blackhole/unreachable/prohibit/throw)", s, key)
			}
			p, err := routePrefix(key)
			if err != nil {
				return r, notes, fmt.Errorf("%q: %v", s, err)
			}
			r.Dst = p
			continue
		}
		switch key {
		case "src":
			a, err := netip.ParseAddr(val)
			if err != nil || a.Zone() != "" {
				return r, notes, fmt.Errorf("%q: src %q is not an IP address", s, val)
			}
			r.Src = a
		case "to":
			p, err := routePrefix(val)
			if err != nil {
				return r, notes, fmt.Errorf("%q: %v", s, err)
			}
			r.Dst = p
		case "via", "gw", "or":
			if key == "gw" {
				notes = append(notes, `"gw" for routes is deprecated. Please use "via"`)
			}
			if key == "or" {
				notes = append(notes, `"or" for routes is deprecated. Please use "nexthop"`)
				if len(r.Via) == 0 {
					return r, notes, fmt.Errorf("%q: or without via", s)
				}
			}
			a, err := netip.ParseAddr(val)
			if err != nil || a.Zone() != "" {
				return r, notes, fmt.Errorf("%q: %s %q is not an IP address", s, key, val)
			}
			r.Via = append(r.Via, a)
		case "dev", "oif":
			r.Dev = val
		case "scope":
			if !validScope(val) {
				return r, notes, fmt.Errorf("%q: unknown scope %q", s, val)
			}
			r.Scope = val
		case "table":
			if r.Table, err = routeTable(val); err != nil {
				return r, notes, fmt.Errorf("%q: %v", s, err)
			}
		case "metric", "priority", "preference":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return r, notes, fmt.Errorf("%q: %s %q is not a number", s, key, val)
			}
			r.Metric = int(n)
		case "protocol", "proto":
			if r.Protocol, err = routeProtocol(val); err != nil {
				return r, notes, fmt.Errorf("%q: %v", s, err)
			}
		case "track_group":
			// keepalived's track groups; lvsd's routes follow their
			// instance only.
		}
	}
	if !r.Dst.IsValid() {
		return r, notes, fmt.Errorf("%q: no destination", s)
	}
	if r.Dst.Addr().String() == "0.0.0.0" && r.Dst.Bits() == 0 && len(r.Via) > 0 && r.Via[0].Is6() {
		r.Dst = netip.MustParsePrefix("::/0") // "default via IPv6"
	}
	for _, a := range append([]netip.Addr{r.Src}, r.Via...) {
		if a.IsValid() && a.Is6() != r.IPv6() {
			return r, notes, fmt.Errorf("%q: %s is not of the destination's address family", s, a)
		}
	}
	if r.Type != RouteUnicast && (len(r.Via) > 0 || r.Dev != "") {
		return r, notes, fmt.Errorf("%q: a %s route takes no via or dev", s, r.Type)
	}
	return r, notes, nil
}

// ParseRule reads one routing rule in keepalived's syntax. An error is
// an entry keepalived skips, or an option lvsd does not implement (tos,
// goto, realms, uidrange, sport/dport, ip_proto, l3mdev).
func ParseRule(s string) (Rule, error) {
	f := strings.Fields(s)
	r := Rule{Raw: s, Protocol: RouteProtoKeepalived}
	if len(f) == 0 {
		return r, fmt.Errorf("empty rule")
	}
	family := func(p netip.Prefix) error {
		if (r.From.IsValid() && r.From.Addr().Is6() != p.Addr().Is6()) || (r.To.IsValid() && r.To.Addr().Is6() != p.Addr().Is6()) {
			return fmt.Errorf("%q: from and to of different address families", s)
		}
		r.IPv6Family = p.Addr().Is6()
		return nil
	}
	tableSet := false
	for i := 0; i < len(f); i++ {
		key := f[i]
		switch key {
		case "no_track", "inet":
			continue
		case "inet6":
			r.IPv6Family = true
			continue
		case RouteBlackhole, RouteUnreachable, RouteProhibit:
			r.Action = key
			continue
		}
		if i+1 >= len(f) {
			return r, fmt.Errorf("%q: %s needs a value", s, key)
		}
		val := f[i+1]
		i++
		switch key {
		case "from", "to":
			if val == "all" {
				continue
			}
			p, err := routePrefix(val)
			if err != nil {
				return r, fmt.Errorf("%q: invalid rule %s address %s", s, key, val)
			}
			if err := family(p); err != nil {
				return r, err
			}
			if key == "from" {
				r.From = p
			} else {
				r.To = p
			}
		case "table", "lookup":
			t, err := routeTable(val)
			if err != nil {
				return r, fmt.Errorf("%q: %v", s, err)
			}
			r.Table, tableSet = t, true
		case "preference", "prio", "priority", "pref", "order":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return r, fmt.Errorf("%q: %s %q is not a number", s, key, val)
			}
			r.Priority, r.PrioritySet = int(n), true
		case "fwmark":
			m, mask, hasMask := strings.Cut(val, "/")
			n, err := strconv.ParseUint(m, 0, 32)
			if err != nil {
				return r, fmt.Errorf("%q: fwmark %q is not a number", s, val)
			}
			r.FWMark = uint32(n)
			if hasMask {
				k, err := strconv.ParseUint(mask, 0, 32)
				if err != nil {
					return r, fmt.Errorf("%q: fwmark mask %q is not a number", s, mask)
				}
				r.FWMask = uint32(k)
			}
		case "iif", "dev":
			r.IIF = val
		case "oif":
			r.OIF = val
		case "protocol", "proto":
			p, err := routeProtocol(val)
			if err != nil {
				return r, fmt.Errorf("%q: %v", s, err)
			}
			r.Protocol = p
		case "track_group":
		default:
			return r, fmt.Errorf("%q: unknown or unsupported rule option %q (lvsd implements from, to, fwmark, iif, oif, priority, table, protocol and blackhole/unreachable/prohibit)", s, key)
		}
	}
	if !tableSet && r.Action == "" {
		return r, fmt.Errorf("%q: a rule needs table T (or blackhole, unreachable, prohibit)", s)
	}
	if tableSet && r.Action != "" {
		return r, fmt.Errorf("%q: a %s rule takes no table", s, r.Action)
	}
	return r, nil
}

// String writes the route as resolved (the device it took from its
// instance included), in the syntax ParseRoute reads.
func (r Route) String() string {
	var f []string
	if r.Type != RouteUnicast {
		f = append(f, r.Type)
	}
	if r.Src.IsValid() {
		f = append(f, "src", r.Src.String())
	}
	f = append(f, r.Dst.String())
	for i, v := range r.Via {
		if i == 0 {
			f = append(f, "via", v.String())
		} else {
			f = append(f, "or", v.String())
		}
	}
	if r.Dev != "" {
		f = append(f, "dev", r.Dev)
	}
	if r.Scope != "" {
		f = append(f, "scope", r.Scope)
	}
	if r.Table != 0 {
		f = append(f, "table", strconv.Itoa(r.Table))
	}
	if r.Metric != 0 {
		f = append(f, "metric", strconv.Itoa(r.Metric))
	}
	if r.Protocol != RouteProtoKeepalived {
		f = append(f, "protocol", strconv.Itoa(r.Protocol))
	}
	if r.OnLink {
		f = append(f, "onlink")
	}
	return strings.Join(f, " ")
}

// String writes the rule as resolved (its priority numbered), in the
// syntax ParseRule reads.
func (r Rule) String() string {
	var f []string
	if r.IPv6Family && !r.From.IsValid() && !r.To.IsValid() {
		f = append(f, "inet6")
	}
	if r.From.IsValid() {
		f = append(f, "from", r.From.String())
	}
	if r.To.IsValid() {
		f = append(f, "to", r.To.String())
	}
	if r.FWMark != 0 || r.FWMask != 0 {
		m := strconv.FormatUint(uint64(r.FWMark), 10)
		if r.FWMask != 0 {
			m += "/0x" + strconv.FormatUint(uint64(r.FWMask), 16)
		}
		f = append(f, "fwmark", m)
	}
	if r.IIF != "" {
		f = append(f, "iif", r.IIF)
	}
	if r.OIF != "" {
		f = append(f, "oif", r.OIF)
	}
	if r.PrioritySet {
		f = append(f, "priority", strconv.Itoa(r.Priority))
	}
	if r.Protocol != RouteProtoKeepalived {
		f = append(f, "protocol", strconv.Itoa(r.Protocol))
	}
	if r.Action != "" {
		f = append(f, r.Action)
	} else {
		f = append(f, "table", strconv.Itoa(r.Table))
	}
	return strings.Join(f, " ")
}
