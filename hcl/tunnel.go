package hcl

import (
	"fmt"
	"strconv"
	"strings"
)

// Tunnel types of lb_kind TUN (linux/ip_vs.h IP_VS_CONN_F_TUNNEL_TYPE_*).
const (
	TunnelIPIP = "ipip"
	TunnelGUE  = "gue"
	TunnelGRE  = "gre"
)

// Checksum settings of a GUE or GRE tunnel (IP_VS_TUNNEL_ENCAP_FLAG_*).
const (
	TunnelNoCsum  = "nocsum"
	TunnelCsum    = "csum"
	TunnelRemCsum = "remcsum" // GUE only
)

// Tunnel is the encapsulation of a TUN destination, keepalived's
// `lb_kind TUN type ipip|gue port N|gre [nocsum|csum|remcsum]`
// (keepalived.conf(5), IPVS since Linux 5.2 for gue, 5.3 for gre and
// the checksum flags). The zero value is IPIP, the kernel's default.
type Tunnel struct {
	Type string // "" or TunnelIPIP, TunnelGUE, TunnelGRE
	Port uint16 // GUE's UDP destination port (required for gue)
	// Checksum is "" (the kernel's default: none), TunnelNoCsum,
	// TunnelCsum or TunnelRemCsum; GUE and GRE only.
	Checksum string
}

// String spells t the way keepalived.conf writes it after TUN.
func (t Tunnel) String() string {
	if t.Type == "" || t.Type == TunnelIPIP && t.Checksum == "" {
		return ""
	}
	s := "type " + t.Type
	if t.Type == TunnelGUE {
		s += " port " + strconv.Itoa(int(t.Port))
	}
	if t.Checksum != "" {
		s += " " + t.Checksum
	}
	return s
}

// ParseTunnel reads the words after TUN: "type gue port 6080 csum".
// No words is IPIP.
func ParseTunnel(words []string) (Tunnel, error) {
	var t Tunnel
	if len(words) == 0 {
		return t, nil
	}
	if words[0] != "type" || len(words) < 2 {
		return t, fmt.Errorf("after TUN want type ipip|gue port N|gre [nocsum|csum|remcsum], got %q", strings.Join(words, " "))
	}
	t.Type = words[1]
	rest := words[2:]
	switch t.Type {
	case TunnelIPIP:
	case TunnelGUE:
		if len(rest) < 2 || rest[0] != "port" {
			return t, fmt.Errorf("type gue needs port N")
		}
		p, err := strconv.ParseUint(rest[1], 10, 16)
		if err != nil || p == 0 {
			return t, fmt.Errorf("invalid gue port %q: want 1-65535", rest[1])
		}
		t.Port = uint16(p)
		rest = rest[2:]
	case TunnelGRE:
	default:
		return t, fmt.Errorf("unknown tunnel type %q: want ipip, gue or gre", t.Type)
	}
	if len(rest) > 0 {
		t.Checksum = rest[0]
		rest = rest[1:]
	}
	if len(rest) > 0 {
		return t, fmt.Errorf("unexpected %q after the tunnel settings", strings.Join(rest, " "))
	}
	return t, t.validate()
}

// validate checks the combinations the kernel accepts
// (ip_vs_ctl.c, ip_vs_xmit.c): checksums only on GUE and GRE, remcsum
// only on GUE, a port only on GUE and required there.
func (t Tunnel) validate() error {
	switch t.Type {
	case "", TunnelIPIP:
		if t.Port != 0 {
			return fmt.Errorf("a tunnel port applies to type gue only")
		}
		if t.Checksum != "" {
			return fmt.Errorf("%s applies to type gue or gre only", t.Checksum)
		}
	case TunnelGUE:
		if t.Port == 0 {
			return fmt.Errorf("type gue needs a port")
		}
	case TunnelGRE:
		if t.Port != 0 {
			return fmt.Errorf("a tunnel port applies to type gue only")
		}
		if t.Checksum == TunnelRemCsum {
			return fmt.Errorf("remcsum applies to type gue only")
		}
	default:
		return fmt.Errorf("unknown tunnel type %q: want ipip, gue or gre", t.Type)
	}
	switch t.Checksum {
	case "", TunnelNoCsum, TunnelCsum, TunnelRemCsum:
		return nil
	}
	return fmt.Errorf("unknown tunnel checksum %q: want nocsum, csum or remcsum", t.Checksum)
}

