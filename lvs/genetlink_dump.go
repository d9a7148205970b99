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

// attrHandler decodes one attribute of a nest into the value T being
// built, when its payload holds at least min bytes.
type attrHandler[T any] struct {
	min int
	set func(v *T, p []byte)
}

// decodeAttrs is the one decoder shape of this file's nests: it walks the
// attributes of b (walkAttrs, genetlink.go), hands each to its handler in
// table (indexed by attribute type) and any other to rest (nil: skipped).
func decodeAttrs[T any](b []byte, v *T, table []attrHandler[T], rest func(v *T, typ uint16, p []byte)) error {
	return walkAttrs(b, func(typ uint16, p []byte) {
		switch {
		case int(typ) < len(table) && table[typ].set != nil:
			if len(p) >= table[typ].min {
				table[typ].set(v, p)
			}
		case rest != nil:
			rest(v, typ, p)
		}
	})
}

func u16(p []byte) uint16 { return native.Uint16(p) }
func u32(p []byte) uint32 { return native.Uint32(p) }

// statsDecode is a STATS or STATS64 nest being decoded; wide says the
// counters are all 64-bit (STATS64). In STATS the byte counters are
// 64-bit too.
type statsDecode struct {
	st   Stats
	wide bool
}

func (d *statsDecode) counter(p []byte, bytes bool) uint64 {
	switch {
	case len(p) >= 8 && (d.wide || bytes):
		return native.Uint64(p)
	case len(p) >= 4:
		return uint64(native.Uint32(p))
	}
	return 0
}

var statsAttrs = [...]attrHandler[statsDecode]{
	ipvsStatsAttrConns:    {0, func(d *statsDecode, p []byte) { d.st.Conns = d.counter(p, false) }},
	ipvsStatsAttrInPkts:   {0, func(d *statsDecode, p []byte) { d.st.PacketsIn = d.counter(p, false) }},
	ipvsStatsAttrOutPkts:  {0, func(d *statsDecode, p []byte) { d.st.PacketsOut = d.counter(p, false) }},
	ipvsStatsAttrInBytes:  {0, func(d *statsDecode, p []byte) { d.st.BytesIn = d.counter(p, true) }},
	ipvsStatsAttrOutBytes: {0, func(d *statsDecode, p []byte) { d.st.BytesOut = d.counter(p, true) }},
}

// readStats decodes a nested IPVS_*_ATTR_STATS64 attribute, or without
// one (before Linux 4.1) the STATS one.
func readStats(stats, stats64 []byte) (Stats, error) {
	d := statsDecode{wide: stats64 != nil}
	if stats64 != nil {
		stats = stats64
	}
	err := decodeAttrs(stats, &d, statsAttrs[:], nil)
	return d.st, err
}

// serviceDecode is a NEW_SERVICE answer being decoded
// (ip_vs_genl_fill_service): the attributes that only make sense
// together are kept raw until the walk is over.
type serviceDecode struct {
	s               Service
	af, proto, port uint16
	netmask         uint32
	addr            []byte
	stats, stats64  []byte
}

var serviceAttrs = [...]attrHandler[serviceDecode]{
	ipvsSvcAttrAF:        {2, func(v *serviceDecode, p []byte) { v.af = u16(p) }},
	ipvsSvcAttrProtocol:  {2, func(v *serviceDecode, p []byte) { v.proto = u16(p) }},
	ipvsSvcAttrAddr:      {0, func(v *serviceDecode, p []byte) { v.addr = p }},
	ipvsSvcAttrPort:      {2, func(v *serviceDecode, p []byte) { v.port = binary.BigEndian.Uint16(p) }},
	ipvsSvcAttrFWMark:    {4, func(v *serviceDecode, p []byte) { v.s.FWMark = u32(p) }},
	ipvsSvcAttrSchedName: {0, func(v *serviceDecode, p []byte) { v.s.Scheduler = string(bytes.TrimRight(p, "\x00")) }},
	ipvsSvcAttrFlags:     {4, func(v *serviceDecode, p []byte) { v.s.Flags = ServiceFlags(u32(p)) }},
	ipvsSvcAttrTimeout:   {4, func(v *serviceDecode, p []byte) { v.s.Timeout = u32(p) }},
	ipvsSvcAttrNetmask:   {4, func(v *serviceDecode, p []byte) { v.netmask = u32(p) }},
	ipvsSvcAttrStats:     {0, func(v *serviceDecode, p []byte) { v.stats = p }},
	ipvsSvcAttrStats64:   {0, func(v *serviceDecode, p []byte) { v.stats64 = p }},
}

