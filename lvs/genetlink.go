package lvs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"syscall"
)

// The IPVS generic-netlink protocol (include/uapi/linux/ip_vs.h, "IPVS"
// family, version 1). Only what lvsd writes, and the sync daemons, are
// spelled out here; reads of the table go through github.com/moby/ipvs.
const (
	ipvsGenlVersion = 1

	ipvsCmdNewService = 1
	ipvsCmdSetService = 2
	ipvsCmdDelService = 3
	ipvsCmdNewDest    = 5
	ipvsCmdSetDest    = 6
	ipvsCmdDelDest    = 7
	ipvsCmdNewDaemon  = 9  // IPVS_CMD_NEW_DAEMON
	ipvsCmdDelDaemon  = 10 // IPVS_CMD_DEL_DAEMON
	ipvsCmdGetDaemon  = 11 // IPVS_CMD_GET_DAEMON (a dump of NEW_DAEMON messages)

	ipvsCmdAttrService = 1 // nested IPVS_SVC_ATTR_*
	ipvsCmdAttrDest    = 2 // nested IPVS_DEST_ATTR_*
	ipvsCmdAttrDaemon  = 3 // nested IPVS_DAEMON_ATTR_*

	ipvsDaemonAttrState       = 1 // u32 IP_VS_STATE_MASTER / _BACKUP
	ipvsDaemonAttrMcastIfn    = 2 // NUL-terminated string, IP_VS_IFNAME_MAXLEN 16
	ipvsDaemonAttrSyncID      = 3 // u32
	ipvsDaemonAttrSyncMaxlen  = 4 // u16 UDP payload size
	ipvsDaemonAttrMcastGroup  = 5 // in_addr (network order)
	ipvsDaemonAttrMcastGroup6 = 6 // in6_addr
	ipvsDaemonAttrMcastPort   = 7 // u16, host order (ip_vs_ctl.c nla_get_u16)
	ipvsDaemonAttrMcastTTL    = 8 // u8

	ipvsSvcAttrAF        = 1 // u16
	ipvsSvcAttrProtocol  = 2 // u16
	ipvsSvcAttrAddr      = 3 // 4 or 16 bytes
	ipvsSvcAttrPort      = 4 // be16
	ipvsSvcAttrFWMark    = 5 // u32
	ipvsSvcAttrSchedName = 6 // NUL-terminated string
	ipvsSvcAttrFlags     = 7 // struct ip_vs_flags {flags, mask u32}
	ipvsSvcAttrTimeout   = 8 // u32 seconds
	ipvsSvcAttrNetmask   = 9 // be32 mask (IPv4) or prefix length (IPv6)

	ipvsDestAttrAddr      = 1 // 4 or 16 bytes
	ipvsDestAttrPort      = 2 // be16
	ipvsDestAttrFwdMethod = 3 // u32
	ipvsDestAttrWeight    = 4 // u32
	ipvsDestAttrUThresh   = 5 // u32
	ipvsDestAttrLThresh   = 6 // u32

	genlCtrlID            = 0x10
	genlCtrlCmdGetFamily  = 3
	genlCtrlAttrFamilyID  = 1
	genlCtrlAttrFamilyNam = 2

	nlmsgHdrLen   = 16
	genlHdrLen    = 4
	nlmsgError    = 2
	nlmsgDone     = 3
	nlmFRequest   = 0x1
	nlmFAck       = 0x4
	nlmFDump      = 0x300 // NLM_F_ROOT | NLM_F_MATCH
	afInet        = 2
	afInet6       = 10
	attrHeaderLen = 4
)

var native = binary.NativeEndian

func align4(n int) int { return (n + 3) &^ 3 }

