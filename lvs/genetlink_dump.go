package lvs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"
)

// The reads of the table: an IPVS_CMD_GET_SERVICE dump, then one
// IPVS_CMD_GET_DEST dump per service (include/uapi/linux/ip_vs.h). The
// kernel has no dump of every destination at once, GET_DEST has no
// single-answer form (ip_vs_genl_ops gives it a dumpit only), and a
// netlink socket runs one dump at a time (__netlink_dump_start answers a
// second one EBUSY while the first is running), so a read costs one request
// per service; genetlink_dump_linux.go makes each of them one sendto and one
// recvmmsg. This file encodes the requests and decodes the answers
// (ip_vs_genl_fill_service, ip_vs_genl_fill_dest), with no socket.
const (
	ipvsCmdNewServiceAnswer = ipvsCmdNewService // a GET_SERVICE dump answers NEW_SERVICE messages
	ipvsCmdGetService       = 4                 // IPVS_CMD_GET_SERVICE
	ipvsCmdNewDestAnswer    = ipvsCmdNewDest    // a GET_DEST dump answers NEW_DEST messages
	ipvsCmdGetDest          = 8                 // IPVS_CMD_GET_DEST

	ipvsSvcAttrStats   = 10 // nested IPVS_STATS_ATTR_* (32-bit counters)
	ipvsSvcAttrStats64 = 12 // nested IPVS_STATS_ATTR_* (64-bit counters)

	ipvsDestAttrActiveConns = 7  // u32
	ipvsDestAttrInactConns  = 8  // u32
	ipvsDestAttrStats       = 10 // nested IPVS_STATS_ATTR_* (32-bit counters)
	ipvsDestAttrAddrFamily  = 11 // u16, since Linux 3.18 (mixed families)
	ipvsDestAttrStats64     = 12 // nested IPVS_STATS_ATTR_* (64-bit counters)

	ipvsStatsAttrConns    = 1 // u32 in STATS, u64 in STATS64
	ipvsStatsAttrInPkts   = 2
	ipvsStatsAttrOutPkts  = 3
	ipvsStatsAttrInBytes  = 4 // u64 in both
	ipvsStatsAttrOutBytes = 5
)

// dumpRequest builds a GET_SERVICE dump request (svc nil) or the GET_DEST
// dump request for svc: the attributes ip_vs_genl_find_service reads, as
// for a delete.
func dumpRequest(b []byte, family uint16, seq uint32, svc *Service) []byte {
	start := len(b)
	cmd := uint8(ipvsCmdGetService)
	if svc != nil {
		cmd = ipvsCmdGetDest
	}
	b = appendGenlHeader(b, family, seq, nlmFRequest|nlmFDump, cmd)
	if svc != nil {
		b = appendServiceAttrs(b, svc, false)
	}
	native.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// serviceRequest builds the GET_SERVICE request of svc alone (no dump:
// ip_vs_genl_get_cmd answers one NEW_SERVICE message, or ESRCH when the
// kernel has no such service). A read of some services
// (tableReader.readServices) sends it with svc's GET_DEST dump request in
// one datagram: the kernel handles the messages of a datagram in order,
// so the answer comes before the dump's.
func serviceRequest(b []byte, family uint16, seq uint32, svc *Service) []byte {
	start := len(b)
	b = appendGenlHeader(b, family, seq, nlmFRequest, ipvsCmdGetService)
	b = appendServiceAttrs(b, svc, false)
	native.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

// parseServiceAnswer decodes the answer to the GET_SERVICE request seq
// in one datagram, if it is there: answered says it was; the service is
// missing when err is ESRCH.
func parseServiceAnswer(b []byte, family uint16, seq uint32) (svc Service, answered bool, err error) {
	errored, err := walkDump(b, family, seq, func(cmd uint8, p []byte) error {
		if cmd != ipvsCmdNewServiceAnswer {
			return nil
		}
		s, err := parseService(p)
		if err != nil {
			return err
		}
		svc, answered = s, true
		return nil
	})
	return svc, answered || errored, err
}

// walkDump calls f with the generic-netlink payload (after the genl
// header) of each answer of family to the dump request seq in one
// datagram, and reports whether the dump is over: NLMSG_DONE, or
// NLMSG_ERROR, whose errno it returns. Messages of other requests are
// skipped. A malformed datagram, or an error from f, ends the walk of
// this datagram but not the dump: its NLMSG_DONE is still to come.
func walkDump(b []byte, family uint16, seq uint32, f func(cmd uint8, payload []byte) error) (done bool, err error) {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return false, errShortMessage
		}
		n := int(native.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			return false, errShortMessage
		}
		typ, mseq := native.Uint16(b[4:]), native.Uint32(b[8:])
		if mseq == seq {
			switch {
			case typ == nlmsgDone:
				return true, nil
			case typ == nlmsgError:
				if n >= nlmsgHdrLen+4 {
					if code := int32(native.Uint32(b[nlmsgHdrLen:])); code != 0 {
						return true, syscall.Errno(-code)
					}
				}
				return true, nil
			case typ == family && n >= nlmsgHdrLen+genlHdrLen:
				if err := f(b[nlmsgHdrLen], b[nlmsgHdrLen+genlHdrLen:n]); err != nil {
					return false, err
				}
			}
		}
		b = b[min(align4(n), len(b)):]
	}
	return false, nil
}

