package vrrp

import (
	"net/netip"
	"testing"
	"time"
)

// pairV3 starts A (priority pa, interval ia) and B (pb, ib) as VRRPv3
// machines and lets them elect.
func pairV3(t *testing.T, pa int, ia time.Duration, pb int, ib time.Duration) (*lab, *router, *router) {
	l := newLab(t)
	a := l.add("A", 1, MachineConfig{Version: 3, Priority: pa, AdvertInt: ia, Preempt: true})
	b := l.add("B", 2, MachineConfig{Version: 3, Priority: pb, AdvertInt: ib, Preempt: true})
	l.start(a)
	l.start(b)
	l.run(5 * time.Second)
	return l, a, b
}

func TestTimersFollowRFC5798(t *testing.T) {
	// Skew_Time = ((256 − Priority) × Master_Adver_Interval) / 256.
	if got, want := SkewTimeV3(100, 100*time.Millisecond), 60937500*time.Nanosecond; got != want {
		t.Fatalf("Skew_Time(100, 0.1 s) = %v, want %v", got, want)
	}
	// Master_Down_Interval = 3 × Master_Adver_Interval + Skew_Time.
	if got, want := MasterDownIntervalV3(100*time.Millisecond, 100), 360937500*time.Nanosecond; got != want {
		t.Fatalf("Master_Down_Interval(0.1 s, 100) = %v, want %v", got, want)
	}
	// With a 1 s interval v3 equals v2's (Skew_Time scaled by 1 s).
	if got, want := MasterDownIntervalV3(time.Second, 100), MasterDownInterval(time.Second, 100); got != want {
		t.Fatalf("v3 at 1 s = %v, v2 = %v", got, want)
	}
	// The worst case of a 0.1 s interval, priority 1, stays under 0.4 s.
	if got := MasterDownIntervalV3(100*time.Millisecond, 1); got >= 400*time.Millisecond {
		t.Fatalf("Master_Down_Interval(0.1 s, 1) = %v, want < 0.4 s", got)
	}
}

// TestCentisecondTakeoverBound: with advert_int 0.1 the backup takes over
// exactly Master_Down_Interval (0.3609375 s at priority 100) after the
// master's last advert, in fake time: under 0.4 s, the bound RFC 5798's
// centisecond interval exists for.
func TestCentisecondTakeoverBound(t *testing.T) {
	for _, how := range []string{"kill", "link cut"} {
		t.Run(how, func(t *testing.T) {
			l, a, b := pairV3(t, 150, 100*time.Millisecond, 100, 100*time.Millisecond)
			l.expectStates(StateMaster, StateBackup)
			if n := len(a.adverts); n < 45 {
				t.Fatalf("master sent %d adverts in 5 s, want one per 0.1 s", n)
			}
			last := a.adverts[len(a.adverts)-1]
			if how == "kill" {
				a.stopped = true
			} else {
				a.cut = true
				l.apply(a, a.m.SetFault(l.now, true, "link down"))
			}
			l.runUntilMaster(b, time.Second)
			took := b.garps[0].Sub(last)
			want := MasterDownIntervalV3(100*time.Millisecond, 100)
			if took != want || took >= 400*time.Millisecond {
				t.Fatalf("GARP %v after the last advert, want Master_Down_Interval %v (< 0.4 s)", took, want)
			}
		})
	}
}

// TestBackupAdoptsTheMastersInterval: RFC 5798 §6.4.2: a Backup sets
// Master_Adver_Interval to the advert's, so its Master_Down_Interval
// follows the master even when its own advert_int differs (keepalived
// logs the difference and does the same).
func TestBackupAdoptsTheMastersInterval(t *testing.T) {
	l, a, b := pairV3(t, 150, 200*time.Millisecond, 100, time.Second)
	l.expectStates(StateMaster, StateBackup)
	if got := b.m.MasterAdverInterval(); got != 200*time.Millisecond {
		t.Fatalf("backup's Master_Adver_Interval %v, want the master's 200ms", got)
	}
	last := a.adverts[len(a.adverts)-1]
	a.stopped = true
	l.runUntilMaster(b, 5*time.Second)
	if took, want := b.garps[0].Sub(last), MasterDownIntervalV3(200*time.Millisecond, 100); took != want {
		t.Fatalf("took %v, want Master_Down_Interval of the master's interval %v", took, want)
	}
	// As MASTER it advertises its own interval again.
	n := len(b.adverts)
	l.run(10 * time.Second)
	if got := len(b.adverts) - n; got != 10 {
		t.Fatalf("new master sent %d adverts in 10 s, want its own 1 s interval", got)
	}
}

// TestV3PriorityZeroTakeoverIsScaledSkew: a resigning master is followed
// after Skew_Time, which VRRPv3 scales by the interval.
func TestV3PriorityZeroTakeoverIsScaledSkew(t *testing.T) {
	l, a, b := pairV3(t, 150, 100*time.Millisecond, 100, 100*time.Millisecond)
	l.run(30 * time.Millisecond)
	at := l.now
	l.apply(a, a.m.Shutdown(l.now))
	a.stopped = true
	l.runUntilMaster(b, time.Second)
	if took, want := b.garps[0].Sub(at), SkewTimeV3(100, 100*time.Millisecond); took != want {
		t.Fatalf("took %v, want Skew_Time %v", took, want)
	}
}

// TestV2KeepsItsFixedSkew: a VRRPv2 machine ignores any interval it hears
// and keeps Skew_Time = (256 − Priority)/256 s (RFC 3768 §6.1).
func TestV2KeepsItsFixedSkew(t *testing.T) {
	m := NewMachine(MachineConfig{Priority: 100, AdvertInt: time.Second, Preempt: true, GarpRepeat: 1, GarpRefreshRepeat: 1})
	m.Start(epoch)
	m.Receive(epoch, epoch3(), Advert{Version: Version3, VRID: 1, Priority: 200, MaxAdvertInt: 10})
	if m.MasterAdverInterval() != time.Second || m.SkewTime() != SkewTime(100) {
		t.Fatalf("v2 machine adopted an interval: %v, skew %v", m.MasterAdverInterval(), m.SkewTime())
	}
	if got, want := m.Deadline().Sub(epoch), MasterDownInterval(time.Second, 100); got != want {
		t.Fatalf("Master_Down_Timer in %v, want %v", got, want)
	}
}

func epoch3() netip.Addr { return netip.MustParseAddr("10.0.0.9") }
