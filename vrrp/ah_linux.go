package vrrp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// WriteAH sends advert vrrp inside an AH header.
func (c *rawConn) WriteAH(src, dst netip.Addr, seq uint32, key [AuthPasswordLen]byte, unicast bool, vrrp []byte) error {
	if c.ah == nil {
		return errors.New("AH advert on a socket opened without AH")
	}
	h := &ipv4.Header{
		Version:  ipv4.Version,
		Len:      ipv4.HeaderLen,
		TOS:      0xc0, // internetwork control, as keepalived
		TotalLen: ipv4.HeaderLen + ahLen + len(vrrp),
		ID:       c.ah.nextID(),
		TTL:      c.ttl,
		Protocol: 51,
		Src:      net.IP(src.AsSlice()),
		Dst:      net.IP(dst.AsSlice()),
	}
	ip, err := h.Marshal()
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint16(ip[2:4], uint16(h.TotalLen))
	a := SealAH(ip, seq, key, vrrp, unicast)
	return c.rc.WriteTo(h, append(a, vrrp...), nil)
}
