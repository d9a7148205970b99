package vrrp

import (
	"encoding/binary"

	"fmt"
	"net/netip"
	"time"
)

// Protocol numbers and addresses of VRRPv2 (RFC 3768 §5) and VRRPv3
// (RFC 5798 §5).
const (
	// IPProtocol is the IP protocol number of VRRP (RFC 3768 §5.2.4,
	// RFC 5798 §5.1.1.3 and §5.1.2.3 for IPv6's Next Header).
	IPProtocol = 112
	// TTL is the only IP TTL (IPv6 Hop Limit) a VRRP packet may carry
	// (RFC 3768 §5.2.3, RFC 5798 §5.1.1.3, §5.1.2.3).
	TTL = 255
	// Version2 is VRRPv2 (RFC 3768 §5.3.1): IPv4, interval in seconds,
	// authentication data.
	Version2 = 2
	// Version3 is VRRPv3 (RFC 5798 §5.2.1): IPv4 or IPv6, interval in
	// centiseconds, no authentication, checksum over a pseudo-header.
	Version3 = 3
	// TypeAdvertisement is the only VRRP packet type (RFC 3768 §5.3.2,
	// RFC 5798 §5.2.2).
	TypeAdvertisement = 1
	// AuthPasswordLen is the size of the authentication data (RFC 3768 §5.3.10).
	AuthPasswordLen = 8
	headerLen       = 8
	// MaxAddresses is the most addresses one advertisement can carry.
	MaxAddresses = 255
	// MaxAdvertIntV3 is the largest VRRPv3 Max Advertise Interval: 12
	// bits of centiseconds (RFC 5798 §5.2.7), 40.95 s.
	MaxAdvertIntV3 = 4095
)

// MulticastGroup is the VRRP IPv4 multicast address (RFC 3768 §5.2.2,
// RFC 5798 §5.1.1.2).
var MulticastGroup = netip.AddrFrom4([4]byte{224, 0, 0, 18})

// MulticastGroup6 is the VRRP IPv6 multicast address (RFC 5798 §5.1.2.2).
var MulticastGroup6 = netip.MustParseAddr("ff02::12")

// AuthType is the authentication type of an advertisement (RFC 3768 §5.3.6).
type AuthType uint8

// Authentication types. Type 2 (IP AH) is reserved and refused.
const (
	AuthNone     AuthType = 0
	AuthPassword AuthType = 1
)

// Advert is one VRRP advertisement: VRRPv2 (RFC 3768 §5.3) or VRRPv3
// (RFC 5798 §5.2).
type Advert struct {
	// Version is Version2 or Version3; zero is read as Version2.
	Version  uint8
	VRID     uint8
	Priority uint8
	AuthType AuthType // VRRPv2 only
	// AdvertInt is VRRPv2's Adver Int in seconds (RFC 3768 §5.3.7).
	AdvertInt uint8
	// MaxAdvertInt is VRRPv3's Max Adver Int in centiseconds, 12 bits
	// (RFC 5798 §5.2.7).
	MaxAdvertInt uint16
	// Addresses are IPv4 addresses (VRRPv2, VRRPv3 over IPv4) or IPv6
	// addresses (VRRPv3 over IPv6), never both (RFC 5798 §5.2.9).
	Addresses []netip.Addr
	// Password is the authentication data: the simple text password for
	// AuthPassword, zero padded; zero for AuthNone. VRRPv3 has none.
	Password [AuthPasswordLen]byte
}

// IPHeader holds the addresses of the IP packet that carries an advert:
// a VRRPv3 checksum covers them in a pseudo-header (RFC 5798 §5.2.8), and
// their family says how long a VRRPv3 address is. VRRPv2 ignores them.
type IPHeader struct {
	Src, Dst netip.Addr
}

// PseudoHeader returns the IPHeader whose pseudo-header a VRRPv3 advert
// from src to dst carries in its checksum, following keepalived's two
// knobs for IPv4 peers that differ: v3_checksum_as_v2 checksums the VRRP
// message alone (the zero IPHeader), old_unicast_checksum puts the
// multicast group in place of a unicast destination (keepalived before
// 1.3.6, issue #642).
func PseudoHeader(src, dst netip.Addr, asV2, oldUnicast bool) IPHeader {
	switch {
	case src.Is4() && asV2:
		return IPHeader{}
	case src.Is4() && oldUnicast:
		return IPHeader{Src: src, Dst: MulticastGroup}
	}
	return IPHeader{Src: src, Dst: dst}
}