// appendAttr appends one netlink attribute.
func appendAttr(b []byte, typ uint16, payload []byte) []byte {
	b = native.AppendUint16(b, uint16(attrHeaderLen+len(payload)))
	b = native.AppendUint16(b, typ)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func appendU16(b []byte, typ, v uint16) []byte {
	return appendAttr(b, typ, native.AppendUint16(nil, v))
}

func appendU32(b []byte, typ uint16, v uint32) []byte {
	return appendAttr(b, typ, native.AppendUint32(nil, v))
}

// beginNest starts a nested attribute and returns where its header is.
func beginNest(b []byte, typ uint16) ([]byte, int) {
	at := len(b)
	b = native.AppendUint16(b, 0)
	b = native.AppendUint16(b, typ)
	return b, at
}

func endNest(b []byte, at int) []byte {
	native.PutUint16(b[at:], uint16(len(b)-at))
	return b
}

// netmaskValue encodes a persistence granularity the way ip_vs_ctl.c
// reads it: an IPv4 netmask in network byte order, or an IPv6 prefix
// length as a plain number.
func netmaskValue(prefix int, ipv6 bool) uint32 {
	if ipv6 {
		return uint32(prefix)
	}
	var mask uint32
	if prefix > 0 {
		mask = ^uint32(0) << (32 - min(prefix, 32))
	}
	return native.Uint32(binary.BigEndian.AppendUint32(nil, mask))
}

// netmaskPrefix decodes what netmaskValue encodes.
func netmaskPrefix(v uint32, ipv6 bool) int {
	if ipv6 {
		return int(v)
	}
	return bits.OnesCount32(binary.BigEndian.Uint32(native.AppendUint32(nil, v)))
}

func appendServiceAttrs(b []byte, s *Service, full bool) []byte {
	b, at := beginNest(b, ipvsCmdAttrService)
	ipv6 := s.isIPv6()
	af := uint16(afInet)
	if ipv6 {
		af = afInet6
	}
	b = appendU16(b, ipvsSvcAttrAF, af)
	if s.FWMark != 0 {
		b = appendU32(b, ipvsSvcAttrFWMark, s.FWMark)
	} else {
		b = appendU16(b, ipvsSvcAttrProtocol, protocolNumber(s.Protocol))
		b = appendAttr(b, ipvsSvcAttrAddr, s.Addr.Addr().Unmap().AsSlice())
		b = appendAttr(b, ipvsSvcAttrPort, binary.BigEndian.AppendUint16(nil, s.Addr.Port()))
	}
	if full {
		b = appendAttr(b, ipvsSvcAttrSchedName, append([]byte(s.Scheduler), 0))
		flags := native.AppendUint32(nil, uint32(s.Flags&userFlags))
		flags = native.AppendUint32(flags, ^uint32(0))
		b = appendAttr(b, ipvsSvcAttrFlags, flags)
		b = appendU32(b, ipvsSvcAttrTimeout, s.Timeout)
		b = appendU32(b, ipvsSvcAttrNetmask, netmaskValue(s.Netmask, ipv6))
		b = appendPEName(b, s) // tunnel.go
	}
	return endNest(b, at)
}

func appendDestAttrs(b []byte, d *Destination, full bool) []byte {
	b, at := beginNest(b, ipvsCmdAttrDest)
	b = appendAttr(b, ipvsDestAttrAddr, d.Addr.Addr().Unmap().AsSlice())
	b = appendAttr(b, ipvsDestAttrPort, binary.BigEndian.AppendUint16(nil, d.Addr.Port()))
	if full {
		b = appendU32(b, ipvsDestAttrFwdMethod, uint32(d.Forward))
		b = appendU32(b, ipvsDestAttrWeight, uint32(d.Weight))
		b = appendU32(b, ipvsDestAttrUThresh, d.UpperThreshold)
		b = appendU32(b, ipvsDestAttrLThresh, d.LowerThreshold)
		b = appendTunnelAttrs(b, d) // tunnel.go
	}
	return endNest(b, at)
}

// appendOpMessage appends one complete netlink message carrying op.
func appendOpMessage(b []byte, family uint16, seq uint32, flags uint16, op *Op) ([]byte, error) {
	var cmd uint8
	switch op.Kind {
	case OpAddService:
		cmd = ipvsCmdNewService
	case OpEditService:
		cmd = ipvsCmdSetService
	case OpDeleteService:
		cmd = ipvsCmdDelService
	case OpAddDestination:
		cmd = ipvsCmdNewDest
	case OpEditDestination:
		cmd = ipvsCmdSetDest
	case OpDeleteDestination:
		cmd = ipvsCmdDelDest
	default:
		return b, fmt.Errorf("unknown IPVS operation %d", op.Kind)
	}
	start := len(b)
	b = native.AppendUint32(b, 0) // length, patched below
	b = native.AppendUint16(b, family)
	b = native.AppendUint16(b, flags)
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, 0) // port id: the kernel fills it in
	b = append(b, cmd, ipvsGenlVersion, 0, 0)
	switch op.Kind {
	case OpAddService, OpEditService:
		b = appendServiceAttrs(b, &op.Service, true)
	case OpDeleteService:
		b = appendServiceAttrs(b, &op.Service, false)
	default:
		b = appendServiceAttrs(b, &op.Service, false)
		b = appendDestAttrs(b, &op.Destination, op.Kind != OpDeleteDestination)
	}
	native.PutUint32(b[start:], uint32(len(b)-start))
	return b, nil
}

// ack is the kernel's answer to one request: errno 0 is success.
type ack struct {
	seq   uint32
	errno syscall.Errno
}

