package hcl

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
)

// spaced is strings.Fields(s) for an s with white space in it, else nil.
func spaced(s string) []string {
	if strings.IndexFunc(s, unicode.IsSpace) < 0 {
		return nil
	}
	return strings.Fields(s)
}

// ParseAddrPort reads "192.0.2.1:80", "[2001:db8::1]:80", keepalived's
// "192.0.2.1 80", or a bare address (port 0, for fwmark real servers).
func ParseAddrPort(s string) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	// The usual "ADDRESS:PORT" has no space to split at and, with one
	// colon, is no address: neither is tried (no error made for nothing,
	// BenchmarkLoadBigHCL's 34,000 labels).
	if f := spaced(s); len(f) == 2 {
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: %q is not an IP address", s, f[0])
		}
		p, err := parsePort(f[1])
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: %v", s, err)
		}
		return netip.AddrPortFrom(a, p), nil
	}
	if bare := strings.Trim(s, "[]"); strings.Count(bare, ":") != 1 {
		if a, err := netip.ParseAddr(bare); err == nil {
			return netip.AddrPortFrom(a, 0), nil
		}
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("%q is not ADDRESS:PORT", s)
	}
	host, port := s[:i], s[i+1:]
	if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
		return netip.AddrPort{}, fmt.Errorf("%q: unbalanced brackets", s)
	}
	bracketed := strings.HasPrefix(host, "[")
	host = strings.Trim(host, "[]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: %q is not an IP address", s, host)
	}
	if a.Is6() && !bracketed {
		return netip.AddrPort{}, fmt.Errorf("%q: write an IPv6 address with a port as [ADDRESS]:PORT", s)
	}
	if a.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%q: zoned addresses are not supported", s)
	}
	p, err := parsePort(port)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: %v", s, err)
	}
	return netip.AddrPortFrom(a, p), nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port (0-65535)", s)
	}
	return uint16(n), nil
}

// ParseServiceAddress reads a virtual_server label: "ADDR:PORT" (port
// required) or "fwmark N" / "fwmark:N".
func ParseServiceAddress(s string) (netip.AddrPort, uint32, error) {
	t := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(t, "fwmark"); ok {
		rest = strings.TrimLeft(rest, " :")
		n, err := strconv.ParseUint(rest, 10, 32)
		if err != nil || n == 0 {
			return netip.AddrPort{}, 0, fmt.Errorf("%q: fwmark must be a number from 1 to 4294967295", s)
		}
		return netip.AddrPort{}, uint32(n), nil
	}
	ap, err := ParseAddrPort(t)
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	if !strings.ContainsAny(t, ": ") || (ap.Addr().Is6() && !strings.Contains(t, "]:")) {
		return netip.AddrPort{}, 0, fmt.Errorf("%q: a virtual_server needs ADDRESS:PORT or \"fwmark N\"", s)
	}
	return ap, 0, nil
}

// ParseVIP reads one virtual_ipaddress entry in keepalived's syntax:
// "ADDR[/PLEN] [dev DEV] [label LABEL] [scope SCOPE] [brd ADDR]".
func ParseVIP(s string) (VIP, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return VIP{}, fmt.Errorf("empty virtual_ipaddress entry")
	}
	vip := VIP{Raw: s}
	var err error
	if strings.Contains(f[0], "/") {
		vip.Prefix, err = netip.ParsePrefix(f[0])
		if err != nil {
			return VIP{}, fmt.Errorf("%q: %q is not ADDRESS/PREFIXLEN", s, f[0])
		}
	} else {
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			return VIP{}, fmt.Errorf("%q: %q is not an IP address", s, f[0])
		}
		vip.Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	if vip.Prefix.Addr().Zone() != "" {
		return VIP{}, fmt.Errorf("%q: zoned addresses are not supported", s)
	}
	for i := 1; i < len(f); i += 2 {
		if i+1 >= len(f) {
			return VIP{}, fmt.Errorf("%q: %q needs a value", s, f[i])
		}
		key, val := f[i], f[i+1]
		switch key {
		case "dev":
			vip.Dev = val
		case "label":
			vip.Label = val
		case "scope":
			switch val {
			case "global", "site", "link", "host", "nowhere":
			default:
				if _, err := strconv.ParseUint(val, 10, 8); err != nil {
					return VIP{}, fmt.Errorf("%q: unknown scope %q", s, val)
				}
			}
			vip.Scope = val
		case "brd", "broadcast":
			vip.Broadcast, err = netip.ParseAddr(val)
			if err != nil {
				return VIP{}, fmt.Errorf("%q: brd %q is not an IP address", s, val)
			}
		default:
			return VIP{}, fmt.Errorf("%q: unknown option %q (lvsd accepts dev, label, scope, brd)", s, key)
		}
	}
	return vip, nil
}

// parseNetmask reads persistence_granularity as a dotted netmask
// ("255.255.255.0", keepalived's form) or a prefix length ("24").
func parseNetmask(s string, ipv6 bool) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		limit := 32
		if ipv6 {
			limit = 128
		}
		if n < 1 || n > limit {
			return 0, fmt.Errorf("%q: prefix length must be 1-%d", s, limit)
		}
		return n, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return 0, fmt.Errorf("%q is neither a netmask nor a prefix length", s)
	}
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&(1<<31) != 0 {
		ones++
		v <<= 1
	}
	if v != 0 || ones == 0 {
		return 0, fmt.Errorf("%q is not a contiguous netmask", s)
	}
	return ones, nil
}

// ParseStatusRange reads an HTTP status code or range: "200", "200-299".
func ParseStatusRange(s string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	l, err1 := strconv.Atoi(lo)
	h := l
	var err2 error
	if isRange {
		h, err2 = strconv.Atoi(hi)
	}
	if err1 != nil || err2 != nil || l < 100 || h > 599 || l > h {
		return StatusRange{}, fmt.Errorf("%q is not an HTTP status code or range (100-599, e.g. \"200-299\")", s)
	}
	return StatusRange{Low: l, High: h}, nil
}