// lvsOptions reads the HCL spellings of a virtual server's tunnel,
// persistence engine and sorry_server_inhibit: lb_kind and
// sorry_server_lvs_method take keepalived's words after TUN
// (lb_kind = "TUN type gue port 6080 csum").
func (d *decoder) lvsOptions(bl *block, vs *VirtualServer) {
	kind, tunnel, ok := splitKind(vs.LBKind)
	if !ok {
		d.diags.errorf(bl.pos.Where("lb_kind", Pos{}), "invalid lb_kind", "%q: want NAT, DR or TUN [type ipip|gue port N|gre [nocsum|csum|remcsum]]", vs.LBKind)
	} else if err := tunnelOf(kind, tunnel, &vs.Tunnel); err != nil {
		d.diags.errorf(bl.pos.Where("lb_kind", Pos{}), "invalid lb_kind", "%v", err)
	}
	vs.LBKind = kind
	if ss := vs.SorryServer; ss != nil && ss.LBKind != "" {
		kind, tunnel, ok := splitKind(ss.LBKind)
		if !ok {
			d.diags.errorf(bl.pos.Where("sorry_server_lvs_method", Pos{}), "invalid sorry_server_lvs_method", "%q: want NAT, DR or TUN [type ...]", ss.LBKind)
		} else if err := tunnelOf(kind, tunnel, &ss.Tunnel); err != nil {
			d.diags.errorf(bl.pos.Where("sorry_server_lvs_method", Pos{}), "invalid sorry_server_lvs_method", "%v", err)
		}
		ss.LBKind = kind
	}
	if vs.LBKind == "FULLNAT" {
		vs.LBKind = KindFNAT
	}
	bl.str("persistence_engine", &vs.PersistenceEngine)
	bl.str("laddr_group_name", &vs.LocalAddressGroup)
	var inhibit bool
	if bl.boolean("sorry_server_inhibit", &inhibit) {
		if vs.SorryServer == nil {
			d.diags.errorf(bl.pos.Where("sorry_server_inhibit", Pos{}), "sorry_server_inhibit without sorry_server", "virtual_server %q", vs.Name)
		} else {
			vs.SorryServer.Inhibit = inhibit
		}
	}
}

// realServerKind reads a real server's lvs_method (keepalived's per real
// server forwarding method, with TUN's settings); without one it is the
// service's.
func (d *decoder) realServerKind(bl *block, vs *VirtualServer, rs *RealServer) {
	rs.LBKind, rs.Tunnel = vs.LBKind, vs.Tunnel
	var m string
	if !bl.str("lvs_method", &m) {
		return
	}
	kind, words, ok := splitKind(m)
	if !ok {
		d.diags.errorf(bl.pos.Where("lvs_method", Pos{}), "invalid lvs_method", "%q: want NAT, DR or TUN [type ...]", m)
		return
	}
	rs.LBKind, rs.Tunnel = kind, Tunnel{}
	if err := tunnelOf(kind, words, &rs.Tunnel); err != nil {
		d.diags.errorf(bl.pos.Where("lvs_method", Pos{}), "invalid lvs_method", "%v", err)
	}
}

// splitKind splits "TUN type gue port 6080" into the kind (upper case)
// and the tunnel words (lower case).
func splitKind(s string) (string, []string, bool) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return s, nil, true
	}
	kind := strings.ToUpper(f[0])
	words := make([]string, 0, len(f)-1)
	for _, w := range f[1:] {
		words = append(words, strings.ToLower(w))
	}
	return kind, words, len(words) == 0 || kind == KindTUN
}

func tunnelOf(kind string, words []string, dst *Tunnel) error {
	if kind != KindTUN || len(words) == 0 {
		return nil
	}
	t, err := ParseTunnel(words)
	if err != nil {
		return err
	}
	*dst = t
	return nil
}

// KindString is a forwarding method as keepalived.conf and HCL write it:
// "TUN type gue port 6080 csum" for a tunnel with settings.
func KindString(kind string, t Tunnel) string {
	if kind == KindTUN && t.String() != "" {
		return kind + " " + t.String()
	}
	return kind
}