func (a *Advert) version() uint8 {
	if a.Version == 0 {
		return Version2
	}
	return a.Version
}

// Marshal encodes a as it goes on the wire, checksum included. A VRRPv3
// checksum covers the pseudo-header of ip (RFC 5798 §5.2.8); the zero
// IPHeader leaves it out (keepalived's v3_checksum_as_v2) and encodes IPv4
// addresses. VRRPv2 ignores ip.
func (a *Advert) Marshal(ip IPHeader) ([]byte, error) {
	if len(a.Addresses) > MaxAddresses {
		return nil, fmt.Errorf("vrrp: %d addresses in one advertisement, at most %d", len(a.Addresses), MaxAddresses)
	}
	v := a.version()
	switch v {
	case Version2:
		return a.marshalV2()
	case Version3:
		return a.marshalV3(ip)
	}
	return nil, fmt.Errorf("vrrp: version %d", v)
}

func (a *Advert) marshalV2() ([]byte, error) {
	b := make([]byte, headerLen+4*len(a.Addresses)+AuthPasswordLen)
	b[0] = Version2<<4 | TypeAdvertisement
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

func (a *Advert) marshalV3(ip IPHeader) ([]byte, error) {
	if a.MaxAdvertInt > MaxAdvertIntV3 {
		return nil, fmt.Errorf("vrrp: max advert interval %d cs, at most %d", a.MaxAdvertInt, MaxAdvertIntV3)
	}
	six := ip.Src.Is6()
	size := 4
	if six {
		size = 16
	}
	b := make([]byte, headerLen+size*len(a.Addresses))
	b[0] = Version3<<4 | TypeAdvertisement
	b[1] = a.VRID
	b[2] = a.Priority
	b[3] = uint8(len(a.Addresses))
	// RFC 5798 §5.2.6: the 4 reserved bits are zero.
	binary.BigEndian.PutUint16(b[4:], a.MaxAdvertInt)
	off := headerLen
	for _, addr := range a.Addresses {
		if addr.Is6() != six {
			return nil, fmt.Errorf("vrrp: address %s is not of the family of %s", addr, ip.Src)
		}
		copy(b[off:], addr.AsSlice())
		off += size
	}
	binary.BigEndian.PutUint16(b[6:], checksumV3(b, ip))
	return b, nil
}

// checksum is the 16-bit one's complement of the one's complement sum of
// the whole VRRP message, checksum field taken as zero (RFC 3768 §5.3.8).
func checksum(b []byte) uint16 {
	return ^fold(sum16(0, b, true))
}

// checksumV3 adds the IPv4 or IPv6 pseudo-header of ip to checksum's sum
// (RFC 5798 §5.2.8, RFC 8200 §8.1 for IPv6): source, destination, the
// upper-layer length and the protocol, 112. The zero IPHeader adds none.
func checksumV3(b []byte, ip IPHeader) uint16 {
	var s uint32
	if ip.Src.IsValid() && ip.Dst.IsValid() {
		s = sum16(s, ip.Src.AsSlice(), false)
		s = sum16(s, ip.Dst.AsSlice(), false)
		s += uint32(len(b)) >> 16
		s += uint32(len(b)) & 0xffff
		s += IPProtocol
	}
	return ^fold(sum16(s, b, true))
}

// sum16 adds b to s as big-endian 16-bit words; skipChecksum leaves out
// bytes 6 and 7, the VRRP checksum field.
func sum16(s uint32, b []byte, skipChecksum bool) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		if skipChecksum && i == 6 {
			continue
		}
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

// DropReason names why a received packet was discarded. The zero value
// means the packet was accepted. Each reason is a counter label and a value
// tests compare against (MetalLB's dropReason habit).
type DropReason string

// Reasons a packet is dropped, in the order Check tests them; each mirrors
// a check keepalived makes (vrrp.c, vrrp_check_packet), RFC 3768 §7.1 and
// RFC 5798 §7.1. VRRPv2 and VRRPv3 share them.
const (
	DropNone        DropReason = ""
	DropTTL         DropReason = "ttl"          // multicast: IP TTL or IPv6 Hop Limit not 255 (RFC 3768 §7.1, RFC 5798 §7.1)
	DropLength      DropReason = "length"       // shorter or longer than its address count says
	DropVersion     DropReason = "version"      // not the instance's VRRP version
	DropType        DropReason = "type"         // not an ADVERTISEMENT
	DropChecksum    DropReason = "checksum"     // VRRP checksum wrong (VRRPv3: with its pseudo-header)
	DropVRID        DropReason = "vrid"         // not our virtual router
	DropAuthType    DropReason = "auth_type"    // VRRPv2: authentication type differs from ours
	DropAuthPass    DropReason = "auth_pass"    // VRRPv2: password differs from ours
	DropAdvertInt   DropReason = "advert_int"   // VRRPv2: advertisement interval differs from ours
	DropUnknownPeer DropReason = "unknown_peer" // unicast: the sender is not a unicast_peer
	DropOwnAdvert   DropReason = "own_advert"   // our own packet looped back
)

// DropReasons lists every reason, for counters that want all labels.
func DropReasons() []DropReason {
	return []DropReason{DropTTL, DropLength, DropVersion, DropType, DropChecksum, DropVRID,
		DropAuthType, DropAuthPass, DropAdvertInt, DropUnknownPeer, DropPeerTTL, DropOwnAdvert, DropAHAuth, DropAHSeq}
}

// Decode parses the VRRP part of a packet and checks what can be checked
// without knowing the instance: version, exact length, type and checksum.
// ip is the packet's IP header: a VRRPv3 checksum is verified over its
// pseudo-header (RFC 5798 §5.2.8), and a VRRPv3 advert in IPv6 carries
// 16-byte addresses. Over unicast IPv4 a VRRPv3 checksum with the multicast
// group in the pseudo-header is accepted too, as keepalived accepts it from
// peers with old_unicast_checksum. The zero IPHeader verifies a VRRPv3
// checksum over the message alone (v3_checksum_as_v2).
func Decode(b []byte, ip IPHeader) (Advert, DropReason) {
	if len(b) < headerLen {
		return Advert{}, DropLength
	}
	switch b[0] >> 4 {
	case Version2:
		return decodeV2(b)
	case Version3:
		return decodeV3(b, ip)
	}
	return Advert{}, DropVersion
}

func decodeV2(b []byte) (Advert, DropReason) {
	if len(b) < headerLen+AuthPasswordLen {
		return Advert{}, DropLength
	}
	count := int(b[3])
	if len(b) != headerLen+4*count+AuthPasswordLen {
		return Advert{}, DropLength
	}
	if b[0]&0x0f != TypeAdvertisement {
		return Advert{}, DropType
	}
	if binary.BigEndian.Uint16(b[6:]) != checksum(b) {
		return Advert{}, DropChecksum
	}
	a := Advert{
		Version:   Version2,
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

func decodeV3(b []byte, ip IPHeader) (Advert, DropReason) {
	size := 4
	if ip.Src.Is6() {
		size = 16
	}
	count := int(b[3])
	if len(b) != headerLen+size*count {
		return Advert{}, DropLength
	}
	if b[0]&0x0f != TypeAdvertisement {
		return Advert{}, DropType
	}
	sum := binary.BigEndian.Uint16(b[6:])
	if sum != checksumV3(b, ip) {
		old := ip.Src.Is4() && ip.Dst.Is4() && ip.Dst != MulticastGroup
		if !old || sum != checksumV3(b, IPHeader{Src: ip.Src, Dst: MulticastGroup}) {
			return Advert{}, DropChecksum
		}
	}
	a := Advert{
		Version:  Version3,
		VRID:     b[1],
		Priority: b[2],
		// RFC 5798 §5.2.6: the reserved bits are ignored on receipt.
		MaxAdvertInt: binary.BigEndian.Uint16(b[4:]) & 0x0fff,
		Addresses:    make([]netip.Addr, count),
	}
	off := headerLen
	for i := range a.Addresses {
		if size == 4 {
			a.Addresses[i] = netip.AddrFrom4([4]byte(b[off : off+4]))
		} else {
			a.Addresses[i] = netip.AddrFrom16([16]byte(b[off : off+16]))
		}
		off += size
	}
	return a, DropNone
}

// Received is one packet as read from the socket: the IP header fields that
// matter and the VRRP payload.
type Received struct {
	Src, Dst netip.Addr
	TTL      int // IPv4 TTL or IPv6 Hop Limit
	Payload  []byte
	At       time.Time
	// AH is the IPsec AH header the advert came in (auth_type AH, ah.go);
	// nil for a plain advert.
	AH *AHHeader
}

// Expect is what an instance accepts (its configuration, RFC 3768 §7.1,
// RFC 5798 §7.1).
type Expect struct {
	// Version is Version2 or Version3; zero is read as Version2.
	Version   uint8
	VRID      uint8
	AuthType  AuthType              // VRRPv2
	Password  [AuthPasswordLen]byte // VRRPv2
	AdvertInt uint8                 // VRRPv2, seconds; VRRPv3 adopts the master's (RFC 5798 §6.4.2)
	// ChecksumAsV2 verifies VRRPv3 checksums without the pseudo-header
	// (keepalived's v3_checksum_as_v2, IPv4 only).
	ChecksumAsV2 bool
	// Addresses are the instance's own virtual addresses; a different
	// list in an advert is logged, not dropped (keepalived >= 2.3.3).
	Addresses []netip.Addr
	// Peers, when not empty, are the only accepted senders (unicast mode).
	Peers []netip.Addr
	// PeerTTLs are the TTL ranges of the peers given min_ttl/max_ttl
	// (peer_ttl.go).
	PeerTTLs []PeerTTL
	// Self is our own source address: packets from it are ignored.
	Self netip.Addr
}

func (e *Expect) version() uint8 {
	if e.Version == 0 {
		return Version2
	}
	return e.Version
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
// authentication and advertisement interval (VRRPv2), and the address list.
func (e *Expect) Check(r Received) Verdict {
	if e.Self.IsValid() && r.Src == e.Self {
		return Verdict{Drop: DropOwnAdvert}
	}
	if r.TTL != TTL && len(e.Peers) == 0 {
		// keepalived checks TTL/hop limit 255 for multicast only: a
		// unicast advert may be routed, and keepalived's own IPv6
		// unicast adverts leave with the default hop limit.
		return Verdict{Drop: DropTTL}
	}
	if len(r.Payload) == 0 {
		return Verdict{Drop: DropLength}
	}
	if r.Payload[0]>>4 != e.version() {
		return Verdict{Drop: DropVersion}
	}
	ip := IPHeader{Src: r.Src, Dst: r.Dst}
	if e.ChecksumAsV2 && r.Src.Is4() {
		ip = IPHeader{}
	}
	a, drop := Decode(r.Payload, ip)
	if drop != DropNone {
		return Verdict{Drop: drop}
	}
	v := Verdict{Advert: a}
	v2 := e.version() == Version2
	switch {
	case a.VRID != e.VRID:
		v.Drop = DropVRID
	case v2 && a.AuthType != e.AuthType:
		v.Drop = DropAuthType
	case v2 && e.AuthType == AuthPassword && a.Password != e.Password:
		v.Drop = DropAuthPass
	case v2 && a.AdvertInt != e.AdvertInt:
		v.Drop = DropAdvertInt
	case len(e.Peers) > 0 && !contains(e.Peers, r.Src):
		v.Drop = DropUnknownPeer
	case len(e.Peers) > 0 && peerTTLOutOfRange(e.PeerTTLs, r.Src, r.TTL):
		v.Drop = DropPeerTTL
	}
	if v.Drop == DropNone {
		v.AddressMismatch = !sameAddresses(a.Addresses, e.Addresses)
	}
	return v
}

// AdvertInterval is the advertisement interval an accepted advert carries:
// whole seconds in VRRPv2, centiseconds in VRRPv3.
func (a *Advert) AdvertInterval() time.Duration {
	if a.version() == Version3 {
		return time.Duration(a.MaxAdvertInt) * 10 * time.Millisecond
	}
	return time.Duration(a.AdvertInt) * time.Second
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
