package lvs

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// opStrings shows operations as `lvsd plan` prints them.
func opStrings(ops []Op) []string {
	var out []string
	for _, op := range ops {
		out = append(out, op.String())
	}
	return out
}

// baseTable is a small table with every kind of service.
func baseTable() Table {
	t := Table{
		{
			Protocol: "TCP", Addr: ap("192.0.2.100:80"), Scheduler: "wlc", Netmask: 32,
			Destinations: []Destination{
				{Addr: ap("10.0.0.1:80"), Forward: ForwardRoute, Weight: 1},
				{Addr: ap("10.0.0.2:80"), Forward: ForwardRoute, Weight: 2, UpperThreshold: 100, LowerThreshold: 10},
			},
		},
		{
			Protocol: "UDP", Addr: ap("[2001:db8::1]:53"), IPv6: true, Scheduler: "rr", Netmask: 128,
			Flags: FlagPersistent | FlagOnePacket, Timeout: 300,
			Destinations: []Destination{{Addr: ap("[2001:db8:1::1]:53"), Forward: ForwardMasq, Weight: 1}},
		},
		{
			FWMark: 7, Scheduler: "sh", Flags: FlagSched1 | FlagSched2, Netmask: 32,
			Destinations: []Destination{{Addr: ap("10.0.1.1:0"), Forward: ForwardTunnel, Weight: 5}},
		},
	}
	t.Sort()
	return t
}

func TestDiffOfEqualTablesIsEmpty(t *testing.T) {
	if ops := Plan(baseTable(), baseTable()); len(ops) != 0 {
		t.Fatalf("equal tables gave %d operations: %v", len(ops), ops)
	}
}

