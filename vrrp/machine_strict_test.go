package vrrp

import (
	"testing"
	"time"
)

// TestMasterAnswersALowerPriorityUnlessStrict: a MASTER hearing a lower
// priority answers at once with an advert and gratuitous ARPs, as
// keepalived does by default; with LowerPriorityNoAdvert (keepalived's
// strict mode) it discards the advert (RFC 3768 §6.4.3) and only reports
// it (notify_master_rx_lower_pri). Either way the other side steps down.
func TestMasterAnswersALowerPriorityUnlessStrict(t *testing.T) {
	for _, tc := range []struct {
		name           string
		noAdvert       bool
		adverts, garps int // sent by A on hearing B
		lowerPrioHeard int
	}{
		{"keepalived's default", false, 1, 1, 1},
		{"strict mode", true, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			a := l.add("A", 1, MachineConfig{Priority: 150, Preempt: true, LowerPriorityNoAdvert: tc.noAdvert})
			b := l.add("B", 2, MachineConfig{Priority: 100, Preempt: true})
			a.cut, b.cut = true, true
			l.start(a)
			l.start(b)
			l.run(5 * time.Second)
			l.expectStates(StateMaster, StateMaster)
			a.cut, b.cut = false, false
			adverts, garps := len(a.adverts), len(a.garps)
			heard := 0
			acts := a.m.Receive(l.now, b.ip, Advert{VRID: 1, Priority: 100, AdvertInt: 1})
			for _, act := range acts {
				if act.Kind == ActLowerPriorityHeard {
					heard++
				}
			}
			l.apply(a, acts)
			if got := len(a.adverts) - adverts; got != tc.adverts {
				t.Errorf("A sent %d adverts on hearing a lower priority, want %d", got, tc.adverts)
			}
			if got := len(a.garps) - garps; got != tc.garps {
				t.Errorf("A sent %d GARP rounds on hearing a lower priority, want %d", got, tc.garps)
			}
			if heard != tc.lowerPrioHeard {
				t.Errorf("A reported the lower priority %d times, want %d", heard, tc.lowerPrioHeard)
			}
			// B's next advert reaches A, A's next reaches B: B steps down.
			l.run(2 * time.Second)
			l.expectStates(StateMaster, StateBackup)
		})
	}
}
