package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// slack is what the namespace tests allow beyond a protocol bound for
// scheduling and capture (TESTING.md: bounds, not speed).
const slack = 250 * time.Millisecond

// startPair starts A (priority 150) and B (priority 100) and waits until A
// holds the VIP and B does not.
func startPair(t *testing.T, l *vrrpLab, kindA, kindB string) (*speaker, *speaker) {
	t.Helper()
	a, b := l.speaker("A", kindA, 150), l.speaker("B", kindB, 100)
	a.start()
	b.start()
	expectMaster(t, a, b, a.masterDownInterval()+3*time.Second)
	return a, b
}

// expectMaster waits until master holds the VIP and backup does not.
func expectMaster(t *testing.T, master, backup *speaker, limit time.Duration) {
	t.Helper()
	if !waitFor(limit, func() bool { return master.holdsVIP() && !backup.holdsVIP() }) {
		dumpGoroutines(master, backup)
		keepLogs(t, master, backup)
		t.Fatalf("after %v: %v holds VIP %v, %v holds VIP %v\n--- %v log:\n%s\n--- %v log:\n%s", limit,
			master, master.holdsVIP(), backup, backup.holdsVIP(),
			master, tail(master.logText(), 30), backup, tail(backup.logText(), 30))
	}
}

// failure is one way the master goes away, and how it comes back.
type failure struct {
	name string
	fail func(l *vrrpLab, a *speaker)
	heal func(l *vrrpLab, a *speaker)
	// holdsVIPWhileFailed: a stopped process keeps its addresses.
	holdsVIPWhileFailed bool
}

var failures = []failure{
	{name: "SIGTERM", fail: func(l *vrrpLab, a *speaker) {
		took, ok := a.term()
		if !ok {
			l.t.Fatalf("%v did not exit within 5 s of SIGTERM", a)
		}
		if a.kind == "lvsd" && took > time.Second {
			l.t.Errorf("%v took %v to exit after SIGTERM, want < 1 s", a, took)
		}
		if a.kind == "lvsd" && !strings.Contains(a.logText(), "lvsd node stopped") && !strings.Contains(a.logText(), "MASTER") {
			l.t.Errorf("%v log does not show a clean stop:\n%s", a, tail(a.logText(), 10))
		}
	}, heal: func(_ *vrrpLab, a *speaker) { a.start() }},
	// A killed node leaves its VIP behind; it removes it when it restarts.
	{name: "kill-9", fail: func(_ *vrrpLab, a *speaker) { a.kill9() }, heal: func(_ *vrrpLab, a *speaker) { a.start() }, holdsVIPWhileFailed: true},
	{name: "link-cut", fail: func(l *vrrpLab, a *speaker) { l.cutLink(a.name, true) }, heal: func(l *vrrpLab, a *speaker) { l.cutLink(a.name, false) }},
	{name: "SIGSTOP", fail: func(_ *vrrpLab, a *speaker) { a.stop() }, heal: func(_ *vrrpLab, a *speaker) { a.cont() }, holdsVIPWhileFailed: true},
}

// failoverChain runs every failure in turn on one VRRPv2 pair: the master
// fails, the backup takes over within its Master_Down_Interval (+ slack)
// counted from the master's last advert on the wire to the backup's first
// GARP as the client sees them; the master returns and preempts.
func failoverChain(t *testing.T, kindA, kindB string) {
	failoverChainOf(t, proto{}, kindA, kindB, failures, slack)
}

