package hcl

import (
	"net/netip"
	"testing"
)

// ParseAddrPort reads every form a label or a keepalived.conf writes, and
// names what is wrong with the rest, whichever way it gets there (the
// usual "ADDRESS:PORT" skips the split at white space and the bare
// address).
func TestParseAddrPortReadsEveryForm(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "192.0.2.1:80", want: "192.0.2.1:80"},
		{in: " 192.0.2.1:80\t", want: "192.0.2.1:80"},
		{in: "[2001:db8::1]:443", want: "[2001:db8::1]:443"},
		{in: "192.0.2.1 80", want: "192.0.2.1:80"},
		{in: "192.0.2.1\t80", want: "192.0.2.1:80"},
		{in: "192.0.2.1\u00a080", want: "192.0.2.1:80"}, // a no-break space is white space to Fields
		{in: "2001:db8::1 53", want: "[2001:db8::1]:53"},
		{in: "192.0.2.1", want: "192.0.2.1:0"},
		{in: "2001:db8::1", want: "[2001:db8::1]:0"},
		{in: "::1", want: "[::1]:0"},
		{in: "[::1]", want: "[::1]:0"},
		{in: "192.0.2.1:0", want: "192.0.2.1:0"}, // port 0: validation's to refuse
		{in: "192.0.2.300:80", err: `"192.0.2.300:80": "192.0.2.300" is not an IP address`},
		{in: "2001:db8::1:80", want: "[2001:db8::1:80]:0"}, // a bare IPv6 address, as written
		{in: "a:b", err: `"a:b": "a" is not an IP address`},
		{in: "192.0.2.1 80 90", err: `"192.0.2.1 80 90" is not ADDRESS:PORT`},
		{in: "nowhere", err: `"nowhere" is not ADDRESS:PORT`},
		{in: "[192.0.2.1:80", err: `"[192.0.2.1:80": unbalanced brackets`},
	} {
		got, err := ParseAddrPort(tc.in)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("ParseAddrPort(%q) = %v, %v; want error %s", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != netip.MustParseAddrPort(tc.want)):
			t.Errorf("ParseAddrPort(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}
