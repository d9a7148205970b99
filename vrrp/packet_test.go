package vrrp

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"
)

func sampleAdvert() Advert {
	return Advert{
		Version:   Version2,
		VRID:      51,
		Priority:  150,
		AuthType:  AuthPassword,
		AdvertInt: 1,
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")},
		Password:  PasswordOf("secret"),
	}
}

func sampleExpect() Expect {
	a := sampleAdvert()
	return Expect{VRID: 51, AuthType: AuthPassword, Password: PasswordOf("secret"), AdvertInt: 1, Addresses: a.Addresses}
}

func mustMarshal(t testing.TB, a Advert) []byte {
	t.Helper()
	b, err := a.Marshal(IPHeader{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAdvertRoundTrips(t *testing.T) {
	for _, a := range []Advert{
		sampleAdvert(),
		{Version: Version2, VRID: 1, Priority: 0, AdvertInt: 1, Addresses: []netip.Addr{}},
		{Version: Version2, VRID: 255, Priority: 255, AdvertInt: 255, Addresses: []netip.Addr{netip.MustParseAddr("10.0.0.1")}},
	} {
		b := mustMarshal(t, a)
		if want := 16 + 4*len(a.Addresses); len(b) != want {
			t.Fatalf("length %d, want %d", len(b), want)
		}
		got, drop := Decode(b, IPHeader{})
		if drop != DropNone {
			t.Fatalf("decode of own packet dropped: %s", drop)
		}
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("round trip: got %+v, want %+v", got, a)
		}
	}
}

// TestKeepalivedAdvertDecodes checks a packet as keepalived 2.2.7 sends it
// (VRID 51, priority 100, PASS "secret", one address 10.0.0.100).
func TestKeepalivedAdvertDecodes(t *testing.T) {
	b := []byte{0x21, 0x33, 0x64, 0x01, 0x01, 0x01, 0, 0, 10, 0, 0, 100, 's', 'e', 'c', 'r', 'e', 't', 0, 0}
	binary.BigEndian.PutUint16(b[6:], checksum(b))
	a, drop := Decode(b, IPHeader{})
	if drop != DropNone || a.VRID != 51 || a.Priority != 100 || a.Password != PasswordOf("secret") {
		t.Fatalf("got %+v drop %q", a, drop)
	}
}

func TestCheckDropsWithNamedReason(t *testing.T) {
	good := mustMarshal(t, sampleAdvert())
	src := netip.MustParseAddr("10.0.0.2")
	dst := MulticastGroup
	mutate := func(f func(a *Advert)) []byte {
		a := sampleAdvert()
		f(&a)
		return mustMarshal(t, a)
	}
	corrupt := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	rechecksum := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		binary.BigEndian.PutUint16(b[6:], checksum(b))
		return b
	}
	tests := []struct {
		name    string
		ttl     int
		payload []byte
		expect  func(e *Expect)
		want    DropReason
	}{
		{"accepted", 255, good, nil, DropNone},
		{"ttl not 255", 64, good, nil, DropTTL},
		{"ttl 254 after a router", 254, good, nil, DropTTL},
		{"truncated header", 255, good[:7], nil, DropLength},
		{"truncated address list", 255, good[:len(good)-1], nil, DropLength},
		{"trailing bytes", 255, append(append([]byte(nil), good...), 0), nil, DropLength},
		{"oversized address count", 255, rechecksum(func(b []byte) { b[3] = 200 }), nil, DropLength},
		{"empty", 255, nil, nil, DropLength},
		{"version 3", 255, rechecksum(func(b []byte) { b[0] = 0x31 }), nil, DropVersion},
		{"type 2", 255, rechecksum(func(b []byte) { b[0] = 0x22 }), nil, DropType},
		{"bad checksum", 255, corrupt(func(b []byte) { b[7] ^= 0xff }), nil, DropChecksum},
		{"flipped priority bit", 255, corrupt(func(b []byte) { b[2] ^= 1 }), nil, DropChecksum},
		{"other vrid", 255, mutate(func(a *Advert) { a.VRID = 52 }), nil, DropVRID},
		{"auth none against PASS", 255, mutate(func(a *Advert) { a.AuthType = AuthNone; a.Password = [8]byte{} }), nil, DropAuthType},
		{"auth AH", 255, mutate(func(a *Advert) { a.AuthType = 2 }), nil, DropAuthType},
		{"wrong password", 255, mutate(func(a *Advert) { a.Password = PasswordOf("wrong") }), nil, DropAuthPass},
		{"password ignored without auth", 255, mutate(func(a *Advert) { a.AuthType = AuthNone; a.Password = PasswordOf("x") }),
			func(e *Expect) { e.AuthType = AuthNone; e.Password = [8]byte{} }, DropNone},
		{"other advert_int", 255, mutate(func(a *Advert) { a.AdvertInt = 2 }), nil, DropAdvertInt},
		{"unknown unicast peer", 255, good, func(e *Expect) { e.Peers = []netip.Addr{netip.MustParseAddr("10.0.0.3")} }, DropUnknownPeer},
		{"known unicast peer", 255, good, func(e *Expect) { e.Peers = []netip.Addr{src} }, DropNone},
		{"unicast peer with another ttl (keepalived checks multicast only)", 64, good, func(e *Expect) { e.Peers = []netip.Addr{src} }, DropNone},
		{"own packet", 255, good, func(e *Expect) { e.Self = src }, DropOwnAdvert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleExpect()
			if tt.expect != nil {
				tt.expect(&e)
			}
			v := e.Check(Received{Src: src, Dst: dst, TTL: tt.ttl, Payload: tt.payload})
			if v.Drop != tt.want {
				t.Fatalf("drop = %q, want %q", v.Drop, tt.want)
			}
		})
	}
}

func TestAddressMismatchIsLoggedNotDropped(t *testing.T) {
	a := sampleAdvert()
	a.Addresses = a.Addresses[:1]
	e := sampleExpect()
	v := e.Check(Received{Src: netip.MustParseAddr("10.0.0.2"), TTL: 255, Payload: mustMarshal(t, a)})
	if v.Drop != DropNone || !v.AddressMismatch {
		t.Fatalf("verdict %+v, want accepted with mismatch", v)
	}
	// Same set, other order: no mismatch.
	a = sampleAdvert()
	a.Addresses[0], a.Addresses[1] = a.Addresses[1], a.Addresses[0]
	v = e.Check(Received{TTL: 255, Payload: mustMarshal(t, a)})
	if v.Drop != DropNone || v.AddressMismatch {
		t.Fatalf("verdict %+v, want accepted without mismatch", v)
	}
}

func TestMarshalRefusesIPv6AndTooManyAddresses(t *testing.T) {
	a := Advert{VRID: 1, AdvertInt: 1, Addresses: []netip.Addr{netip.MustParseAddr("2001:db8::1")}}
	if _, err := a.Marshal(IPHeader{}); err == nil {
		t.Fatal("IPv6 address accepted")
	}
	a.Addresses = make([]netip.Addr, 256)
	if _, err := a.Marshal(IPHeader{}); err == nil {
		t.Fatal("256 addresses accepted")
	}
}
