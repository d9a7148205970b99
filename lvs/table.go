package lvs

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Forward is a destination's forwarding method, with the values of
// IP_VS_CONN_F_* in linux/ip_vs.h.
type Forward uint32

// Forwarding methods.
const (
	ForwardMasq   Forward = 0 // NAT (ipvsadm -m, keepalived lb_kind NAT)
	ForwardLocal  Forward = 1 // local node: the kernel's own choice for a local address
	ForwardTunnel Forward = 2 // IP-in-IP (ipvsadm -i, lb_kind TUN)
	ForwardRoute  Forward = 3 // direct routing (ipvsadm -g, lb_kind DR)
)

func (f Forward) String() string {
	switch f {
	case ForwardMasq:
		return "masq"
	case ForwardLocal:
		return "local"
	case ForwardTunnel:
		return "tunnel"
	case ForwardRoute:
		return "route"
	}
	return fmt.Sprintf("forward(%d)", uint32(f))
}

// ServiceFlags are the IP_VS_SVC_F_* flags of a virtual service.
type ServiceFlags uint32

// Service flags (linux/ip_vs.h).
const (
	FlagPersistent ServiceFlags = 0x0001
	// flagHashed is set by the kernel on every service it holds; it is
	// never compared nor written.
	flagHashed    ServiceFlags = 0x0002
	FlagOnePacket ServiceFlags = 0x0004
	FlagSched1    ServiceFlags = 0x0008 // sh-fallback, mh-fallback
	FlagSched2    ServiceFlags = 0x0010 // sh-port, mh-port
	FlagSched3    ServiceFlags = 0x0020
)

// userFlags are the flags lvsd sets and compares.
const userFlags = FlagPersistent | FlagOnePacket | FlagSched1 | FlagSched2 | FlagSched3

