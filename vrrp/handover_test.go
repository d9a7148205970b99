package vrrp

import (
	"testing"
	"time"
)

// TestHandoverKeepsTheAddressesUntilTheNewMasterIsHeard: the stopping
// master resigns with a priority-0 advert but holds its addresses while
// the backup waits its Skew_Time, and gives them up when the backup's
// first advert as MASTER arrives; at no moment does nobody hold them.
func TestHandoverKeepsTheAddressesUntilTheNewMasterIsHeard(t *testing.T) {
	l := newLab(t)
	a := l.add("a", 1, MachineConfig{Priority: 150, Preempt: true})
	b := l.add("b", 2, MachineConfig{Priority: 100, Preempt: true})
	l.start(a)
	l.start(b)
	l.runUntilMaster(a, 10*time.Second)
	l.run(5 * time.Second)
	l.expectStates(StateMaster, StateBackup)

	l.apply(a, a.m.Handover(l.now))
	if !a.m.HandingOver() || len(a.resigned) != 1 || !a.vips {
		t.Fatalf("after Handover: handing over %v, %d priority-0 adverts, VIPs held %v", a.m.HandingOver(), len(a.resigned), a.vips)
	}
	sent := len(a.adverts)
	l.run(SkewTime(100) - time.Millisecond)
	if !a.vips || b.vips || b.m.State() != StateBackup {
		t.Fatalf("before the backup's Skew_Time: a holds %v, b holds %v (%s)", a.vips, b.vips, b.m.State())
	}
	took := l.runUntilMaster(b, time.Second)
	if a.vips || !b.vips || a.m.State() != StateInit || a.m.HandingOver() {
		t.Fatalf("after b's first advert: a holds %v (%s), b holds %v", a.vips, a.m.State(), b.vips)
	}
	if len(a.adverts) != sent {
		t.Errorf("a sent %d adverts while handing over, want none", len(a.adverts)-sent)
	}
	t.Logf("b took over %v after the priority-0 advert; a held the VIPs until then", took+SkewTime(100)-time.Millisecond)
}

// TestHandoverAloneEndsAtTheLongestMasterDownInterval: with nobody to
// take over, the addresses go after 3 × advert_int + Skew_Time of
// priority 1, as a backup of any priority would have taken over by then.
func TestHandoverAloneEndsAtTheLongestMasterDownInterval(t *testing.T) {
	l := newLab(t)
	a := l.add("a", 1, MachineConfig{Priority: 255})
	l.start(a)
	l.run(3 * time.Second)
	start := l.now
	l.apply(a, a.m.Handover(l.now))
	bound := MasterDownInterval(time.Second, 1)
	l.run(bound - time.Millisecond)
	if !a.vips || a.m.State() != StateMaster {
		t.Fatalf("before the bound: VIPs %v, %s", a.vips, a.m.State())
	}
	l.run(time.Millisecond)
	if a.vips || a.m.State() != StateInit || l.now.Sub(start) != bound {
		t.Fatalf("at the bound %v: VIPs %v, %s", bound, a.vips, a.m.State())
	}
	if acts := a.m.Handover(l.now); acts != nil {
		t.Errorf("Handover out of MASTER: %v", acts)
	}
}
