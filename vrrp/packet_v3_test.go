package vrrp

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"
)

func sampleAdvertV3(ipv6 bool) Advert {
	a := Advert{Version: Version3, VRID: 51, Priority: 150, MaxAdvertInt: 10,
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")}}
	if ipv6 {
		a.Addresses = []netip.Addr{netip.MustParseAddr("2001:db8::100"), netip.MustParseAddr("2001:db8::101")}
	}
	return a
}

func sampleExpectV3(ipv6 bool) Expect {
	return Expect{Version: Version3, VRID: 51, Addresses: sampleAdvertV3(ipv6).Addresses}
}

var (
	src4 = netip.MustParseAddr("10.0.0.2")
	src6 = netip.MustParseAddr("fe80::2")
)

func TestAdvertV3RoundTrips(t *testing.T) {
	for _, tt := range []struct {
		name    string
		ip      IPHeader
		a       Advert
		wantLen int
	}{
		{"IPv4 multicast", IPHeader{src4, MulticastGroup}, sampleAdvertV3(false), 8 + 2*4},
		{"IPv4 unicast", IPHeader{src4, netip.MustParseAddr("10.0.0.1")}, sampleAdvertV3(false), 8 + 2*4},
		{"IPv6 multicast", IPHeader{src6, MulticastGroup6}, sampleAdvertV3(true), 8 + 2*16},
		{"largest interval, no address", IPHeader{src6, MulticastGroup6},
			Advert{Version: Version3, VRID: 255, Priority: 0, MaxAdvertInt: MaxAdvertIntV3, Addresses: []netip.Addr{}}, 8},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.a.Marshal(tt.ip)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != tt.wantLen {
				t.Fatalf("length %d, want %d (no authentication data in VRRPv3)", len(b), tt.wantLen)
			}
			if b[0] != 0x31 {
				t.Fatalf("version/type %#x, want 0x31", b[0])
			}
			got, drop := Decode(b, tt.ip)
			if drop != DropNone {
				t.Fatalf("decode of own packet dropped: %s", drop)
			}
			if !reflect.DeepEqual(got, tt.a) {
				t.Fatalf("round trip: got %+v, want %+v", got, tt.a)
			}
		})
	}
}

// TestV3ChecksumCoversThePseudoHeader: RFC 5798 §5.2.8 puts the IP
// source, destination, length and protocol into the checksum, so the same
// VRRP bytes fail with another address; keepalived's knobs pick the
// forms older peers send.
func TestV3ChecksumCoversThePseudoHeader(t *testing.T) {
	peer := netip.MustParseAddr("10.0.0.1")
	a := sampleAdvertV3(false)
	rfc, _ := a.Marshal(IPHeader{src4, peer})
	asV2, _ := a.Marshal(PseudoHeader(src4, peer, true, false))
	old, _ := a.Marshal(PseudoHeader(src4, peer, false, true))
	if binary.BigEndian.Uint16(asV2[6:]) != checksum(asV2) {
		t.Fatal("v3_checksum_as_v2 is not the VRRPv2 checksum of the message")
	}
	for _, tt := range []struct {
		name    string
		payload []byte
		ip      IPHeader
		asV2    bool
		want    DropReason
	}{
		{"RFC checksum", rfc, IPHeader{src4, peer}, false, DropNone},
		{"other destination", rfc, IPHeader{src4, netip.MustParseAddr("10.0.0.3")}, false, DropChecksum},
		{"other source", rfc, IPHeader{netip.MustParseAddr("10.0.0.4"), peer}, false, DropChecksum},
		{"old_unicast_checksum peer over unicast", old, IPHeader{src4, peer}, false, DropNone},
		{"v3_checksum_as_v2 peer refused by default", asV2, IPHeader{src4, peer}, false, DropChecksum},
		{"v3_checksum_as_v2 peer accepted with the knob", asV2, IPHeader{src4, peer}, true, DropNone},
		{"RFC peer refused with the knob", rfc, IPHeader{src4, peer}, true, DropChecksum},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleExpectV3(false)
			e.ChecksumAsV2 = tt.asV2
			v := e.Check(Received{Src: tt.ip.Src, Dst: tt.ip.Dst, TTL: TTL, Payload: tt.payload})
			if v.Drop != tt.want {
				t.Fatalf("drop = %q, want %q", v.Drop, tt.want)
			}
		})
	}
}

