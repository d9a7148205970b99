package lvstest

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/lvsd/lvsd/lvs"
)

// DefaultHZ is the HZ of the fake's kernel when FakeKernel.HZ is zero:
// Debian's (CONFIG_HZ=250), the test VM's.
const DefaultHZ = 250

// ProcIPVS renders t as Linux 6.1 prints /proc/net/ip_vs
// (ip_vs_ctl.c, ip_vs_info_seq_show) for a kernel of the given HZ: the
// address services, then the fwmark services (the kernel walks its two
// hash tables in that order), each one's real servers in the order of
// its Destinations (the kernel's list order).
func ProcIPVS(t lvs.Table, hz uint32) []byte {
	b := []byte("IP Virtual Server version 1.2.1 (size=4096)\n" +
		"Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n")
	for _, fwmarks := range []bool{false, true} {
		for i := range t {
			if s := &t[i]; (s.FWMark != 0) == fwmarks {
				b = appendProcService(b, s, hz)
			}
		}
	}
	return b
}

func appendProcService(b []byte, s *lvs.Service, hz uint32) []byte {
	ops := ""
	if s.Flags&lvs.FlagOnePacket != 0 {
		ops = "ops "
	}
	v6 := s.IPv6
	switch a := s.Addr.Addr(); {
	case s.FWMark != 0:
		b = fmt.Appendf(b, "FWM  %08X %s %s", s.FWMark, s.Scheduler, ops)
	case a.Is6() && !a.Is4In6():
		v6 = true
		b = fmt.Appendf(b, "%s  [%s]:%04X %s ", procProtoName(s.Protocol), procIPv6(a), s.Addr.Port(), s.Scheduler)
	default:
		b = fmt.Appendf(b, "%s  %08X:%04X %s %s ", procProtoName(s.Protocol), binary.BigEndian.Uint32(a.Unmap().AsSlice()), s.Addr.Port(), s.Scheduler, ops)
	}
	if s.Flags&lvs.FlagPersistent != 0 {
		b = fmt.Appendf(b, "persistent %d %08X\n", int32(s.Timeout*hz), procNetmask(s.Netmask, v6))
	} else {
		b = append(b, '\n')
	}
	for _, d := range s.Destinations {
		a := d.Addr.Addr()
		if a.Is6() && !a.Is4In6() {
			b = fmt.Appendf(b, "  -> [%s]:%04X", procIPv6(a), d.Addr.Port())
		} else {
			b = fmt.Appendf(b, "  -> %08X:%04X", binary.BigEndian.Uint32(a.Unmap().AsSlice()), d.Addr.Port())
		}
		b = fmt.Appendf(b, "      %-7s %-6d %-10d %-10d\n", procForwardName(d.Forward), int32(d.Weight), int32(d.ActiveConns), int32(d.InactiveConns))
	}
	return b
}

// procIPv6 is %pI6: eight groups of four lower-case hex digits.
func procIPv6(a netip.Addr) string {
	b := a.As16()
	var out []byte
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			out = append(out, ':')
		}
		out = fmt.Appendf(out, "%02x%02x", b[i], b[i+1])
	}
	return string(out)
}

// procProtoName is ip_vs_proto_name.
func procProtoName(p string) string {
	var n int
	switch p {
	case "TCP", "UDP", "SCTP":
		return p
	}
	if _, err := fmt.Sscanf(p, "proto-%d", &n); err == nil {
		switch n {
		case 0:
			return "IP"
		case 1:
			return "ICMP"
		case 58:
			return "ICMPv6"
		}
		return fmt.Sprintf("IP_%d", n)
	}
	return p
}

// procForwardName is ip_vs_fwd_name.
func procForwardName(f lvs.Forward) string {
	switch f & 7 {
	case lvs.ForwardLocal:
		return "Local"
	case lvs.ForwardTunnel:
		return "Tunnel"
	case lvs.ForwardRoute:
		return "Route"
	}
	return "Masq"
}

// procNetmask is ntohl(svc->netmask): an IPv4 mask, or an IPv6 prefix
// length as the writer sends it (a host-order number), byte-swapped on a
// little-endian machine.
func procNetmask(prefix int, ipv6 bool) uint32 {
	if ipv6 {
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], uint32(prefix))
		return binary.BigEndian.Uint32(b[:])
	}
	if prefix <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - min(prefix, 32))
}
