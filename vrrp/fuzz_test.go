package vrrp

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the decoder: it must never panic, and
// whatever it accepts must encode back to the same bytes.
func FuzzDecode(f *testing.F) {
	a := sampleAdvert()
	good, _ := a.Marshal(IPHeader{})
	f.Add(good)
	f.Add(good[:10])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		adv, drop := Decode(b, IPHeader{})
		if drop != DropNone {
			return
		}
		out, err := adv.Marshal(IPHeader{})
		if err != nil {
			t.Fatalf("accepted packet does not re-encode: %v", err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("re-encoded %x, read %x", out, b)
		}
		e := sampleExpect()
		_ = e.Check(Received{TTL: 255, Payload: b})
	})
}

// FuzzDecodeV3 feeds arbitrary bytes to the decoder as a VRRPv3 packet
// over IPv4 multicast, IPv4 unicast or IPv6 multicast: it must never
// panic, and whatever it accepts must encode back to the same bytes with
// one of the pseudo-headers it accepts (RFC 5798 §5.2.8, or keepalived's
// old_unicast_checksum over unicast IPv4).
func FuzzDecodeV3(f *testing.F) {
	for _, ip := range fuzzHeadersV3 {
		a := sampleAdvertV3(ip.Src.Is6())
		good, _ := a.Marshal(ip)
		f.Add(good, uint8(0))
		f.Add(good, uint8(1))
		f.Add(good, uint8(2))
		f.Add(good[:9], uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		ip := fuzzHeadersV3[int(which)%len(fuzzHeadersV3)]
		adv, drop := Decode(b, ip)
		if drop != DropNone {
			return
		}
		// Reserved bits are ignored on receipt (RFC 5798 §5.2.6) and
		// sent as zero: compare with them cleared.
		want := append([]byte(nil), b...)
		if len(want) > 4 && want[0]>>4 == Version3 {
			want[4] &= 0x0f
		}
		var reencoded bool
		for _, h := range []IPHeader{ip, {Src: ip.Src, Dst: MulticastGroup}} {
			out, err := adv.Marshal(h)
			if err != nil {
				t.Fatalf("accepted packet does not re-encode: %v", err)
			}
			if bytes.Equal(out[:6], want[:6]) && bytes.Equal(out[8:], want[8:]) {
				reencoded = true
			}
		}
		if !reencoded {
			t.Fatalf("accepted %x does not re-encode", b)
		}
		e := sampleExpectV3(ip.Src.Is6())
		_ = e.Check(Received{Src: ip.Src, Dst: ip.Dst, TTL: 255, Payload: b})
	})
}

var fuzzHeadersV3 = []IPHeader{
	{Src: netip.MustParseAddr("10.0.0.2"), Dst: MulticastGroup},
	{Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1")},
	{Src: netip.MustParseAddr("fe80::2"), Dst: MulticastGroup6},
}