func TestDiffTurnsEveryFieldChangeIntoTheOneRightOperation(t *testing.T) {
	tcp := "TCP:192.0.2.100:80"
	tests := []struct {
		name   string
		change func(t Table)
		want   string
	}{
		{"scheduler", func(t Table) { t.Find(tcp).Scheduler = "rr" },
			"~ edit service TCP 192.0.2.100:80: scheduler wlc -> rr"},
		{"persistence on", func(t Table) { s := t.Find(tcp); s.Flags |= FlagPersistent; s.Timeout = 60 },
			"~ edit service TCP 192.0.2.100:80: flags none -> persistent, persistence timeout 0s -> 60s"},
		{"persistence timeout", func(t Table) { t.Find("UDP:[2001:db8::1]:53").Timeout = 600 },
			"~ edit service UDP [2001:db8::1]:53: persistence timeout 300s -> 600s"},
		{"netmask", func(t Table) { t.Find(tcp).Netmask = 24 },
			"~ edit service TCP 192.0.2.100:80: netmask /32 -> /24"},
		{"one-packet", func(t Table) { t.Find(tcp).Flags |= FlagOnePacket },
			"~ edit service TCP 192.0.2.100:80: flags none -> ops"},
		{"scheduler flags", func(t Table) { t.Find("FWM:7:inet").Flags = FlagSched1 },
			"~ edit service FWM 7: flags flag-1,flag-2 -> flag-1"},
		{"weight", func(t Table) { t.Find(tcp).Destinations[0].Weight = 3 },
			"~ edit destination 10.0.0.1:80 of TCP 192.0.2.100:80: weight 1 -> 3"},
		{"forwarding method", func(t Table) { t.Find(tcp).Destinations[0].Forward = ForwardMasq },
			"~ edit destination 10.0.0.1:80 of TCP 192.0.2.100:80: forward route -> masq"},
		{"upper threshold", func(t Table) { t.Find(tcp).Destinations[1].UpperThreshold = 0 },
			"~ edit destination 10.0.0.2:80 of TCP 192.0.2.100:80: uthreshold 100 -> 0"},
		{"lower threshold", func(t Table) { t.Find(tcp).Destinations[1].LowerThreshold = 20 },
			"~ edit destination 10.0.0.2:80 of TCP 192.0.2.100:80: lthreshold 10 -> 20"},
		{"new destination", func(t Table) {
			s := t.Find(tcp)
			s.Destinations = append(s.Destinations, Destination{Addr: ap("10.0.0.3:80"), Forward: ForwardRoute, Weight: 1})
		}, "+ add destination 10.0.0.3:80 to TCP 192.0.2.100:80 route weight 1"},
		{"destination gone", func(t Table) { s := t.Find(tcp); s.Destinations = s.Destinations[1:] },
			"- delete destination 10.0.0.1:80 of TCP 192.0.2.100:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired := baseTable().Clone()
			tt.change(desired)
			ops := Plan(desired, baseTable())
			if len(ops) != 1 {
				t.Fatalf("got %d operations, want 1: %v", len(ops), ops)
			}
			if got := ops[0].String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestDiffAddsServiceBeforeItsDestinationsAndDeletesDestinationsBeforeService(t *testing.T) {
	base := baseTable()
	// Desired: TCP service gone, a new one added.
	desired := Table{*base.Find("FWM:7:inet"), *base.Find("UDP:[2001:db8::1]:53"), {
		Protocol: "TCP", Addr: ap("192.0.2.200:443"), Scheduler: "wlc", Netmask: 32,
		Destinations: []Destination{{Addr: ap("10.0.0.9:443"), Forward: ForwardMasq, Weight: 1}},
	}}
	desired.Sort()
	ops := Plan(desired, base)
	var got []string
	for _, op := range ops {
		got = append(got, op.String())
	}
	want := []string{
		"+ add service TCP 192.0.2.200:443 wlc",
		"+ add destination 10.0.0.9:443 to TCP 192.0.2.200:443 masq weight 1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Plan (foreign TCP:192.0.2.100:80 untouched):\ngot  %q\nwant %q", got, want)
	}
	// Now owned: it must be deleted, destinations first.
	owned := func(string) bool { return true }
	ops = diff(desired, base, owned)
	got = nil
	for _, op := range ops {
		got = append(got, op.String())
	}
	want = append(want,
		"- delete destination 10.0.0.1:80 of TCP 192.0.2.100:80",
		"- delete destination 10.0.0.2:80 of TCP 192.0.2.100:80",
		"- delete service TCP 192.0.2.100:80",
	)
	if !slices.Equal(got, want) {
		t.Fatalf("Diff:\ngot  %q\nwant %q", got, want)
	}
}

func TestDiffSwapsPoolMembersWithoutEmptyingThePool(t *testing.T) {
	cur := Table{{Protocol: "TCP", Addr: ap("192.0.2.1:80"), Scheduler: "wlc", Netmask: 32,
		Destinations: []Destination{{Addr: ap("10.0.0.1:80"), Weight: 1}}}}
	des := cur.Clone()
	des[0].Destinations = []Destination{{Addr: ap("10.9.9.9:80"), Weight: 1}}
	ops := Plan(des, cur)
	if len(ops) != 2 || ops[0].Kind != OpAddDestination || ops[1].Kind != OpDeleteDestination {
		t.Fatalf("want add then delete, got %v", ops)
	}
}

func TestDiffIgnoresKernelOnlyDetails(t *testing.T) {
	cur := baseTable()
	for i := range cur {
		cur[i].Flags |= flagHashed
		cur[i].Stats = Stats{Conns: 5}
		for j := range cur[i].Destinations {
			cur[i].Destinations[j].ActiveConns = 9
		}
	}
	// The kernel turns a local real server into "local node".
	cur.Find("TCP:192.0.2.100:80").Destinations[0].Forward = ForwardLocal
	if ops := Plan(baseTable(), cur); len(ops) != 0 {
		t.Fatalf("hashed flag, counters or local node caused operations: %v", ops)
	}
}

func TestForeignListsServicesNotInConfiguration(t *testing.T) {
	got := foreignKeys(baseTable(), map[string]bool{"FWM:7:inet": true})
	want := []string{"TCP:192.0.2.100:80", "UDP:[2001:db8::1]:53"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}

func TestPlanOutputReadsLikeTerraform(t *testing.T) {
	cfg := testConfig()
	current := Table{{Protocol: "TCP", Addr: ap("192.0.2.100:80"), Scheduler: "wlc", Netmask: 32,
		Destinations: []Destination{
			{Addr: ap("10.0.0.1:80"), Forward: ForwardRoute, Weight: 1},
			{Addr: ap("10.0.0.7:80"), Forward: ForwardRoute, Weight: 1},
		}},
		{Protocol: "TCP", Addr: ap("203.0.113.9:22"), Scheduler: "rr", Netmask: 32},
	}
	ops, foreign := PlanConfig(cfg, current)
	var lines []string
	for _, op := range ops {
		lines = append(lines, op.String())
	}
	want := []string{
		"+ add service FWM 1 rr persistent 300s netmask /24",
		"+ add destination 10.0.0.3:0 to FWM 1 masq weight 1",
		"~ edit destination 10.0.0.1:80 of TCP 192.0.2.100:80: weight 1 -> 3",
		"+ add destination 10.0.0.2:80 to TCP 192.0.2.100:80 route weight 3",
		"- delete destination 10.0.0.7:80 of TCP 192.0.2.100:80",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(foreign, []string{"TCP:203.0.113.9:22"}) {
		t.Errorf("foreign = %v", foreign)
	}
}

func TestWritePlanSummarises(t *testing.T) {
	var b strings.Builder
	ops := Plan(baseTable(), nil)
	if err := WritePlan(&b, ops[:2], []string{"TCP:203.0.113.9:22"}); err != nil {
		t.Fatal(err)
	}
	want := "+ add service FWM 7 sh flags flag-1,flag-2\n" +
		"+ add service TCP 192.0.2.100:80 wlc\n" +
		"  leave foreign service TCP:203.0.113.9:22 alone (not in the configuration)\n" +
		"Plan: 2 to add, 0 to change, 0 to delete.\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	_ = WritePlan(&b, nil, nil)
	if !strings.HasPrefix(b.String(), "No changes") {
		t.Fatalf("empty plan: %q", b.String())
	}
}
