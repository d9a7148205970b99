package vrrp

import (
	"encoding/binary"

	"fmt"
	"net/netip"
	"time"
)

// Protocol numbers and addresses of VRRPv2 (RFC 3768 §5.1, §5.2).
const (
	// IPProtocol is the IP protocol number of VRRP (RFC 3768 §5.2.4).
	IPProtocol = 112
	// TTL is the only IP TTL a VRRP packet may carry (RFC 3768 §5.2.3).
	TTL = 255
	// Version is the VRRP version lvsd speaks (RFC 3768 §5.3.1).
	Version = 2
	// TypeAdvertisement is the only VRRPv2 packet type (RFC 3768 §5.3.2).
	TypeAdvertisement = 1
	// AuthPasswordLen is the size of the authentication data (RFC 3768 §5.3.10).
	AuthPasswordLen = 8
	headerLen       = 8
	// MaxAddresses is the most addresses one advertisement can carry.
	MaxAddresses = 255
)

// MulticastGroup is the VRRP IPv4 multicast address (RFC 3768 §5.2.2).
var MulticastGroup = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// AuthType is the authentication type of an advertisement (RFC 3768 §5.3.6).
type AuthType uint8

// Authentication types. Type 2 (IP AH) is reserved and refused.
const (
	AuthNone     AuthType = 0
	AuthPassword AuthType = 1
)

// Advert is one VRRPv2 advertisement (RFC 3768 §5.3).
type Advert struct {
	VRID      uint8
	Priority  uint8
	AuthType  AuthType
	AdvertInt uint8 // seconds (RFC 3768 §5.3.7)
	Addresses []netip.Addr
	// Password is the authentication data: the simple text password for
	// AuthPassword, zero padded; zero for AuthNone.
	Password [AuthPasswordLen]byte
}

// Marshal encodes a as it goes on the wire, checksum included.
func (a *Advert) Marshal() ([]byte, error) {
	if len(a.Addresses) > MaxAddresses {
		return nil, fmt.Errorf("vrrp: %d addresses in one advertisement, at most %d", len(a.Addresses), MaxAddresses)
	}
	b := make([]byte, headerLen+4*len(a.Addresses)+AuthPasswordLen)
	b[0] = Version<<4 | TypeAdvertisement
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addresses))
	b[4] = uint8(a.AuthType)
	b[5] = a.AdvertInt
	off := headerLen
	for _, addr := range a.Addresses {
		if !addr.Is4() {
			return nil, fmt.Errorf("vrrp: address %s is not IPv4", addr)
		}
		a4 := addr.As4()
		copy(b[off:], a4[:])
		off += 4
	}
	copy(b[off:], a.Password[:])
	binary.BigEndian.PutUint16(b[6:], checksum(b))
	return b, nil
}

// checksum is the 16-bit one's complement of the one's complement sum of
// the whole VRRP message, checksum field taken as zero (RFC 3768 §5.3.8).
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		if i == 6 {
			continue
		}
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// DropReason names why a received packet was discarded. The zero value
// means the packet was accepted. Each reason is a counter label and a value
// tests compare against (MetalLB's dropReason habit).
type DropReason string

// Reasons a packet is dropped, in the order Check tests them; each mirrors
// a check keepalived makes (vrrp.c, vrrp_check_packet) and RFC 3768 §7.1.
const (
	DropNone        DropReason = ""
	DropTTL         DropReason = "ttl"          // IP TTL not 255 (RFC 3768 §7.1)
	DropLength      DropReason = "length"       // shorter or longer than its address count says
	DropVersion     DropReason = "version"      // not VRRP version 2
	DropType        DropReason = "type"         // not an ADVERTISEMENT
	DropChecksum    DropReason = "checksum"     // VRRP checksum wrong
	DropVRID        DropReason = "vrid"         // not our virtual router
	DropAuthType    DropReason = "auth_type"    // authentication type differs from ours
	DropAuthPass    DropReason = "auth_pass"    // password differs from ours
	DropAdvertInt   DropReason = "advert_int"   // advertisement interval differs from ours
	DropUnknownPeer DropReason = "unknown_peer" // unicast: the sender is not a unicast_peer
	DropOwnAdvert   DropReason = "own_advert"   // our own packet looped back
)

