package lvs

import (
	"encoding/binary"
	"fmt"

	"github.com/lvsd/lvsd/hcl"
)

// Tunnel is the encapsulation of a tunnel destination (ipvsadm -i
// --tun-type, --tun-port, --tun-nocsum/--tun-csum/--tun-remcsum), with
// the values of linux/ip_vs.h: IPVS_DEST_ATTR_TUN_TYPE, TUN_PORT,
// TUN_FLAGS (Linux 5.2 for gue, 5.3 for gre and the flags). The zero
// value is IPIP without flags, the kernel's default.
type Tunnel struct {
	Type  TunnelType
	Port  uint16 // GUE's UDP destination port
	Flags uint16 // TunnelFlagCsum, TunnelFlagRemCsum
}

// TunnelType is IP_VS_CONN_F_TUNNEL_TYPE_*.
type TunnelType uint8

// Tunnel types and flags (linux/ip_vs.h).
const (
	TunnelIPIP TunnelType = 0
	TunnelGUE  TunnelType = 1
	TunnelGRE  TunnelType = 2

	TunnelFlagCsum    uint16 = 1 << 0 // IP_VS_TUNNEL_ENCAP_FLAG_CSUM
	TunnelFlagRemCsum uint16 = 1 << 1 // IP_VS_TUNNEL_ENCAP_FLAG_REMCSUM
)

// IPVS attributes of tunnels and persistence engines (linux/ip_vs.h).
const (
	ipvsSvcAttrPEName    = 11 // NUL-terminated string, IP_VS_PENAME_MAXLEN 16
	ipvsDestAttrTunType  = 13 // u8
	ipvsDestAttrTunPort  = 14 // be16
	ipvsDestAttrTunFlags = 15 // u16
)

// String spells t as ipvsadm -Ln does after "Tunnel": "", "gue 6080
// csum", "gre".
func (t Tunnel) String() string {
	if t == (Tunnel{}) {
		return ""
	}
	s := map[TunnelType]string{TunnelIPIP: "ipip", TunnelGUE: "gue", TunnelGRE: "gre"}[t.Type]
	if s == "" {
		s = fmt.Sprintf("type%d", t.Type)
	}
	if t.Type == TunnelGUE {
		s += fmt.Sprintf(" port %d", t.Port)
	}
	switch {
	case t.Flags&TunnelFlagRemCsum != 0:
		s += " remcsum"
	case t.Flags&TunnelFlagCsum != 0:
		s += " csum"
	}
	return s
}

// tunnelOf is the kernel's form of a configured tunnel.
func tunnelOf(t hcl.Tunnel) Tunnel {
	var k Tunnel
	switch t.Type {
	case hcl.TunnelGUE:
		k.Type, k.Port = TunnelGUE, t.Port
	case hcl.TunnelGRE:
		k.Type = TunnelGRE
	}
	switch t.Checksum {
	case hcl.TunnelCsum:
		k.Flags = TunnelFlagCsum
	case hcl.TunnelRemCsum:
		k.Flags = TunnelFlagRemCsum
	}
	return k
}

// appendTunnelAttrs appends a tunnel destination's settings. Nothing is
// sent for an IPIP tunnel without flags (or another method), so a kernel
// older than 5.2 sees the request it always saw.
func appendTunnelAttrs(b []byte, d *Destination) []byte {
	if d.Forward != ForwardTunnel || d.Tunnel == (Tunnel{}) {
		return b
	}
	b = appendAttr(b, ipvsDestAttrTunType, []byte{byte(d.Tunnel.Type)})
	b = appendAttr(b, ipvsDestAttrTunPort, binary.BigEndian.AppendUint16(nil, d.Tunnel.Port))
	return appendU16(b, ipvsDestAttrTunFlags, d.Tunnel.Flags)
}

// appendPEName appends a service's persistence engine, when it has one.
func appendPEName(b []byte, s *Service) []byte {
	if s.PEName == "" {
		return b
	}
	return appendAttr(b, ipvsSvcAttrPEName, append([]byte(s.PEName), 0))
}

// readServiceExtra reads the service attributes of a GET_SERVICE answer
// that only tunnels and persistence engines use; the table read calls it
// for every attribute it does not know itself.
func readServiceExtra(s *Service, typ uint16, p []byte) {
	if typ == ipvsSvcAttrPEName {
		s.PEName = cString(p)
	}
}

// readDestExtra reads a GET_DEST answer's tunnel attributes.
func readDestExtra(d *Destination, typ uint16, p []byte) {
	switch {
	case typ == ipvsDestAttrTunType && len(p) >= 1:
		d.Tunnel.Type = TunnelType(p[0])
	case typ == ipvsDestAttrTunPort && len(p) >= 2:
		d.Tunnel.Port = binary.BigEndian.Uint16(p)
	case typ == ipvsDestAttrTunFlags && len(p) >= 2:
		d.Tunnel.Flags = native.Uint16(p)
	}
}

func cString(p []byte) string {
	for i, c := range p {
		if c == 0 {
			return string(p[:i])
		}
	}
	return string(p)
}