// failoverChainOf is failoverChain for the protocol p (vrrp3_test.go), the
// failures fs and the margin allowed beyond the backup's
// Master_Down_Interval. Over IPv6 the announcement is an unsolicited
// neighbour advertisement, and the client's neighbour entry for the VIP,
// made by a ping beforehand, must follow it to the new master.
func failoverChainOf(t *testing.T, p proto, kindA, kindB string, fs []failure, margin time.Duration) {
	l := newVRRPLabFor(t, p)
	wire := l.capture("C")
	a, b := startPair(t, l, kindA, kindB)
	for _, f := range fs {
		t.Run(f.name, func(t *testing.T) {
			l.t = t
			time.Sleep(300 * time.Millisecond) // let the master advertise in steady state
			if p.ipv6 {
				l.resolveVIP("C")
			}
			failAt := time.Now()
			f.fail(l, a)
			bound := b.masterDownInterval() + margin
			garp, ok := wire.firstAnnounce(p.vip(), b.wireMAC(), failAt, bound+2*time.Second)
			if !ok {
				t.Fatalf("no GARP/NA from %v within %v of %s\n--- %v log:\n%s", b, bound+2*time.Second, f.name, b, tail(b.logText(), 20))
			}
			last, ok := wire.lastAdvertFrom(a.wireMAC(), garp.at)
			if p.unicast {
				// Unicast adverts reach the client only until the
				// bridge has learnt the MACs: count from the failure.
				last, ok = wireEvent{at: failAt}, true
			}
			if !ok {
				t.Fatalf("no advert of the master (%v) on the wire; last events:\n%s", a.wireMAC(), wire.describe(10))
			}
			took := garp.at.Sub(last.at)
			from := fmt.Sprintf("last advert (priority %d)", last.priority)
			if p.unicast {
				from = "failure"
			}
			t.Logf("%s %s: %v: %s -> first GARP/NA of %v: %v (bound %v)", p, f.name, a, from, b, took.Round(time.Millisecond), bound)
			if took > bound {
				t.Errorf("takeover took %v, want within Master_Down_Interval + %v = %v", took, margin, bound)
			}
			if !waitFor(time.Second, b.holdsVIP) {
				t.Errorf("%v sent GARP/NA but does not hold the VIP", b)
			}
			if p.ipv6 && b.kind == "lvsd" {
				// keepalived's NA: Override, not Solicited, Router
				// only where the interface forwards (the lab's do not).
				if garp.naFlags != 0x20 {
					t.Errorf("%v's NA flags %#x, want Override only (0x20)", b, garp.naFlags)
				}
				// The VIP came without duplicate address detection.
				if out := run(t, "ip", "-n", l.ns[b.name], "-6", "-o", "addr", "show", "dev", "eth0"); !strings.Contains(out, labVIP6+labPrefix6+" scope global nodad") {
					t.Errorf("%v's VIP is not nodad:\n%s", b, out)
				}
			}
			if p.ipv6 {
				// The NA overrides the client's entry (RFC 4861 §7.2.6).
				want := b.wireMAC().String()
				if !waitFor(200*time.Millisecond, func() bool { return l.neighbourMAC("C") == want }) {
					t.Errorf("client's neighbour entry for %s is %q, want %v's %s", labVIP6, l.neighbourMAC("C"), b, want)
				}
			}
			released := !a.holdsVIP()
			if a.kind == "frr" && !released {
				// FRR's protodown is set by zebra, which may hear
				// vrrpd's last request after vrrpd has exited.
				released = waitFor(time.Second, func() bool { return !a.holdsVIP() })
			}
			if !f.holdsVIPWhileFailed && !released {
				t.Errorf("failed %v still holds the VIP", a)
			}
			f.heal(l, a)
			// The old master returns with the higher priority and preempts.
			expectMaster(t, a, b, a.masterDownInterval()+3*time.Second)
		})
		if t.Failed() {
			return
		}
	}
	if p != (proto{}) {
		// Both ends agree on the wire: neither dropped the other's adverts.
		for _, s := range []*speaker{a, b} {
			if c := s.wireComplaints(); c != "" {
				t.Errorf("%v dropped its peer's adverts:\n%s", s, c)
			}
		}
	}
}

func TestVRRPFailoverLvsdPair(t *testing.T) { failoverChain(t, "lvsd", "lvsd") }

func TestVRRPFailoverLvsdMasterKeepalivedBackup(t *testing.T) {
	requireKeepalived(t)
	failoverChain(t, "lvsd", "keepalived")
}

func TestVRRPFailoverKeepalivedMasterLvsdBackup(t *testing.T) {
	requireKeepalived(t)
	failoverChain(t, "keepalived", "lvsd")
}