// DropReasons lists every reason, for counters that want all labels.
func DropReasons() []DropReason {
	return []DropReason{DropTTL, DropLength, DropVersion, DropType, DropChecksum, DropVRID,
		DropAuthType, DropAuthPass, DropAdvertInt, DropUnknownPeer, DropOwnAdvert}
}

// Decode parses the VRRP part of a packet and checks what can be checked
// without knowing the instance: exact length, version, type and checksum.
func Decode(b []byte) (Advert, DropReason) {
	if len(b) < headerLen+AuthPasswordLen {
		return Advert{}, DropLength
	}
	count := int(b[3])
	if len(b) != headerLen+4*count+AuthPasswordLen {
		return Advert{}, DropLength
	}
	if b[0]>>4 != Version {
		return Advert{}, DropVersion
	}
	if b[0]&0x0f != TypeAdvertisement {
		return Advert{}, DropType
	}
	if binary.BigEndian.Uint16(b[6:]) != checksum(b) {
		return Advert{}, DropChecksum
	}
	a := Advert{
		VRID:      b[1],
		Priority:  b[2],
		AuthType:  AuthType(b[4]),
		AdvertInt: b[5],
		Addresses: make([]netip.Addr, count),
	}
	off := headerLen
	for i := range a.Addresses {
		a.Addresses[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
		off += 4
	}
	copy(a.Password[:], b[off:])
	return a, DropNone
}

// Received is one packet as read from the socket: the IP header fields that
// matter and the VRRP payload.
type Received struct {
	Src, Dst netip.Addr
	TTL      int
	Payload  []byte
	At       time.Time
}

// Expect is what an instance accepts (its configuration, RFC 3768 §7.1).
type Expect struct {
	VRID      uint8
	AuthType  AuthType
	Password  [AuthPasswordLen]byte
	AdvertInt uint8 // seconds
	// Addresses are the instance's own virtual IPv4 addresses; a different
	// list in an advert is logged, not dropped (keepalived >= 2.3.3).
	Addresses []netip.Addr
	// Peers, when not empty, are the only accepted senders (unicast mode).
	Peers []netip.Addr
	// Self is our own source address: packets from it are ignored.
	Self netip.Addr
}

// Verdict is the outcome of Check.
type Verdict struct {
	Advert Advert
	Drop   DropReason
	// AddressMismatch is set when an accepted advert lists other addresses
	// than ours (logged, not dropped, like keepalived >= 2.3.3).
	AddressMismatch bool
}

// Check decodes r and validates it against e the way keepalived does
// (vrrp_check_packet): TTL, length, version, type, checksum, VRID,
// authentication, advertisement interval, and the address list.
func (e *Expect) Check(r Received) Verdict {
	if e.Self.IsValid() && r.Src == e.Self {
		return Verdict{Drop: DropOwnAdvert}
	}
	if r.TTL != TTL {
		return Verdict{Drop: DropTTL}
	}
	a, drop := Decode(r.Payload)
	if drop != DropNone {
		return Verdict{Drop: drop}
	}
	v := Verdict{Advert: a}
	switch {
	case a.VRID != e.VRID:
		v.Drop = DropVRID
	case a.AuthType != e.AuthType:
		v.Drop = DropAuthType
	case e.AuthType == AuthPassword && a.Password != e.Password:
		v.Drop = DropAuthPass
	case a.AdvertInt != e.AdvertInt:
		v.Drop = DropAdvertInt
	case len(e.Peers) > 0 && !contains(e.Peers, r.Src):
		v.Drop = DropUnknownPeer
	}
	if v.Drop == DropNone {
		v.AddressMismatch = !sameAddresses(a.Addresses, e.Addresses)
	}
	return v
}

// PasswordOf pads a configured auth_pass to the wire's 8 bytes (RFC 3768
// §5.3.10); longer passwords are cut like keepalived does.
func PasswordOf(pass string) [AuthPasswordLen]byte {
	var p [AuthPasswordLen]byte
	copy(p[:], pass)
	return p
}

func contains(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// sameAddresses compares two address lists as sets.
func sameAddresses(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	return true
}
