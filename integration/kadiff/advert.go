package kadiff

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Advert is what the differential compares of one VRRP advert.
type Advert struct {
	Link     string
	Version  int
	VRID     int
	Priority int
	Interval int // seconds (v2) or centiseconds (v3)
	AuthType int
	Auth     string
	Addrs    string // sorted, space-separated
}

func (a Advert) String() string {
	s := fmt.Sprintf("%s v%d vrid %d prio %d int %d", a.Link, a.Version, a.VRID, a.Priority, a.Interval)
	if a.AuthType != 0 {
		s += fmt.Sprintf(" auth %d %q", a.AuthType, a.Auth)
	}
	return s + " [" + a.Addrs + "]"
}

// ParseAdvert decodes the VRRP part of an Ethernet frame carrying IPv4
// (RFC 3768 §5.1, RFC 5798 §5.1), behind IPsec AH for auth_type AH.
func ParseAdvert(link string, b []byte) (Advert, bool) {
	if len(b) < 14+20 || binary.BigEndian.Uint16(b[12:14]) != 0x0800 {
		return Advert{}, false
	}
	ip := b[14:]
	ihl := int(ip[0]&0x0f) * 4
	proto := ip[9]
	if proto == 51 && len(ip) >= ihl+12 && ip[ihl] == 112 {
		// IPsec AH (RFC 4302 section 2) before the advert: auth_type AH.
		ihl += (int(ip[ihl+1]) + 2) * 4
		proto = 112
	}
	if proto != 112 || len(ip) < ihl+8 {
		return Advert{}, false
	}
	v := ip[ihl:]
	a := Advert{Link: link, Version: int(v[0] >> 4), VRID: int(v[1]), Priority: int(v[2])}
	if ip[9] == 51 {
		a.Auth = "AH"
	}
	count := int(v[3])
	var addrs []string
	if a.Version == 3 {
		a.Interval = int(binary.BigEndian.Uint16(v[4:6]) & 0x0fff)
	} else {
		a.AuthType, a.Interval = int(v[4]), int(v[5])
		if end := 8 + 4*count + 8; a.AuthType != 0 && end <= len(v) {
			a.Auth = strings.TrimRight(string(v[end-8:end]), "\x00")
		}
	}
	for i := 0; i < count && 8+4*i+4 <= len(v); i++ {
		addrs = append(addrs, netip.AddrFrom4([4]byte(v[8+4*i:12+4*i])).String())
	}
	slices.Sort(addrs)
	a.Addrs = strings.Join(addrs, " ")
	return a, true
}