var errShortMessage = errors.New("netlink: truncated message")

// parseAcks decodes the NLMSG_ERROR (and NLMSG_DONE) messages in one
// datagram read from a netlink socket. Other message types are skipped.
func parseAcks(b []byte) ([]ack, error) {
	var acks []ack
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return acks, errShortMessage
		}
		n := int(native.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			return acks, errShortMessage
		}
		typ := native.Uint16(b[4:])
		seq := native.Uint32(b[8:])
		switch typ {
		case nlmsgError:
			if n < nlmsgHdrLen+4 {
				return acks, errShortMessage
			}
			code := int32(native.Uint32(b[nlmsgHdrLen:]))
			acks = append(acks, ack{seq: seq, errno: syscall.Errno(-code)})
		case nlmsgDone:
			acks = append(acks, ack{seq: seq})
		}
		b = b[min(align4(n), len(b)):]
	}
	return acks, nil
}

// parseFamilyID finds CTRL_ATTR_FAMILY_ID in a CTRL_CMD_NEWFAMILY answer.
func parseFamilyID(b []byte) (uint16, error) {
	for len(b) >= nlmsgHdrLen {
		n := int(native.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			return 0, errShortMessage
		}
		typ := native.Uint16(b[4:])
		if typ == nlmsgError {
			if n >= nlmsgHdrLen+4 {
				if code := int32(native.Uint32(b[nlmsgHdrLen:])); code != 0 {
					return 0, syscall.Errno(-code)
				}
			}
		} else if typ == genlCtrlID && n >= nlmsgHdrLen+genlHdrLen {
			attrs := b[nlmsgHdrLen+genlHdrLen : n]
			for len(attrs) >= attrHeaderLen {
				l := int(native.Uint16(attrs))
				t := native.Uint16(attrs[2:]) & 0x3fff
				if l < attrHeaderLen || l > len(attrs) {
					return 0, errShortMessage
				}
				if t == genlCtrlAttrFamilyID && l >= attrHeaderLen+2 {
					return native.Uint16(attrs[attrHeaderLen:]), nil
				}
				attrs = attrs[min(align4(l), len(attrs)):]
			}
		}
		b = b[min(align4(n), len(b)):]
	}
	return 0, errors.New("netlink: no family id in answer")
}

// familyRequest builds CTRL_CMD_GETFAMILY for name.
func familyRequest(seq uint32, name string) []byte {
	b := native.AppendUint32(nil, 0)
	b = native.AppendUint16(b, genlCtrlID)
	b = native.AppendUint16(b, nlmFRequest) // the answer is the ack
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, 0)
	b = append(b, genlCtrlCmdGetFamily, 1, 0, 0)
	b = appendAttr(b, genlCtrlAttrFamilyNam, append([]byte(name), 0))
	native.PutUint32(b, uint32(len(b)))
	return b
}

// ifNameMax is the longest interface name the kernel takes
// (IP_VS_IFNAME_MAXLEN 16, NUL included).
const ifNameMax = 15

// appendGenlHeader appends a netlink and generic-netlink header whose
// length appendDaemonMessage patches.
func appendGenlHeader(b []byte, family uint16, seq uint32, flags uint16, cmd uint8) []byte {
	b = native.AppendUint32(b, 0)
	b = native.AppendUint16(b, family)
	b = native.AppendUint16(b, flags)
	b = native.AppendUint32(b, seq)
	b = native.AppendUint32(b, 0)
	return append(b, cmd, ipvsGenlVersion, 0, 0)
}