// nestedAttr returns the payload of the first attribute typ in b.
func nestedAttr(b []byte, typ uint16) ([]byte, error) {
	for len(b) >= attrHeaderLen {
		l := int(native.Uint16(b))
		if l < attrHeaderLen || l > len(b) {
			return nil, errShortMessage
		}
		if native.Uint16(b[2:])&0x3fff == typ {
			return b[attrHeaderLen:l], nil
		}
		b = b[min(align4(l), len(b)):]
	}
	return nil, nil
}

// attrAddr decodes an address attribute: the kernel always sends the 16
// bytes of union nf_inet_addr, an IPv4 address in the first 4. Like the
// table's other readers it unmaps an IPv4-mapped IPv6 address.
func attrAddr(p []byte, af uint16) (netip.Addr, bool) {
	switch {
	case af == afInet && len(p) >= 4:
		return netip.AddrFrom4([4]byte(p[:4])), true
	case af == afInet6 && len(p) >= 16:
		return netip.AddrFrom16([16]byte(p[:16])).Unmap(), true
	}
	return netip.Addr{}, false
}

// attrsByType is a nest's attributes by type: each one's payload (the
// last of a repeated type), nil when absent. Types past the table are
// none that IPVS answers carry.
type attrsByType [16][]byte

// collectAttrs is the one walk behind every decoder of this file (the
// service, real-server and counter nests): it files each attribute of
// the nest b by type, and stops at a malformed one. Each decoder then
// reads its fields from the table. That costs no call per attribute: a
// table of handler functions made the reader 1.5-2x slower and put the
// decoder's state on the heap.
func collectAttrs(b []byte, a *attrsByType) error {
	*a = attrsByType{}
	for len(b) >= attrHeaderLen {
		l := int(native.Uint16(b))
		if l < attrHeaderLen || l > len(b) {
			return errShortMessage
		}
		if typ := int(native.Uint16(b[2:]) & 0x3fff); typ < len(a) {
			a[typ] = b[attrHeaderLen:l]
		}
		b = b[min(align4(l), len(b)):]
	}
	return nil
}

// u16 and u32 read a native-order attribute of at least their size.
func (a *attrsByType) u16(typ uint16, v *uint16) {
	if p := a[typ]; len(p) >= 2 {
		*v = native.Uint16(p)
	}
}

func (a *attrsByType) u32(typ uint16, v *uint32) {
	if p := a[typ]; len(p) >= 4 {
		*v = native.Uint32(p)
	}
}

