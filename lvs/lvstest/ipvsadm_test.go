package lvstest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lvsd/lvsd/lvs"
)

// ipvsadmSaved is a table with every kind of service as printed by
// `ipvsadm -S -n`.
const ipvsadmSaved = `-A -t 192.0.2.100:80 -s wlc -p 300 -M 255.255.255.0
-a -t 192.0.2.100:80 -r 10.0.0.1:80 -g -w 3
-a -t 192.0.2.100:80 -r 10.0.0.2:80 -m -w 0 -x 100 -y 10
-A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port
-a -u [2001:db8::1]:53 -r [2001:db8:1::1]:53 -i -w 1
-A -f 5 -s rr
-a -f 5 -r 10.0.0.9:0 -g -w 1
`

func TestIPVSADMRulesRoundTrip(t *testing.T) {
	saved, err := ParseIPVSADMRules(strings.NewReader(ipvsadmSaved))
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []lvs.Table{saved, SyntheticTable(3, 2)} {
		requireRoundTrip(t, tbl)
	}
}

// requireRoundTrip fails unless tbl, written in ipvsadm's rules format and
// read back, is the same table.
func requireRoundTrip(t *testing.T, tbl lvs.Table) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteIPVSADMRules(&buf, tbl); err != nil {
		t.Fatal(err)
	}
	back, err := ParseIPVSADMRules(&buf)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, buf.String())
	}
	if ops := lvs.Plan(tbl, back); len(ops) != 0 || len(back) != len(tbl) {
		t.Fatalf("round trip differs: %v\n%s", ops, buf.String())
	}
}

func TestIPVSADMRulesReadIpvsadmOutput(t *testing.T) {
	tbl, err := ParseIPVSADMRules(strings.NewReader(ipvsadmSaved))
	if err != nil {
		t.Fatal(err)
	}
	if len(tbl) != 3 || tbl.Objects() != 7 {
		t.Fatalf("table %+v", tbl)
	}
	web := tbl.Find("TCP:192.0.2.100:80")
	if web.Netmask != 24 || web.Timeout != 300 || web.Flags != lvs.FlagPersistent || web.Destinations[1].Forward != lvs.ForwardMasq ||
		web.Destinations[1].UpperThreshold != 100 || web.Destinations[1].LowerThreshold != 10 {
		t.Fatalf("web %+v", web)
	}
	dns := tbl.Find("UDP:[2001:db8::1]:53")
	if dns.Flags != lvs.FlagSched1|lvs.FlagSched2 || dns.Netmask != 128 || dns.Destinations[0].Forward != lvs.ForwardTunnel {
		t.Fatalf("dns %+v", dns)
	}
	if _, err := ParseIPVSADMRules(strings.NewReader("-a -t 1.2.3.4:80 -r 10.0.0.1:80\n")); err == nil {
		t.Fatal("real server of undefined service accepted")
	}
}

func FuzzParseIPVSADMRules(f *testing.F) {
	f.Add("-A -t 192.0.2.100:80 -s wlc -p 300 -M 255.255.255.0\n-a -t 192.0.2.100:80 -r 10.0.0.1:80 -g -w 3\n")
	f.Add("-A -f 5 -6 -s rr -p\n-a -f 5 -6 -r 2001:db8::9 -m -w 1\n")
	f.Add("-A -u [2001:db8::1]:53 -s sh -b sh-fallback -o\n")
	f.Fuzz(func(t *testing.T, in string) {
		tbl, err := ParseIPVSADMRules(strings.NewReader(in))
		if err != nil {
			return
		}
		// Whatever parses writes back and parses to the same table.
		requireRoundTrip(t, tbl)
	})
}