// TestVRRPNoPreempt: a returning higher-priority node with nopreempt stays
// BACKUP while the current master advertises.
func TestVRRPNoPreempt(t *testing.T) {
	for _, kind := range []string{"lvsd", "keepalived"} {
		t.Run(kind+"-returns", func(t *testing.T) {
			if kind == "keepalived" {
				requireKeepalived(t)
			}
			l := newVRRPLab(t)
			a, b := l.speaker("A", kind, 150), l.speaker("B", "lvsd", 100)
			a.nopre = true
			b.start()
			if !waitFor(b.masterDownInterval()+3*time.Second, b.holdsVIP) {
				t.Fatalf("%v alone did not become master:\n%s", b, tail(b.logText(), 20))
			}
			a.start()
			time.Sleep(a.masterDownInterval() + time.Second)
			if a.holdsVIP() || !b.holdsVIP() {
				t.Fatalf("nopreempt %v took over (A VIP %v, B VIP %v)\n%s", a, a.holdsVIP(), b.holdsVIP(), tail(a.logText(), 20))
			}
			// Now the master goes: the nopreempt node takes over.
			b.term()
			if !waitFor(a.masterDownInterval()+time.Second, a.holdsVIP) {
				t.Fatalf("%v did not take over after the master stopped", a)
			}
		})
	}
}

// dumpGoroutines makes lvsd nodes print their goroutines into their logs
// (SIGQUIT), for failure messages.
func dumpGoroutines(nodes ...*speaker) {
	for _, n := range nodes {
		if n.kind == "lvsd" && n.p != nil {
			n.p.signal(syscall.SIGQUIT)
		}
	}
	time.Sleep(300 * time.Millisecond)
}

// keepLogs copies the nodes' logs to $LVSD_KEEP_LOGS, when set, for a
// failure to be looked at after the lab is gone.
func keepLogs(t *testing.T, nodes ...*speaker) {
	dir := os.Getenv("LVSD_KEEP_LOGS")
	if dir == "" {
		return
	}
	os.MkdirAll(dir, 0o755)
	for _, n := range nodes {
		if n.p != nil {
			os.WriteFile(filepath.Join(dir, filepath.Base(n.p.log)), []byte(n.logText()), 0o644)
		}
	}
	t.Logf("logs kept in %s", dir)
}

// TestVRRPUnicast: unicast_peer/unicast_src_ip instead of multicast, lvsd
// with lvsd and with keepalived in both roles: election, takeover after
// SIGTERM and after kill -9, preemption on return.
func TestVRRPUnicast(t *testing.T) {
	for _, kinds := range [][2]string{{"lvsd", "lvsd"}, {"lvsd", "keepalived"}, {"keepalived", "lvsd"}} {
		t.Run(kinds[0]+"-"+kinds[1], func(t *testing.T) {
			if kinds[0] == "keepalived" || kinds[1] == "keepalived" {
				requireKeepalived(t)
			}
			l := newVRRPLab(t)
			wire := l.capture("C")
			a, b := l.speaker("A", kinds[0], 150), l.speaker("B", kinds[1], 100)
			a.unicast, b.unicast = true, true
			a.start()
			b.start()
			expectMaster(t, a, b, a.masterDownInterval()+3*time.Second)
			for _, f := range []struct {
				name  string
				fail  func()
				bound time.Duration
			}{
				// Unicast adverts do not reach the client once the bridge
				// has learnt the MACs: measure from the moment of failure.
				{"SIGTERM", func() { a.term() }, b.masterDownInterval() + slack},
				{"kill-9", a.kill9, b.masterDownInterval() + time.Second + slack},
			} {
				time.Sleep(300 * time.Millisecond)
				at := time.Now()
				f.fail()
				garp, ok := wire.firstGARP(l.mac["B"], at, f.bound+2*time.Second)
				if !ok {
					t.Fatalf("%s: no GARP from %v\n%s", f.name, b, tail(b.logText(), 20))
				}
				took := garp.at.Sub(at)
				t.Logf("%s: failure -> first GARP of %v: %v", f.name, b, took.Round(time.Millisecond))
				if took > f.bound {
					t.Errorf("%s: takeover took %v, want within %v", f.name, took, f.bound)
				}
				a.start()
				expectMaster(t, a, b, a.masterDownInterval()+3*time.Second)
			}
		})
	}
}
