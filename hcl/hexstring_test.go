package hcl

import (
	"bytes"
	"testing"
)

func TestParseHexStringReadsKeepalivedsFreeFormat(t *testing.T) {
	for _, tc := range []struct {
		in         string
		wildcard   bool
		data, mask []byte
		bad        bool
	}{
		// keepalived.conf(5)'s own example.
		{in: "Ab12f 3 456 546443123", data: []byte{0xab, 0x12, 0x0f, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03}},
		{in: "00", data: []byte{0}},
		{in: "\tde ad\t", data: []byte{0xde, 0xad}},
		{in: "1x X2", wildcard: true, data: []byte{0x10, 0x02}, mask: []byte{0x0f, 0xf0}},
		{in: "1x", bad: true}, // no wildcard in a payload
		{in: "", bad: true},
		{in: "  ", bad: true},
		{in: "0g", bad: true},
	} {
		data, mask, err := ParseHexString(tc.in, tc.wildcard)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: no error, got % x", tc.in, data)
			}
			continue
		}
		if err != nil || !bytes.Equal(data, tc.data) || !bytes.Equal(mask, tc.mask) {
			t.Errorf("%q: got % x mask % x err %v, want % x mask % x", tc.in, data, mask, err, tc.data, tc.mask)
		}
	}
}

// FuzzParseHexString: any text either fails or gives one mask octet per
// data octet (or none), never more octets than digits.
func FuzzParseHexString(f *testing.F) {
	for _, s := range []string{"Ab12f 3 456", "xX 1x", "", "zz", "\t0\t"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, wildcard bool) {
		data, mask, err := ParseHexString(s, wildcard)
		if err != nil {
			return
		}
		if len(data) == 0 || len(data) > len(s) {
			t.Fatalf("%q: %d octets", s, len(data))
		}
		if mask != nil && len(mask) != len(data) {
			t.Fatalf("%q: %d mask octets for %d data octets", s, len(mask), len(data))
		}
		if mask != nil && !wildcard {
			t.Fatalf("%q: a mask without wildcards", s)
		}
	})
}
