package lvs

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
)

// /proc/net/ip_vs is the kernel's text view of a namespace's table
// (ip_vs_ctl.c, ip_vs_info_seq_show, as in Linux 6.1):
//
//	IP Virtual Server version 1.2.1 (size=4096)
//	Prot LocalAddress:Port Scheduler Flags
//	  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
//	TCP  C0000264:0050 wlc
//	  -> 0A000001:0050      Route   3      0          0
//	UDP  C0000265:0035 rr ops persistent 75000 FFFFFF00
//	TCP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0050 sh persistent 15000 80000000
//	FWM  00000001 wlc
//	  -> [2001:0db8:0002:0000:0000:0000:0000:0001]:0000      Tunnel  1      0          0
//
// A service line: the protocol (ip_vs_proto_name: TCP, UDP, SCTP, IP_n)
// and the address and port in hex ("%08X:%04X", IPv6 "[%pI6]:%04X"), or
// FWM and the mark ("%08X", no address family); the scheduler; "ops" for
// one-packet scheduling (never printed for an IPv6 address service); and
// for a persistent service "persistent", its timeout in jiffies
// (svc->timeout, the seconds times the kernel's HZ) and ntohl(netmask),
// which for an IPv6 service is the prefix length byte-swapped. A real
// server line: "  -> ", the address, the forwarding method (Masq, Local,
// Tunnel, Route), the weight and the two connection counters. Real servers
// are listed in the kernel's list order (Destination.Position).
//
// It is read under RCU without the __ip_vs_mutex that a netlink dump
// holds, and costs the kernel a line of text per object. What it does not
// show (thresholds, tunnel parameters, the scheduler flags, the
// persistence engine, the address family of a fwmark service) only a
// netlink read does: repairpass.go says how a repair uses each.

// procService is one virtual service as /proc/net/ip_vs shows it.
type procService struct {
	// id is the service's identity; a fwmark service's has no address
	// family (ipv6 false): the file does not print it.
	id         serviceID
	scheduler  string
	onePacket  bool
	persistent bool
	timeout    uint32 // jiffies
	netmask    uint32 // ntohl(svc->netmask)
	dests      []procDest
}

// procDest is one real server as /proc/net/ip_vs shows it.
type procDest struct {
	addr    netip.AddrPort
	forward Forward // ForwardMasq for every method the kernel prints as Masq
	weight  int
}

// procTable is a parsed /proc/net/ip_vs; a parse reuses the memory of
// the one before in t (a repair pass makes t at the last pass's sizes and
// lets it go, Manager.readProc).
type procTable struct {
	services []procService
	slab     []procDest // every service's real servers, cut from one slice
	// index is procChanges' index of services by identity, kept with
	// the parse and made again only when the parse is.
	index map[serviceID]procEntries
}

// The header's three lines (the first one's version and size vary).
const (
	procHeaderVersion = "IP Virtual Server version "
	procHeaderService = "Prot LocalAddress:Port Scheduler Flags"
	procHeaderDest    = "  -> RemoteAddress:Port Forward Weight ActiveConn InActConn"
	procDestPrefix    = "  -> "
)

// errProcLine is the error of a line that is not what the kernel prints.
var errProcLine = errors.New("not a line of /proc/net/ip_vs")

// parse decodes b, the whole file, into t. A line that is not what
// ip_vs_info_seq_show prints is an error that names it (line number and
// text): the caller then reads the table through netlink instead.
func (t *procTable) parse(b []byte) error { return t.parseYielding(b, nil) }