// TestCheckV3DropsWithNamedReason: VRRPv3 shares VRRPv2's drop reasons;
// the advertisement interval is not one (a Backup adopts the master's,
// RFC 5798 §6.4.2), authentication does not exist.
func TestCheckV3DropsWithNamedReason(t *testing.T) {
	for _, six := range []bool{false, true} {
		ip := IPHeader{src4, MulticastGroup}
		if six {
			ip = IPHeader{src6, MulticastGroup6}
		}
		marshal := func(f func(a *Advert)) []byte {
			a := sampleAdvertV3(six)
			if f != nil {
				f(&a)
			}
			b, err := a.Marshal(ip)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		good := marshal(nil)
		resum := func(f func(b []byte)) []byte {
			b := append([]byte(nil), good...)
			f(b)
			binary.BigEndian.PutUint16(b[6:], checksumV3(b, ip))
			return b
		}
		v2 := sampleAdvert()
		v2b, _ := v2.Marshal(IPHeader{})
		for _, tt := range []struct {
			name    string
			ttl     int
			payload []byte
			expect  func(e *Expect)
			want    DropReason
		}{
			{"accepted", 255, good, nil, DropNone},
			{"hop limit 64", 64, good, nil, DropTTL},
			{"truncated", 255, good[:len(good)-1], nil, DropLength},
			{"count too big", 255, resum(func(b []byte) { b[3] = 3 }), nil, DropLength},
			{"VRRPv2 packet to a v3 instance", 255, v2b, nil, DropVersion},
			{"type 2", 255, resum(func(b []byte) { b[0] = 0x32 }), nil, DropType},
			{"bad checksum", 255, func() []byte { b := append([]byte(nil), good...); b[7] ^= 1; return b }(), nil, DropChecksum},
			{"other vrid", 255, marshal(func(a *Advert) { a.VRID = 52 }), nil, DropVRID},
			{"other interval accepted", 255, marshal(func(a *Advert) { a.MaxAdvertInt = 100 }), nil, DropNone},
			{"reserved bits ignored", 255, resum(func(b []byte) { b[4] |= 0xf0 }), nil, DropNone},
			{"unknown unicast peer", 255, good, func(e *Expect) { e.Peers = []netip.Addr{netip.MustParseAddr("fe80::9")} }, DropUnknownPeer},
			{"own packet", 255, good, func(e *Expect) { e.Self = ip.Src }, DropOwnAdvert},
		} {
			t.Run(familyName(six)+"/"+tt.name, func(t *testing.T) {
				e := sampleExpectV3(six)
				if tt.expect != nil {
					tt.expect(&e)
				}
				v := e.Check(Received{Src: ip.Src, Dst: ip.Dst, TTL: tt.ttl, Payload: tt.payload})
				if v.Drop != tt.want {
					t.Fatalf("drop = %q, want %q", v.Drop, tt.want)
				}
			})
		}
	}
}

// TestV2InstanceDropsV3Adverts: a VRRPv2 instance names a v3 packet's
// version, whatever its length (keepalived: "invalid version").
func TestV2InstanceDropsV3Adverts(t *testing.T) {
	a := sampleAdvertV3(false)
	b, _ := a.Marshal(IPHeader{src4, MulticastGroup})
	e := sampleExpect()
	if v := e.Check(Received{Src: src4, Dst: MulticastGroup, TTL: TTL, Payload: b}); v.Drop != DropVersion {
		t.Fatalf("drop = %q, want version", v.Drop)
	}
}

func TestMarshalV3RefusesMixedFamiliesAndLongIntervals(t *testing.T) {
	a := sampleAdvertV3(false)
	if _, err := a.Marshal(IPHeader{src6, MulticastGroup6}); err == nil {
		t.Fatal("IPv4 addresses in an IPv6 advert accepted")
	}
	a = sampleAdvertV3(true)
	a.MaxAdvertInt = MaxAdvertIntV3 + 1
	if _, err := a.Marshal(IPHeader{src6, MulticastGroup6}); err == nil {
		t.Fatal("interval over 12 bits accepted")
	}
}

func familyName(six bool) string {
	if six {
		return "IPv6"
	}
	return "IPv4"
}
