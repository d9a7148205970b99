package vrrp

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
)

// keepalived's auth_type AH: VRRPv2 adverts carried in an IPsec
// Authentication Header (RFC 2402) that keepalived fills without any
// IPsec security association:
//
//   - the IP packet has protocol 51; the AH header (24 bytes) has Next
//     Header 112 (VRRP), Payload Len 4, the sender's IPv4 address as SPI
//     and a sequence number, then the VRRP advert with auth type 2 and
//     zero authentication data;
//   - the ICV is HMAC-MD5-96 (RFC 2403) keyed with the 8 bytes of
//     auth_pass (zero padded), over the IPv4 header with TOS, flags and
//     fragment offset and the checksum zeroed (and the TTL too when the
//     instance is unicast), the AH header with a zero ICV, and the advert
//     (keepalived's vrrp.c, vrrp_in_chk_ipsecah and vrrp_update_pkt);
//   - one sequence number per instance serves both ways: sending adds
//     one; an advert is accepted only with a higher number than the last
//     sent or heard, which it then becomes; a MASTER hearing a lower
//     priority takes that advert's number plus one, so the pair's numbers
//     keep rising across failovers.
//
// The IP Identification is covered by the ICV, so lvsd sets it itself
// (the kernel fills only a zero one).

// ahLen is the AH header keepalived sends: 12 fixed bytes and a 96-bit
// ICV (RFC 2402 §2; Payload Len = 24/4 - 2 = 4).
const ahLen = 24

// AuthAH is VRRPv2's authentication type 2, IP Authentication Header
// (RFC 2338 §5.3.6.3; reserved by RFC 3768, used by keepalived).
const AuthAH AuthType = 2

// The drop reasons of AH (ah.go).
const (
	DropAHAuth DropReason = "ah_auth" // auth_type AH: no AH header, a wrong ICV (auth_pass) or an SPI that is not the sender
	DropAHSeq  DropReason = "ah_seq"  // auth_type AH: a sequence number not above the last sent or heard (replay)
)

// AHHeader is the AH header an advert came in.
type AHHeader struct {
	Reserved uint16 // covered by the ICV as received
	SPI      uint32
	Seq      uint32
	ICV      [12]byte
	// ip is the IPv4 header as received; the ICV covers it.
	ip []byte
}

// ahICV computes the ICV of an AH advert: ip is the IPv4 header as sent
// or received, ah the AH header (its ICV is taken as zero), vrrp the
// advert.
func ahICV(key [AuthPasswordLen]byte, ip, ah, vrrp []byte, unicast bool) [12]byte {
	h := append([]byte(nil), ip...)
	h[1] = 0                   // TOS
	h[6], h[7] = 0, 0          // flags, fragment offset
	h[10], h[11] = 0, 0        // header checksum
	if unicast && len(h) > 8 { // keepalived zeroes the TTL of unicast adverts only
		h[8] = 0
	}
	a := append([]byte(nil), ah[:ahLen]...)
	clear(a[12:ahLen])
	m := hmac.New(md5.New, key[:])
	m.Write(h)
	m.Write(a)
	m.Write(vrrp)
	var icv [12]byte
	copy(icv[:], m.Sum(nil))
	return icv
}

// ParseAH splits an AH packet's payload (what follows the IPv4 header ip)
// into its header and the VRRP advert inside. It refuses what keepalived
// drops before the ICV: a header too short, not 24 bytes long or
// carrying something else than VRRP.
func ParseAH(ip, b []byte) (AHHeader, []byte, error) {
	if len(ip) < ipv4.HeaderLen {
		return AHHeader{}, nil, errors.New("AH: IPv4 header too short")
	}
	if len(b) < ahLen {
		return AHHeader{}, nil, fmt.Errorf("AH: %d bytes, want at least %d", len(b), ahLen)
	}
	if b[0] != IPProtocol {
		return AHHeader{}, nil, fmt.Errorf("AH: next header %d is not VRRP", b[0])
	}
	if int(b[1]+2)*4 != ahLen {
		return AHHeader{}, nil, fmt.Errorf("AH: payload length %d, want %d (HMAC-MD5-96)", b[1], ahLen/4-2)
	}
	h := AHHeader{Reserved: binary.BigEndian.Uint16(b[2:4]), SPI: binary.BigEndian.Uint32(b[4:8]), Seq: binary.BigEndian.Uint32(b[8:12]),
		ip: append([]byte(nil), ip...)}
	copy(h.ICV[:], b[12:ahLen])
	return h, b[ahLen:], nil
}