// daemonMessage builds IPVS_CMD_NEW_DAEMON (every setting of d; the
// optional ones only when set, as keepalived's libipvs does),
// IPVS_CMD_DEL_DAEMON (the state alone is what ip_vs_genl_del_daemon
// reads) or the IPVS_CMD_GET_DAEMON dump request (no attributes).
func daemonMessage(family uint16, seq uint32, cmd uint8, d *SyncDaemon) ([]byte, error) {
	flags := uint16(nlmFRequest | nlmFAck)
	if cmd == ipvsCmdGetDaemon {
		flags = nlmFRequest | nlmFDump
	}
	b := appendGenlHeader(nil, family, seq, flags, cmd)
	if cmd != ipvsCmdGetDaemon {
		b, at := beginNest(b, ipvsCmdAttrDaemon)
		b = appendU32(b, ipvsDaemonAttrState, uint32(d.State))
		if cmd == ipvsCmdNewDaemon {
			if d.Interface == "" || len(d.Interface) > ifNameMax {
				return nil, fmt.Errorf("sync daemon interface %q: want 1 to %d bytes", d.Interface, ifNameMax)
			}
			b = appendAttr(b, ipvsDaemonAttrMcastIfn, append([]byte(d.Interface), 0))
			b = appendU32(b, ipvsDaemonAttrSyncID, uint32(d.SyncID))
			if d.MaxLen != 0 {
				b = appendU16(b, ipvsDaemonAttrSyncMaxlen, d.MaxLen)
			}
			if d.Group.IsValid() {
				if g := d.Group.Unmap(); g.Is4() {
					b = appendAttr(b, ipvsDaemonAttrMcastGroup, g.AsSlice())
				} else {
					b = appendAttr(b, ipvsDaemonAttrMcastGroup6, g.AsSlice())
				}
			}
			if d.Port != 0 {
				b = appendU16(b, ipvsDaemonAttrMcastPort, d.Port)
			}
			if d.TTL != 0 {
				b = appendAttr(b, ipvsDaemonAttrMcastTTL, []byte{d.TTL})
			}
		}
		b = endNest(b, at)
		native.PutUint32(b, uint32(len(b)))
		return b, nil
	}
	native.PutUint32(b, uint32(len(b)))
	return b, nil
}

// walkAttrs calls f for each attribute of a netlink attribute stream
// (type without the nested/byte-order flags).
func walkAttrs(b []byte, f func(typ uint16, payload []byte)) error {
	for len(b) >= attrHeaderLen {
		l := int(native.Uint16(b))
		if l < attrHeaderLen || l > len(b) {
			return errShortMessage
		}
		f(native.Uint16(b[2:])&0x3fff, b[attrHeaderLen:l])
		b = b[min(align4(l), len(b)):]
	}
	return nil
}

// parseDaemon decodes the attributes of one IPVS_CMD_NEW_DAEMON message
// of a GET_DAEMON dump (what ip_vs_genl_fill_daemon writes).
func parseDaemon(genlPayload []byte) (SyncDaemon, bool, error) {
	var d SyncDaemon
	found := false
	err := walkAttrs(genlPayload, func(typ uint16, p []byte) {
		if typ != ipvsCmdAttrDaemon {
			return
		}
		found = true
		_ = walkAttrs(p, func(typ uint16, p []byte) {
			switch {
			case typ == ipvsDaemonAttrState && len(p) >= 4:
				d.State = SyncState(native.Uint32(p))
			case typ == ipvsDaemonAttrMcastIfn:
				d.Interface = string(bytes.TrimRight(p, "\x00"))
			case typ == ipvsDaemonAttrSyncID && len(p) >= 4:
				d.SyncID = uint8(native.Uint32(p))
			case typ == ipvsDaemonAttrSyncMaxlen && len(p) >= 2:
				d.MaxLen = native.Uint16(p)
			case typ == ipvsDaemonAttrMcastGroup && len(p) >= 4:
				d.Group = netip.AddrFrom4([4]byte(p[:4]))
			case typ == ipvsDaemonAttrMcastGroup6 && len(p) >= 16:
				d.Group = netip.AddrFrom16([16]byte(p[:16]))
			case typ == ipvsDaemonAttrMcastPort && len(p) >= 2:
				d.Port = native.Uint16(p)
			case typ == ipvsDaemonAttrMcastTTL && len(p) >= 1:
				d.TTL = p[0]
			}
		})
	})
	return d, found, err
}

// parseDaemonDump decodes one datagram of a GET_DAEMON dump: the daemons
// it carries, whether the dump is over (NLMSG_DONE, or an error), and the
// kernel's error.
func parseDaemonDump(b []byte, family uint16, seq uint32) (daemons []SyncDaemon, done bool, err error) {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return daemons, true, errShortMessage
		}
		n := int(native.Uint32(b))
		if n < nlmsgHdrLen || n > len(b) {
			return daemons, true, errShortMessage
		}
		typ, mseq := native.Uint16(b[4:]), native.Uint32(b[8:])
		if mseq == seq {
			switch {
			case typ == nlmsgDone:
				done = true
			case typ == nlmsgError:
				done = true
				if n >= nlmsgHdrLen+4 {
					if code := int32(native.Uint32(b[nlmsgHdrLen:])); code != 0 {
						err = syscall.Errno(-code)
					}
				}
			case typ == family && n >= nlmsgHdrLen+genlHdrLen:
				d, ok, perr := parseDaemon(b[nlmsgHdrLen+genlHdrLen : n])
				if perr != nil {
					return daemons, true, perr
				}
				if ok {
					daemons = append(daemons, d)
				}
			}
		}
		b = b[min(align4(n), len(b)):]
	}
	return daemons, done, err
}
