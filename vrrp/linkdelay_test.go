package vrrp

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestNodeInterfaceDelaysDebounceLinkChanges: with
// interface_up_down_delays eth1 2 1, a tracked eth1 down for less than
// 2 s changes nothing; down for longer puts the instance in FAULT only
// after the 2 s; up again, it leaves FAULT 1 s later; an interface with
// no delay is acted on at once (keepalived 2.2.7 update_interface_flags).
func TestNodeInterfaceDelaysDebounceLinkChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		cfg := hcltest.Load(t, `global {
  interface_up_down_delays = ["eth1 2 1"]
}
`+instanceHCL("VI_1", 51, 100, "192.0.2.100", "  track_interface = [\"eth1\", \"eth2\"]\n"))
		fa.setLink("eth1", true)
		fa.setLink("eth2", true)
		na := l.start(cfg, fa)
		l.settle()
		// The instance alone becomes MASTER after its Master_Down_Interval;
		// what matters is whether it is in FAULT.
		want := func(what string, s State) {
			t.Helper()
			if got := na.state("VI_1"); (got == StateFault) != (s == StateFault) {
				t.Fatalf("%s: %s, want %s", what, got, s)
			}
		}
		want("at start", StateBackup)
		fa.setLink("eth1", false)
		l.settle()
		l.advance(1500 * time.Millisecond)
		want("eth1 down 1.5 s", StateBackup)
		fa.setLink("eth1", true)
		l.settle()
		l.advance(3 * time.Second)
		want("eth1 back within its down delay", StateBackup)
		fa.setLink("eth1", false)
		l.settle()
		l.advance(2100 * time.Millisecond)
		want("eth1 down 2.1 s", StateFault)
		fa.setLink("eth1", true)
		l.settle()
		l.advance(500 * time.Millisecond)
		want("eth1 up 0.5 s", StateFault)
		l.advance(600 * time.Millisecond)
		want("eth1 up 1.1 s", StateBackup) // or MASTER: out of FAULT
		fa.setLink("eth2", false)
		l.settle()
		want("eth2 (no delay) down", StateFault)
	})
}