// parseYielding is parse calling yield, when not nil, before every
// chunkServices-th service: a repair pass steps aside there for a
// takeover (the file is read whole before, so a pause changes nothing of
// it). On the 2,000 x 16 table a parse is 3 ms of the host's CPU, tens of
// ms of the test VM's, long enough to keep VRRP's goroutine from a
// processor (Reconcile).
func (t *procTable) parseYielding(b []byte, yield func()) error {
	t.services = t.services[:0]
	t.slab = t.slab[:0]
	schedulers := make([]string, 0, 4) // interned: a table uses few
	line := 0
	// first is the index in slab of the current service's first real
	// server; each service's slice is cut at the end, as slab may move.
	first := 0
	cut := func() {
		if n := len(t.services); n > 0 {
			s := &t.services[n-1]
			s.dests = t.slab[first:len(t.slab):len(t.slab)]
			if len(s.dests) == 0 {
				s.dests = nil
			}
		}
		first = len(t.slab)
	}
	for len(b) > 0 {
		line++
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return procError(line, b, "no end of line")
		}
		l := b[:nl]
		b = b[nl+1:]
		switch {
		case line == 1:
			if !bytes.HasPrefix(l, []byte(procHeaderVersion)) {
				return procError(line, l, "not the header")
			}
		case line == 2:
			if string(l) != procHeaderService {
				return procError(line, l, "not the header")
			}
		case line == 3:
			if string(l) != procHeaderDest {
				return procError(line, l, "not the header")
			}
		case bytes.HasPrefix(l, []byte(procDestPrefix)):
			if len(t.services) == 0 {
				return procError(line, l, "a real server before any service")
			}
			d, err := parseProcDest(l[len(procDestPrefix):])
			if err != nil {
				return procError(line, l, err.Error())
			}
			t.slab = append(t.slab, d)
		default:
			cut()
			if yield != nil && len(t.services)%chunkServices == 0 {
				yield()
			}
			s, err := parseProcService(l, &schedulers)
			if err != nil {
				return procError(line, l, err.Error())
			}
			t.services = append(t.services, s)
		}
	}
	if line < 3 {
		return fmt.Errorf("/proc/net/ip_vs: %d lines, no header", line)
	}
	cut()
	return nil
}

func procError(line int, text []byte, why string) error {
	const most = 120
	if len(text) > most {
		text = text[:most]
	}
	return fmt.Errorf("/proc/net/ip_vs line %d %q: %s: %w", line, text, why, errProcLine)
}

// procFields splits l at runs of spaces into at most len(f) fields and
// returns how many there are; more than len(f) returns len(f)+1.
func procFields(l []byte, f [][]byte) int {
	n, i := 0, 0
	for {
		for i < len(l) && l[i] == ' ' {
			i++
		}
		if i == len(l) {
			return n
		}
		if n == len(f) {
			return n + 1
		}
		j := i
		for j < len(l) && l[j] != ' ' {
			j++
		}
		f[n] = l[i:j]
		n++
		i = j
	}
}

func parseProcService(l []byte, schedulers *[]string) (procService, error) {
	var s procService
	var f [7][]byte
	n := procFields(l, f[:])
	if n < 3 || n > len(f) {
		return s, errors.New("not a service")
	}
	if string(f[0]) == "FWM" {
		mark, ok := procHex(f[1], 8)
		if !ok || mark == 0 {
			return s, errors.New("unreadable firewall mark")
		}
		s.id.fwmark = uint32(mark)
	} else {
		proto, ok := procProtocol(f[0])
		if !ok {
			return s, errors.New("unknown protocol")
		}
		addr, ok := parseProcAddr(f[1])
		if !ok {
			return s, errors.New("unreadable address")
		}
		s.id.protocol, s.id.addr = proto, addr
	}
	s.scheduler = internString(schedulers, f[2])
	rest := f[3:n]
	if len(rest) > 0 && string(rest[0]) == "ops" {
		s.onePacket = true
		rest = rest[1:]
	}
	if len(rest) > 0 {
		if len(rest) != 3 || string(rest[0]) != "persistent" {
			return s, errors.New("unknown flags")
		}
		// svc->timeout is an unsigned int printed with %d: past 2^31
		// jiffies (24.9 days at HZ 1000, 99.4 at 250; keepalived takes
		// up to 2^31-1 seconds) it prints negative, its bits unchanged.
		timeout, ok := procDecimal(rest[1])
		if !ok || timeout < -1<<31 || timeout > 1<<31-1 {
			return s, errors.New("unreadable persistence timeout")
		}
		mask, ok := procHex(rest[2], 8)
		if !ok {
			return s, errors.New("unreadable persistence netmask")
		}
		s.persistent, s.timeout, s.netmask = true, uint32(int32(timeout)), uint32(mask)
	}
	return s, nil
}