func (f ServiceFlags) String() string {
	var parts []string
	for _, n := range []struct {
		f    ServiceFlags
		name string
	}{
		{FlagPersistent, "persistent"},
		{FlagOnePacket, "ops"},
		{FlagSched1, "flag-1"},
		{FlagSched2, "flag-2"},
		{FlagSched3, "flag-3"},
	} {
		if f&n.f != 0 {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// Stats are the kernel's counters of a service or destination.
type Stats struct {
	Conns      uint64
	PacketsIn  uint64
	PacketsOut uint64
	BytesIn    uint64
	BytesOut   uint64
}

// Service is one IPVS virtual service: either an address service
// (Protocol + Addr) or a firewall-mark service (FWMark + IPv6).
type Service struct {
	Protocol  string         // "TCP", "UDP", "SCTP"; empty for fwmark services
	Addr      netip.AddrPort // invalid for fwmark services
	FWMark    uint32         // 0 for address services
	IPv6      bool           // address family of a fwmark service (follows Addr otherwise)
	Scheduler string         // "wlc", "rr", …
	Flags     ServiceFlags   // FlagPersistent, FlagOnePacket, FlagSched*
	Timeout   uint32         // persistence timeout in seconds
	Netmask   int            // persistence granularity as a prefix length
	PEName    string         // persistence engine ("sip"), "" for none (tunnel.go)
	// Destinations are the real servers, sorted by address.
	Destinations []Destination
	Stats        Stats // read from the kernel; never compared
}

// Key identifies the service the way the kernel does and the way
// hcl.VirtualServer.Key spells it: "TCP:192.0.2.1:80", "FWM:1:inet".
func (s *Service) Key() string {
	b := make([]byte, 0, 64)
	if s.FWMark != 0 {
		b = append(b, "FWM:"...)
		b = strconv.AppendUint(b, uint64(s.FWMark), 10)
		if s.IPv6 {
			return string(append(b, ":inet6"...))
		}
		return string(append(b, ":inet"...))
	}
	b = append(b, s.Protocol...)
	b = append(b, ':')
	return string(s.Addr.AppendTo(b))
}

// serviceID is Key as a comparable value, for maps.
type serviceID struct {
	protocol string
	addr     netip.AddrPort
	fwmark   uint32
	ipv6     bool
}

func (s *Service) id() serviceID {
	if s.FWMark != 0 {
		return serviceID{fwmark: s.FWMark, ipv6: s.IPv6}
	}
	return serviceID{protocol: s.Protocol, addr: s.Addr}
}

// isIPv6 reports the service's address family.
func (s *Service) isIPv6() bool {
	if s.FWMark != 0 {
		return s.IPv6
	}
	return s.Addr.Addr().Is6() && !s.Addr.Addr().Is4In6()
}

// label is how `lvsd plan` names the service: "TCP 192.0.2.1:80",
// "FWM 1", "FWM 1 IPv6".
func (s *Service) label() string {
	if s.FWMark != 0 {
		if s.IPv6 {
			return fmt.Sprintf("FWM %d IPv6", s.FWMark)
		}
		return fmt.Sprintf("FWM %d", s.FWMark)
	}
	return s.Protocol + " " + s.Addr.String()
}

// settingsEqual compares what an edit can change.
func (s *Service) settingsEqual(o *Service) bool {
	return s.Scheduler == o.Scheduler &&
		s.Flags&userFlags == o.Flags&userFlags &&
		s.Timeout == o.Timeout &&
		s.Netmask == o.Netmask &&
		s.PEName == o.PEName
}

// withoutDestinations returns a copy of s carrying only the service itself.
func (s Service) withoutDestinations() Service {
	s.Destinations = nil
	return s
}

// Destination is one real server of a virtual service.
type Destination struct {
	Addr           netip.AddrPort
	Forward        Forward
	Weight         int
	UpperThreshold uint32 // 0 = none
	LowerThreshold uint32 // 0 = none
	Tunnel         Tunnel // encapsulation of a tunnel destination (tunnel.go)
	// Read from the kernel; never compared.
	ActiveConns   uint32
	InactiveConns uint32
	Stats         Stats
	// Position is the destination's place in the kernel's list of the
	// service's destinations (dump order, 0 first), which the mh, sh and
	// dh schedulers build their tables from (diff.go, orderDependent); 0
	// for every destination of a table not read from the kernel.
	Position int
}

// settingsEqual compares what an edit can change. The kernel rewrites the
// method of a destination whose address is local to "local node"; that is
// taken as equal to whatever was asked, or lvsd would edit it forever.
func (d *Destination) settingsEqual(o *Destination) bool {
	fwdEqual := d.Forward == o.Forward || d.Forward == ForwardLocal || o.Forward == ForwardLocal
	return fwdEqual &&
		d.Weight == o.Weight &&
		d.UpperThreshold == o.UpperThreshold &&
		d.LowerThreshold == o.LowerThreshold &&
		d.Tunnel == o.Tunnel
}

// Table is a whole IPVS table: services sorted by Key, destinations by
// address.
type Table []Service

// Sort puts t and every service's destinations in canonical order.
func (t Table) Sort() {
	keys := make([]string, len(t))
	sorted := true
	for i := range t {
		keys[i] = t[i].Key()
		sorted = sorted && (i == 0 || keys[i-1] <= keys[i])
		sortDestinations(t[i].Destinations)
	}
	if sorted {
		return
	}
	idx := make([]int, len(t))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	out := make(Table, len(t))
	for i, j := range idx {
		out[i] = t[j]
	}
	copy(t, out)
}

func compareDestinations(a, b Destination) int { return a.Addr.Compare(b.Addr) }

func sortDestinations(ds []Destination) {
	if !slices.IsSortedFunc(ds, compareDestinations) {
		slices.SortFunc(ds, compareDestinations)
	}
}

// Find returns the service with the given key, or nil.
func (t Table) Find(key string) *Service {
	for i := range t {
		if t[i].Key() == key {
			return &t[i]
		}
	}
	return nil
}

// Objects counts services plus destinations.
func (t Table) Objects() int {
	n := len(t)
	for _, s := range t {
		n += len(s.Destinations)
	}
	return n
}

// Clone returns a deep copy of t.
func (t Table) Clone() Table {
	out := make(Table, len(t))
	for i, s := range t {
		out[i] = s
		out[i].Destinations = slices.Clone(s.Destinations)
	}
	return out
}

// protocolNumber maps a protocol name to its IP protocol number.
func protocolNumber(p string) uint16 {
	switch p {
	case "TCP":
		return 6
	case "UDP":
		return 17
	case "SCTP":
		return 132
	}
	// protocolName's spelling of the others, as a table read gives them.
	if n, err := strconv.ParseUint(strings.TrimPrefix(p, "proto-"), 10, 8); err == nil && strings.HasPrefix(p, "proto-") {
		return uint16(n)
	}
	return 0
}

// protocolName maps an IP protocol number to its name.
func protocolName(n uint16) string {
	switch n {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 132:
		return "SCTP"
	}
	return fmt.Sprintf("proto-%d", n)
}
