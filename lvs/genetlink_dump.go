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

// parseStats decodes a nested IPVS_*_ATTR_STATS or STATS64 attribute;
// wide says the counters are all 64-bit (STATS64).
func parseStats(b []byte, wide bool) (Stats, error) {
	var st Stats
	for len(b) >= attrHeaderLen {
		l := int(native.Uint16(b))
		if l < attrHeaderLen || l > len(b) {
			return st, errShortMessage
		}
		p := b[attrHeaderLen:l]
		var v uint64
		switch {
		case len(p) >= 8 && (wide || native.Uint16(b[2:])&0x3fff >= ipvsStatsAttrInBytes):
			v = native.Uint64(p)
		case len(p) >= 4:
			v = uint64(native.Uint32(p))
		}
		switch native.Uint16(b[2:]) & 0x3fff {
		case ipvsStatsAttrConns:
			st.Conns = v
		case ipvsStatsAttrInPkts:
			st.PacketsIn = v
		case ipvsStatsAttrOutPkts:
			st.PacketsOut = v
		case ipvsStatsAttrInBytes:
			st.BytesIn = v
		case ipvsStatsAttrOutBytes:
			st.BytesOut = v
		}
		b = b[min(align4(l), len(b)):]
	}
	return st, nil
}

// parseService decodes one NEW_SERVICE answer of a GET_SERVICE dump.
func parseService(payload []byte) (Service, error) {
	var s Service
	attrs, err := nestedAttr(payload, ipvsCmdAttrService)
	if err != nil || attrs == nil {
		return s, fmt.Errorf("IPVS service answer without service attributes: %w", orShort(err))
	}
	var (
		af, proto, port uint16
		netmask         uint32
		addr            []byte
		stats, stats64  []byte
	)
	for b := attrs; len(b) >= attrHeaderLen; {
		l := int(native.Uint16(b))
		if l < attrHeaderLen || l > len(b) {
			return s, errShortMessage
		}
		p := b[attrHeaderLen:l]
		switch typ := native.Uint16(b[2:]) & 0x3fff; {
		case typ == ipvsSvcAttrAF && len(p) >= 2:
			af = native.Uint16(p)
		case typ == ipvsSvcAttrProtocol && len(p) >= 2:
			proto = native.Uint16(p)
		case typ == ipvsSvcAttrAddr:
			addr = p
		case typ == ipvsSvcAttrPort && len(p) >= 2:
			port = binary.BigEndian.Uint16(p)
		case typ == ipvsSvcAttrFWMark && len(p) >= 4:
			s.FWMark = native.Uint32(p)
		case typ == ipvsSvcAttrSchedName:
			s.Scheduler = string(bytes.TrimRight(p, "\x00"))
		case typ == ipvsSvcAttrFlags && len(p) >= 4:
			s.Flags = ServiceFlags(native.Uint32(p))
		case typ == ipvsSvcAttrTimeout && len(p) >= 4:
			s.Timeout = native.Uint32(p)
		case typ == ipvsSvcAttrNetmask && len(p) >= 4:
			netmask = native.Uint32(p)
		case typ == ipvsSvcAttrStats:
			stats = p
		case typ == ipvsSvcAttrStats64:
			stats64 = p
		default:
			readServiceExtra(&s, typ, p) // tunnel.go: PE_NAME
		}
		b = b[min(align4(l), len(b)):]
	}
	s.IPv6 = af == afInet6
	s.Netmask = netmaskPrefix(netmask, s.IPv6)
	if s.FWMark == 0 {
		a, ok := attrAddr(addr, af)
		if !ok {
			return s, fmt.Errorf("IPVS service with unreadable address % x (family %d)", addr, af)
		}
		s.Protocol = protocolName(proto)
		s.Addr = netip.AddrPortFrom(a, port)
	}
	if s.Stats, err = readStats(stats, stats64); err != nil {
		return s, fmt.Errorf("service %s: %w", s.Key(), err)
	}
	return s, nil
}

// readStats prefers the 64-bit counters (Linux 4.1 and later).
func readStats(stats, stats64 []byte) (Stats, error) {
	if stats64 != nil {
		return parseStats(stats64, true)
	}
	return parseStats(stats, false)
}

// parseDestination decodes one NEW_DEST answer of the GET_DEST dump of
// svc; a destination without its own family attribute has the service's.
func parseDestination(payload []byte, svc *Service) (Destination, error) {
	var d Destination
	attrs, err := nestedAttr(payload, ipvsCmdAttrDest)
	if err != nil || attrs == nil {
		return d, fmt.Errorf("IPVS real server answer without its attributes: %w", orShort(err))
	}
	af := uint16(afInet)
	if svc.isIPv6() {
		af = afInet6
	}
	var (
		port           uint16
		addr           []byte
		stats, stats64 []byte
	)
	for b := attrs; len(b) >= attrHeaderLen; {
		l := int(native.Uint16(b))
		if l < attrHeaderLen || l > len(b) {
			return d, errShortMessage
		}
		p := b[attrHeaderLen:l]
		switch typ := native.Uint16(b[2:]) & 0x3fff; {
		case typ == ipvsDestAttrAddr:
			addr = p
		case typ == ipvsDestAttrPort && len(p) >= 2:
			port = binary.BigEndian.Uint16(p)
		case typ == ipvsDestAttrFwdMethod && len(p) >= 4:
			d.Forward = Forward(native.Uint32(p) & 0x7) // IP_VS_CONN_F_FWD_MASK
		case typ == ipvsDestAttrWeight && len(p) >= 4:
			d.Weight = int(int32(native.Uint32(p)))
		case typ == ipvsDestAttrUThresh && len(p) >= 4:
			d.UpperThreshold = native.Uint32(p)
		case typ == ipvsDestAttrLThresh && len(p) >= 4:
			d.LowerThreshold = native.Uint32(p)
		case typ == ipvsDestAttrActiveConns && len(p) >= 4:
			d.ActiveConns = native.Uint32(p)
		case typ == ipvsDestAttrInactConns && len(p) >= 4:
			d.InactiveConns = native.Uint32(p)
		case typ == ipvsDestAttrAddrFamily && len(p) >= 2:
			af = native.Uint16(p)
		case typ == ipvsDestAttrStats:
			stats = p
		case typ == ipvsDestAttrStats64:
			stats64 = p
		default:
			readDestExtra(&d, typ, p) // tunnel.go: TUN_TYPE, TUN_PORT, TUN_FLAGS
		}
		b = b[min(align4(l), len(b)):]
	}
	a, ok := attrAddr(addr, af)
	if !ok {
		return d, fmt.Errorf("real server of %s with unreadable address % x (family %d)", svc.Key(), addr, af)
	}
	d.Addr = netip.AddrPortFrom(a, port)
	if d.Stats, err = readStats(stats, stats64); err != nil {
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