func parseProcDest(l []byte) (procDest, error) {
	var d procDest
	var f [5][]byte
	if procFields(l, f[:]) != len(f) {
		return d, errors.New("not a real server")
	}
	addr, ok := parseProcAddr(f[0])
	if !ok {
		return d, errors.New("unreadable address")
	}
	d.addr = addr
	switch string(f[1]) {
	case "Masq":
		d.forward = ForwardMasq
	case "Local":
		d.forward = ForwardLocal
	case "Tunnel":
		d.forward = ForwardTunnel
	case "Route":
		d.forward = ForwardRoute
	default:
		return d, errors.New("unknown forwarding method")
	}
	w, ok := procDecimal(f[2])
	if !ok || w < -1<<31 || w > 1<<31-1 {
		return d, errors.New("unreadable weight")
	}
	d.weight = int(w)
	for _, c := range f[3:] {
		if _, ok := procDecimal(c); !ok {
			return d, errors.New("unreadable connection counter")
		}
	}
	return d, nil
}

// parseProcAddr reads "%08X:%04X" (IPv4) or "[%pI6]:%04X"; like the
// netlink reader it unmaps an IPv4-mapped IPv6 address.
func parseProcAddr(b []byte) (netip.AddrPort, bool) {
	colon := bytes.LastIndexByte(b, ':')
	if colon < 0 {
		return netip.AddrPort{}, false
	}
	port, ok := procHex(b[colon+1:], 4)
	if !ok {
		return netip.AddrPort{}, false
	}
	host := b[:colon]
	if len(host) > 0 && host[0] == '[' {
		if len(host) < 3 || host[len(host)-1] != ']' {
			return netip.AddrPort{}, false
		}
		a, err := netip.ParseAddr(string(host[1 : len(host)-1]))
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.AddrPort{}, false
		}
		return netip.AddrPortFrom(a.Unmap(), uint16(port)), true
	}
	v4, ok := procHex(host, 8)
	if !ok {
		return netip.AddrPort{}, false
	}
	a := netip.AddrFrom4([4]byte{byte(v4 >> 24), byte(v4 >> 16), byte(v4 >> 8), byte(v4)})
	return netip.AddrPortFrom(a, uint16(port)), true
}

// procHex reads exactly digits upper- or lower-case hex digits.
func procHex(b []byte, digits int) (uint64, bool) {
	if len(b) != digits {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// procDecimal reads a decimal number of at most 11 digits, with an
// optional minus sign (seq_printf's %d).
func procDecimal(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 11 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// procProtocol maps ip_vs_proto_name's spelling to the name the netlink
// reader gives the same protocol (protocolName).
func procProtocol(b []byte) (string, bool) {
	switch string(b) {
	case "TCP":
		return "TCP", true
	case "UDP":
		return "UDP", true
	case "SCTP":
		return "SCTP", true
	case "IP":
		return protocolName(0), true
	case "ICMP":
		return protocolName(1), true
	case "ICMPv6":
		return protocolName(58), true
	}
	if rest, ok := bytes.CutPrefix(b, []byte("IP_")); ok {
		if n, ok := procDecimal(rest); ok && n >= 0 && n <= 255 && rest[0] != '-' {
			return protocolName(uint16(n)), true
		}
	}
	return "", false
}

func internString(seen *[]string, b []byte) string {
	for _, s := range *seen {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	*seen = append(*seen, s)
	return s
}

// procNetmask is the netmask ip_vs_info_seq_show prints for a
// persistence granularity of prefix bits: ntohl of what the writer sends
// (netmaskValue), the kernel keeping those bytes as they came.
func procNetmask(prefix int, ipv6 bool) uint32 {
	v := netmaskValue(prefix, ipv6)
	return uint32(bigEndianOfNative(v))
}

// bigEndianOfNative reads v's bytes in memory as a big-endian number
// (ntohl of a value stored in native order).
func bigEndianOfNative(v uint32) uint32 {
	var b [4]byte
	native.PutUint32(b[:], v)
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// procForward is how ip_vs_fwd_name classes a method: every value but
// Local, Tunnel and Route prints as Masq.
func procForward(f Forward) Forward {
	switch f & 7 {
	case ForwardLocal, ForwardTunnel, ForwardRoute:
		return f & 7
	}
	return ForwardMasq
}