// SealAH returns the AH header of advert vrrp sent in the IPv4 header ip
// (whose protocol is 51 and total length counts the AH header): SPI the
// source address, seq, and the ICV keyed with key.
func SealAH(ip []byte, seq uint32, key [AuthPasswordLen]byte, vrrp []byte, unicast bool) []byte {
	a := make([]byte, ahLen)
	a[0] = IPProtocol
	a[1] = ahLen/4 - 2
	copy(a[4:8], ip[12:16]) // SPI: the sender's address, as keepalived
	binary.BigEndian.PutUint32(a[8:12], seq)
	icv := ahICV(key, ip, a, vrrp, unicast)
	copy(a[12:], icv[:])
	return a
}

// OpenAH verifies an AH advert: its ICV with key, and its SPI against the
// sender. The sequence number is the caller's (ahCheck).
func OpenAH(h AHHeader, key [AuthPasswordLen]byte, vrrp []byte, unicast bool) bool {
	if len(h.ip) < ipv4.HeaderLen {
		return false
	}
	a := make([]byte, ahLen)
	a[0] = IPProtocol
	a[1] = ahLen/4 - 2
	binary.BigEndian.PutUint16(a[2:4], h.Reserved)
	binary.BigEndian.PutUint32(a[4:8], h.SPI)
	binary.BigEndian.PutUint32(a[8:12], h.Seq)
	want := ahICV(key, h.ip, a, vrrp, unicast)
	if !hmac.Equal(want[:], h.ICV[:]) {
		return false
	}
	return binary.BigEndian.Uint32(h.ip[12:16]) == h.SPI
}

// ahState is the per-socket part of AH: the IP Identification of what it
// sends (the ICV covers it, so it must not be left to the kernel).
type ahState struct {
	mu sync.Mutex
	id uint16
}

func (s *ahState) nextID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id++
	if s.id == 0 {
		s.id = 1
	}
	return int(s.id)
}

// split turns a received AH packet into the advert inside it, with r.AH
// set; false drops what is not an AH-wrapped advert.
func (s *ahState) split(r *Received, h *ipv4.Header) bool {
	ip, err := h.Marshal()
	if err != nil {
		return false
	}
	// Marshal writes what it parsed; the ICV covers the header as sent.
	binary.BigEndian.PutUint16(ip[2:4], uint16(h.TotalLen))
	binary.BigEndian.PutUint16(ip[6:8], uint16(h.FragOff)|uint16(h.Flags)<<13)
	ah, vrrp, err := ParseAH(ip, r.Payload)
	if err != nil {
		return false
	}
	r.AH, r.Payload = &ah, vrrp
	return true
}

// ahWriter is an advert socket that sends AH adverts (rawConn with AH).
type ahWriter interface {
	WriteAH(src, dst netip.Addr, seq uint32, key [AuthPasswordLen]byte, unicast bool, vrrp []byte) error
}

// ahCheck runs AH's checks on an advert for an AH instance before the
// VRRP ones: the ICV and SPI, then the sequence number, which it then
// keeps (keepalived's vrrp_in_chk_ipsecah).
func (in *instance) ahCheck(r Received) DropReason {
	if in.cfg.AuthType != "AH" {
		return DropNone
	}
	unicast := len(in.cfg.UnicastPeers) > 0
	if r.AH == nil || !OpenAH(*r.AH, PasswordOf(in.cfg.AuthPass), r.Payload, unicast) {
		return DropAHAuth
	}
	if r.AH.Seq <= in.ahSeq {
		return DropAHSeq
	}
	in.ahSeq = r.AH.Seq
	return DropNone
}

// ahHeard follows keepalived when a MASTER hears a lower priority: its
// next advert takes that advert's sequence number plus one, so the other
// node accepts it.
func (in *instance) ahHeard(r Received, a Advert) {
	if r.AH == nil || in.m == nil || in.m.State() != StateMaster || int(a.Priority) >= in.m.Priority() {
		return
	}
	in.ahSeq = r.AH.Seq + 1
}

// write sends an advert to dst: inside AH for auth_type AH, with the
// next sequence number.
func (in *instance) write(dst netip.Addr, b []byte) error {
	if in.cfg.AuthType != "AH" {
		return in.conn.conn.Write(in.src, dst, b)
	}
	w, ok := in.conn.conn.(ahWriter)
	if !ok {
		return fmt.Errorf("%T sends no AH adverts", in.conn.conn)
	}
	if in.ahSeq < 0xFFFFFFFD {
		in.ahSeq++
	}
	return w.WriteAH(in.src, dst, in.ahSeq, PasswordOf(in.cfg.AuthPass), len(in.cfg.UnicastPeers) > 0, b)
}
