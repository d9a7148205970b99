package lvs

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/lvsd/lvsd/hcl"
)

// The Manager's verdict table answers as a map by VerdictKey would, for
// every order of arrival: an overwrite replaces, two ports or two families
// of one address are two real servers, a service's verdicts are apart
// from another's. Each service's verdicts take the room given on its
// first verdict (its real servers), not a grown slice's slack.
func TestVerdictTableAnswersAsAMapByKey(t *testing.T) {
	reals := []netip.AddrPort{
		ap("10.0.0.9:80"), ap("10.0.0.1:80"), ap("10.0.0.1:8080"), ap("[2001:db8::1]:80"),
		ap("[::ffff:10.0.0.1]:80"), ap("10.0.0.10:80"), ap("10.0.0.2:80"), ap("[2001:db8::1]:81"),
	}
	services := []string{"TCP:192.0.2.1:80", "TCP:192.0.2.2:80", "FWM:7:inet"}
	want := map[VerdictKey]Verdict{}
	table := verdictTable{}
	step := 0
	// Each service's real servers in another order (a stride prime to
	// their count), some twice with another verdict.
	for si, svc := range services {
		for n := range len(reals) + 3 {
			k := VerdictKey{Service: svc, Real: reals[(n*(2*si+3))%len(reals)]}
			step++
			v := Verdict{Up: step%3 != 0, Weight: step%5 - 1, Reason: fmt.Sprintf("step %d", step)}
			want[k] = v
			table.set(k, v, len(reals))
		}
	}
	for _, svc := range append(services, "UDP:192.0.2.1:53") {
		for _, real := range append(reals, ap("10.0.0.3:80")) {
			w, wok := want[VerdictKey{svc, real}]
			g, gok := table.get(svc, real)
			if w != g || wok != gok {
				t.Errorf("%s %s: got %+v, %v; want %+v, %v", svc, real, g, gok, w, wok)
			}
		}
	}
	for _, svc := range services {
		if list := table[svc]; len(list) != len(reals) || cap(list) != len(reals) {
			t.Errorf("%s: %d verdicts in a slice of %d, want %d in %d", svc, len(list), cap(list), len(reals), len(reals))
		}
	}
}

// BenchmarkDesireWithVerdicts computes the 2,000 x 16 table with a verdict
// for every real server, from the Manager's verdict table and from a map
// by VerdictKey (State.Verdicts).
func BenchmarkDesireWithVerdicts(b *testing.B) {
	cfg := &hcl.Config{Global: hcl.Global{LVSProgram: hcl.LVSProgramAlways}}
	byKey, table := map[VerdictKey]Verdict{}, verdictTable{}
	for i := range 2000 {
		vs := hcl.VirtualServer{Protocol: hcl.ProtoTCP, LBAlgo: "wlc", LBKind: hcl.KindDR, Quorum: 1, PersistenceGranularity: 32,
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 80)}
		for j := range 16 {
			rs := hcl.RealServer{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(j + 1)}), 80), Weight: 1, LBKind: hcl.KindDR}
			vs.RealServers = append(vs.RealServers, rs)
			k, v := VerdictKey{Service: vs.Key(), Real: rs.Addr}, Verdict{Up: j != 3, Weight: -1, Reason: "connected"}
			byKey[k] = v
			table.set(k, v, 16)
		}
		cfg.VirtualServers = append(cfg.VirtualServers, vs)
	}
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			Desire(State{Config: cfg, table: table})
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			Desire(State{Config: cfg, Verdicts: byKey})
		}
	})
}