// parseService decodes one NEW_SERVICE answer of a GET_SERVICE dump.
func parseService(payload []byte) (Service, error) {
	attrs, err := nestedAttr(payload, ipvsCmdAttrService)
	if err != nil || attrs == nil {
		return Service{}, fmt.Errorf("IPVS service answer without service attributes: %w", orShort(err))
	}
	var v serviceDecode
	err = decodeAttrs(attrs, &v, serviceAttrs[:], func(v *serviceDecode, typ uint16, p []byte) {
		readServiceExtra(&v.s, typ, p) // tunnel.go: PE_NAME
	})
	s := v.s
	if err != nil {
		return s, err
	}
	s.IPv6 = v.af == afInet6
	s.Netmask = netmaskPrefix(v.netmask, s.IPv6)
	if s.FWMark == 0 {
		a, ok := attrAddr(v.addr, v.af)
		if !ok {
			return s, fmt.Errorf("IPVS service with unreadable address % x (family %d)", v.addr, v.af)
		}
		s.Protocol = protocolName(v.proto)
		s.Addr = netip.AddrPortFrom(a, v.port)
	}
	if s.Stats, err = readStats(v.stats, v.stats64); err != nil {
		return s, fmt.Errorf("service %s: %w", s.Key(), err)
	}
	return s, nil
}

// destDecode is a NEW_DEST answer being decoded (ip_vs_genl_fill_dest).
type destDecode struct {
	d              Destination
	af, port       uint16
	addr           []byte
	stats, stats64 []byte
}

var destAttrs = [...]attrHandler[destDecode]{
	ipvsDestAttrAddr:        {0, func(v *destDecode, p []byte) { v.addr = p }},
	ipvsDestAttrPort:        {2, func(v *destDecode, p []byte) { v.port = binary.BigEndian.Uint16(p) }},
	ipvsDestAttrFwdMethod:   {4, func(v *destDecode, p []byte) { v.d.Forward = Forward(u32(p) & 0x7) }}, // IP_VS_CONN_F_FWD_MASK
	ipvsDestAttrWeight:      {4, func(v *destDecode, p []byte) { v.d.Weight = int(int32(u32(p))) }},
	ipvsDestAttrUThresh:     {4, func(v *destDecode, p []byte) { v.d.UpperThreshold = u32(p) }},
	ipvsDestAttrLThresh:     {4, func(v *destDecode, p []byte) { v.d.LowerThreshold = u32(p) }},
	ipvsDestAttrActiveConns: {4, func(v *destDecode, p []byte) { v.d.ActiveConns = u32(p) }},
	ipvsDestAttrInactConns:  {4, func(v *destDecode, p []byte) { v.d.InactiveConns = u32(p) }},
	ipvsDestAttrAddrFamily:  {2, func(v *destDecode, p []byte) { v.af = u16(p) }},
	ipvsDestAttrStats:       {0, func(v *destDecode, p []byte) { v.stats = p }},
	ipvsDestAttrStats64:     {0, func(v *destDecode, p []byte) { v.stats64 = p }},
}

// parseDestination decodes one NEW_DEST answer of the GET_DEST dump of
// svc; a destination without its own family attribute has the service's.
func parseDestination(payload []byte, svc *Service) (Destination, error) {
	attrs, err := nestedAttr(payload, ipvsCmdAttrDest)
	if err != nil || attrs == nil {
		return Destination{}, fmt.Errorf("IPVS real server answer without its attributes: %w", orShort(err))
	}
	v := destDecode{af: afInet}
	if svc.isIPv6() {
		v.af = afInet6
	}
	err = decodeAttrs(attrs, &v, destAttrs[:], func(v *destDecode, typ uint16, p []byte) {
		readDestExtra(&v.d, typ, p) // tunnel.go: TUN_TYPE, TUN_PORT, TUN_FLAGS
	})
	d := v.d
	if err != nil {
		return d, err
	}
	a, ok := attrAddr(v.addr, v.af)
	if !ok {
		return d, fmt.Errorf("real server of %s with unreadable address % x (family %d)", svc.Key(), v.addr, v.af)
	}
	d.Addr = netip.AddrPortFrom(a, v.port)
	if d.Stats, err = readStats(v.stats, v.stats64); err != nil {
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