// port reads a network-order port attribute.
func (a *attrsByType) port(typ uint16) uint16 {
	if p := a[typ]; len(p) >= 2 {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

// counter reads a counter of a STATS or STATS64 nest: all 64-bit in
// STATS64 (wide), only the byte counters in STATS.
func (a *attrsByType) counter(typ uint16, wide bool) uint64 {
	p := a[typ]
	switch {
	case len(p) >= 8 && (wide || typ >= ipvsStatsAttrInBytes):
		return native.Uint64(p)
	case len(p) >= 4:
		return uint64(native.Uint32(p))
	}
	return 0
}

// readStats decodes a nested IPVS_*_ATTR_STATS64 attribute, or without
// one (before Linux 4.1) the STATS one.
func readStats(stats, stats64 []byte) (Stats, error) {
	wide := stats64 != nil
	if wide {
		stats = stats64
	}
	var a attrsByType
	if err := collectAttrs(stats, &a); err != nil {
		return Stats{}, err
	}
	return Stats{
		Conns:      a.counter(ipvsStatsAttrConns, wide),
		PacketsIn:  a.counter(ipvsStatsAttrInPkts, wide),
		PacketsOut: a.counter(ipvsStatsAttrOutPkts, wide),
		BytesIn:    a.counter(ipvsStatsAttrInBytes, wide),
		BytesOut:   a.counter(ipvsStatsAttrOutBytes, wide),
	}, nil
}

// parseService decodes one NEW_SERVICE answer of a GET_SERVICE dump
// (ip_vs_genl_fill_service).
func parseService(payload []byte) (Service, error) {
	var s Service
	attrs, err := nestedAttr(payload, ipvsCmdAttrService)
	if err != nil || attrs == nil {
		return s, fmt.Errorf("IPVS service answer without service attributes: %w", orShort(err))
	}
	var a attrsByType
	if err := collectAttrs(attrs, &a); err != nil {
		return s, err
	}
	var af, proto uint16
	var netmask, flags uint32
	a.u16(ipvsSvcAttrAF, &af)
	a.u16(ipvsSvcAttrProtocol, &proto)
	a.u32(ipvsSvcAttrFWMark, &s.FWMark)
	a.u32(ipvsSvcAttrFlags, &flags)
	a.u32(ipvsSvcAttrTimeout, &s.Timeout)
	a.u32(ipvsSvcAttrNetmask, &netmask)
	s.Scheduler = string(bytes.TrimRight(a[ipvsSvcAttrSchedName], "\x00"))
	s.Flags = ServiceFlags(flags)
	for typ, p := range a {
		if p != nil {
			readServiceExtra(&s, uint16(typ), p) // tunnel.go: PE_NAME
		}
	}
	s.IPv6 = af == afInet6
	s.Netmask = netmaskPrefix(netmask, s.IPv6)
	if s.FWMark == 0 {
		addr, ok := attrAddr(a[ipvsSvcAttrAddr], af)
		if !ok {
			return s, fmt.Errorf("IPVS service with unreadable address % x (family %d)", a[ipvsSvcAttrAddr], af)
		}
		s.Protocol = protocolName(proto)
		s.Addr = netip.AddrPortFrom(addr, a.port(ipvsSvcAttrPort))
	}
	if s.Stats, err = readStats(a[ipvsSvcAttrStats], a[ipvsSvcAttrStats64]); err != nil {
		return s, fmt.Errorf("service %s: %w", s.Key(), err)
	}
	return s, nil
}

// parseDestination decodes one NEW_DEST answer of the GET_DEST dump of
// svc (ip_vs_genl_fill_dest); a destination without its own family
// attribute has the service's.
func parseDestination(payload []byte, svc *Service) (Destination, error) {
	var d Destination
	attrs, err := nestedAttr(payload, ipvsCmdAttrDest)
	if err != nil || attrs == nil {
		return d, fmt.Errorf("IPVS real server answer without its attributes: %w", orShort(err))
	}
	var a attrsByType
	if err := collectAttrs(attrs, &a); err != nil {
		return d, err
	}
	af := uint16(afInet)
	if svc.isIPv6() {
		af = afInet6
	}
	var fwd, weight uint32
	a.u16(ipvsDestAttrAddrFamily, &af)
	a.u32(ipvsDestAttrFwdMethod, &fwd)
	a.u32(ipvsDestAttrWeight, &weight)
	a.u32(ipvsDestAttrUThresh, &d.UpperThreshold)
	a.u32(ipvsDestAttrLThresh, &d.LowerThreshold)
	a.u32(ipvsDestAttrActiveConns, &d.ActiveConns)
	a.u32(ipvsDestAttrInactConns, &d.InactiveConns)
	d.Forward = Forward(fwd & 0x7) // IP_VS_CONN_F_FWD_MASK
	d.Weight = int(int32(weight))
	for typ, p := range a {
		if p != nil {
			readDestExtra(&d, uint16(typ), p) // tunnel.go: TUN_TYPE, TUN_PORT, TUN_FLAGS
		}
	}
	addr, ok := attrAddr(a[ipvsDestAttrAddr], af)
	if !ok {
		return d, fmt.Errorf("real server of %s with unreadable address % x (family %d)", svc.Key(), a[ipvsDestAttrAddr], af)
	}
	d.Addr = netip.AddrPortFrom(addr, a.port(ipvsDestAttrPort))
	if d.Stats, err = readStats(a[ipvsDestAttrStats], a[ipvsDestAttrStats64]); err != nil {
		return d, fmt.Errorf("real server %s of %s: %w", d.Addr, svc.Key(), err)
	}
	return d, nil
}

func orShort(err error) error {
	if err == nil {
		return errShortMessage
	}
	return err
}

// parseServiceDump decodes one datagram of the GET_SERVICE dump seq,
// appending its services to t, and reports whether the dump is over.
func parseServiceDump(b []byte, family uint16, seq uint32, t Table) (Table, bool, error) {
	done, err := walkDump(b, family, seq, func(cmd uint8, p []byte) error {
		if cmd != ipvsCmdNewServiceAnswer {
			return nil
		}
		s, err := parseService(p)
		if err != nil {
			return err
		}
		t = append(t, s)
		return nil
	})
	return t, done, err
}

// parseDestDump decodes one datagram of the GET_DEST dump seq of svc,
// appending its destinations to svc in the kernel's list order
// (Destination.Position), and reports whether the dump is over.
func parseDestDump(b []byte, family uint16, seq uint32, svc *Service) (bool, error) {
	return walkDump(b, family, seq, func(cmd uint8, p []byte) error {
		if cmd != ipvsCmdNewDestAnswer {
			return nil
		}
		d, err := parseDestination(p, svc)
		if err != nil {
			return err
		}
		d.Position = len(svc.Destinations)
		svc.Destinations = append(svc.Destinations, d)
		return nil
	})
}
