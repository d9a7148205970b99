package scenarios

import (
	"fmt"
	"slices"
	"testing"
)

// The traffic tests program IPVS with ipvsadm and check that a client's
// connections through each kind of VIP reach the real servers in the
// scheduler's proportion.

func TestDRVIPAlternatesBetweenRealServersWithRoundRobin(t *testing.T) {
	l := newLab(t)
	l.ipvsadm("-A", "-t", vipDR+":80", "-s", "rr")
	for _, rs := range l.reals {
		l.ipvsadm("-a", "-t", vipDR+":80", "-r", rs.ip+":80", "-g", "-w", "1")
	}
	assertAlternates(t, l.pages(vipDR, 80, 6))
}

func TestNATVIPAlternatesBetweenRealServersWithRoundRobin(t *testing.T) {
	l := newLab(t)
	l.ipvsadm("-A", "-t", vipNAT+":80", "-s", "rr")
	for _, rs := range l.reals {
		l.ipvsadm("-a", "-t", vipNAT+":80", "-r", rs.ip+":80", "-m", "-w", "1")
	}
	assertAlternates(t, l.pages(vipNAT, 80, 6))
}

func TestTUNVIPAlternatesBetweenRealServersWithRoundRobin(t *testing.T) {
	l := newLab(t)
	l.ipvsadm("-A", "-t", vipTUN+":80", "-s", "rr")
	for _, rs := range l.reals {
		l.ipvsadm("-a", "-t", vipTUN+":80", "-r", rs.ip+":80", "-i", "-w", "1")
	}
	assertAlternates(t, l.pages(vipTUN, 80, 6))
}

func TestIPv6NATVIPAlternatesBetweenRealServersWithRoundRobin(t *testing.T) {
	l := newLab(t)
	l.ipvsadm("-A", "-t", "["+vip6NAT+"]:80", "-s", "rr")
	for _, rs := range l.reals {
		l.ipvsadm("-a", "-t", "["+vip6NAT+"]:80", "-r", "["+rs.ip6+"]:80", "-m", "-w", "1")
	}
	assertAlternates(t, l.pages(vip6NAT, 80, 6))
}

func TestWeightedRoundRobinSplitsTwoToOne(t *testing.T) {
	for _, tc := range []struct {
		name, vip, method string
	}{
		{"DR", vipDR, "-g"},
		{"NAT", vipNAT, "-m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			l.ipvsadm("-A", "-t", tc.vip+":80", "-s", "wrr")
			l.ipvsadm("-a", "-t", tc.vip+":80", "-r", l.reals[0].ip+":80", tc.method, "-w", "2")
			l.ipvsadm("-a", "-t", tc.vip+":80", "-r", l.reals[1].ip+":80", tc.method, "-w", "1")
			got := l.pages(tc.vip, 80, 9)
			counts := map[string]int{}
			for _, p := range got {
				counts[p]++
			}
			if counts["rs1"] != 6 || counts["rs2"] != 3 {
				t.Errorf("9 connections with weights 2:1 went %v (%v), want rs1 6, rs2 3", counts, got)
			}
		})
	}
}

// assertAlternates checks that consecutive connections went to different
// real servers and that both were used (rr over two servers).
func assertAlternates(t *testing.T, got []string) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Fatalf("connections went %v: %d and %d hit the same real server", got, i-1, i)
		}
	}
	if !slices.Contains(got, "rs1") || !slices.Contains(got, "rs2") {
		t.Fatalf("connections went %v, want both rs1 and rs2", got)
	}
	t.Logf("connections went %v", fmt.Sprint(got))
}
