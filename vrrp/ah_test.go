package vrrp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

// keepalivedAH is an IPv4 packet keepalived 2.2.7 sent (tcpdump -xx,
// the Ethernet header removed): VRID 51, priority 100, auth_type AH,
// auth_pass 1111, from 10.99.0.1 to 224.0.0.18, sequence number 1; its
// IPv4 header and what follows.
func keepalivedAH(t testing.TB) (ip, payload []byte) {
	t.Helper()
	b, err := hex.DecodeString(strings.Join([]string{
		"45c0004000010000ff33d0530a630001e0000012", // IPv4: protocol 51, ID 1, TTL 255
		"700400000a63000100000001",                 // AH: next header 112, length 4, SPI 10.99.0.1, seq 1
		"6c5551bf1bf33d51e2126f8e",                 // ICV: HMAC-MD5-96
		"213364010201" + "6e03" + "0a630064",       // VRRPv2: VRID 51, prio 100, 1 address, auth 2, int 1
		"0000000000000000",                         // authentication data: zero
	}, ""))
	if err != nil {
		t.Fatal(err)
	}
	return b[:20], b[20:]
}

func TestAHReadsKeepalivedsAdvert(t *testing.T) {
	ip, payload := keepalivedAH(t)
	h, vrrp, err := ParseAH(ip, payload)
	if err != nil {
		t.Fatal(err)
	}
	if h.Seq != 1 || h.SPI != 0x0a630001 {
		t.Errorf("seq %d SPI %#x, want 1 and 10.99.0.1", h.Seq, h.SPI)
	}
	key := PasswordOf("1111")
	if !OpenAH(h, key, vrrp, false) {
		t.Fatal("keepalived's ICV does not verify with its auth_pass")
	}
	tests := []struct {
		name     string
		pass     string
		priority byte
		unicast  bool
	}{
		{"another password", "1112", 100, false},
		{"a changed priority", "1111", 101, false},
		{"read as unicast (the TTL left out of the ICV)", "1111", 100, true},
	}
	for _, tt := range tests {
		changed := append([]byte(nil), vrrp...)
		changed[2] = tt.priority
		if OpenAH(h, PasswordOf(tt.pass), changed, tt.unicast) {
			t.Errorf("%s: the ICV still verifies", tt.name)
		}
	}
	// The advert inside is an ordinary VRRPv2 advert with auth type 2.
	a, drop := Decode(vrrp, IPHeader{})
	if drop != DropNone || a.AuthType != AuthAH || a.Priority != 100 || a.VRID != 51 {
		t.Errorf("advert %+v, drop %q", a, drop)
	}
	// Mutable fields are left out of the ICV: TOS, flags, fragment
	// offset and checksum may change on the way.
	h2 := h
	h2.ip = append([]byte(nil), ip...)
	h2.ip[1], h2.ip[6], h2.ip[10], h2.ip[11] = 0, 0x40, 0xff, 0xff
	if !OpenAH(h2, PasswordOf("1111"), vrrp, false) {
		t.Error("a changed TOS, DF flag or checksum fails the ICV")
	}
}

func TestSealAHIsWhatKeepalivedSends(t *testing.T) {
	ip, payload := keepalivedAH(t)
	got := SealAH(ip, 1, PasswordOf("1111"), payload[ahLen:], false)
	if !bytes.Equal(got, payload[:ahLen]) {
		t.Errorf("AH header\n got %x\nwant %x", got, payload[:ahLen])
	}
}

func TestAHSequenceNumbersFollowKeepalived(t *testing.T) {
	in := &instance{cfg: hcl.VRRPInstance{AuthType: "AH", AuthPass: "1111"}}
	ip, payload := keepalivedAH(t)
	h, vrrp, _ := ParseAH(ip, payload)
	r := Received{AH: &h, Payload: vrrp}
	if d := in.ahCheck(r); d != DropNone {
		t.Fatalf("first advert dropped: %s", d)
	}
	if d := in.ahCheck(r); d != DropAHSeq {
		t.Errorf("a replayed advert: %q, want %q", d, DropAHSeq)
	}
	r.AH = nil
	if d := in.ahCheck(r); d != DropAHAuth {
		t.Errorf("an advert without AH: %q, want %q", d, DropAHAuth)
	}
	if in.ahSeq != 1 {
		t.Errorf("sequence number %d, want the last heard, 1", in.ahSeq)
	}
}

// FuzzParseAH feeds arbitrary AH payloads to the AH decoder: it must never
// panic, and what it accepts must seal back to the same header when the
// ICV verifies.
func FuzzParseAH(f *testing.F) {
	ip, payload := keepalivedAH(f)
	f.Add(payload)
	f.Add(payload[:ahLen])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, vrrp, err := ParseAH(ip, b)
		if err != nil {
			return
		}
		if len(vrrp) != len(b)-ahLen {
			t.Fatalf("advert of %d bytes from %d", len(vrrp), len(b))
		}
		key := PasswordOf("1111")
		if OpenAH(h, key, vrrp, false) && h.Reserved == 0 {
			if sealed := SealAH(ip, h.Seq, key, vrrp, false); !bytes.Equal(sealed, b[:ahLen]) {
				t.Fatalf("verified header %x seals as %x", b[:ahLen], sealed)
			}
		}
		_, _ = Decode(vrrp, IPHeader{})
	})
}
