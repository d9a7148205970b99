package vrrp

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// lab wires several machines to one simulated segment with a fake clock:
// an advert sent by one is received by every other at the same instant.
type lab struct {
	t       *testing.T
	now     time.Time
	routers []*router
}

type router struct {
	name     string
	ip       netip.Addr
	m        *Machine
	vips     bool // holds the VIPs
	cut      bool // link cut: sends and hears nothing
	stopped  bool // SIGSTOP / kill -9: no events at all
	garps    []time.Time
	adverts  []time.Time // adverts with priority > 0 sent
	resigned []time.Time // priority-0 adverts sent
	trans    []Action
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newLab(t *testing.T) *lab { return &lab{t: t, now: epoch} }

// add puts a router named name at 10.0.0.last on the lab's segment.
func (l *lab) add(name string, last byte, cfg MachineConfig) *router {
	r := &router{name: name, ip: netip.AddrFrom4([4]byte{10, 0, 0, last})}
	r.m = NewMachine(r.config(cfg))
	l.routers = append(l.routers, r)
	return r
}

// config is cfg for r: r's address, and what a test leaves zero set as
// hcl's defaults would (advert_int 1s, garp_master_repeat 5,
// garp_master_refresh_repeat 1), since a Machine takes its config as final.
func (r *router) config(cfg MachineConfig) MachineConfig {
	cfg.PrimaryIP = r.ip
	if cfg.AdvertInt == 0 {
		cfg.AdvertInt = time.Second
	}
	if cfg.GarpRepeat == 0 {
		cfg.GarpRepeat = 5
	}
	if cfg.GarpRefreshRepeat == 0 {
		cfg.GarpRefreshRepeat = 1
	}
	return cfg
}

func (l *lab) start(r *router) { l.apply(r, r.m.Start(l.now)) }

// apply executes actions of r, delivering adverts to the others.
func (l *lab) apply(r *router, acts []Action) {
	for _, a := range acts {
		switch a.Kind {
		case ActTransition:
			r.trans = append(r.trans, a)
		case ActAddVIPs:
			r.vips = true
		case ActRemoveVIPs:
			r.vips = false
		case ActSendGARP:
			if !r.cut {
				r.garps = append(r.garps, l.now)
			}
		case ActSendAdvert:
			if a.Priority == 0 {
				r.resigned = append(r.resigned, l.now)
			} else {
				r.adverts = append(r.adverts, l.now)
			}
			if r.cut {
				continue
			}
			adv := Advert{VRID: 1, Priority: uint8(a.Priority), AdvertInt: 1}
			if r.m.v3() {
				adv = Advert{Version: Version3, VRID: 1, Priority: uint8(a.Priority),
					MaxAdvertInt: uint16(r.m.cfg.AdvertInt / (10 * time.Millisecond))}
			}
			for _, o := range l.routers {
				if o != r && !o.cut && !o.stopped {
					l.apply(o, o.m.Receive(l.now, r.ip, adv))
				}
			}
		}
	}
}

// run advances the clock to until, firing timers in order.
func (l *lab) run(d time.Duration) {
	until := l.now.Add(d)
	for {
		var next *router
		for _, r := range l.routers {
			if r.stopped {
				continue
			}
			if dl := r.m.Deadline(); !dl.IsZero() && (next == nil || dl.Before(next.m.Deadline())) {
				next = r
			}
		}
		if next == nil || next.m.Deadline().After(until) {
			l.now = until
			return
		}
		l.now = next.m.Deadline()
		l.apply(next, next.m.Tick(l.now))
	}
}

// runUntilMaster advances until r is MASTER and returns how long it took.
func (l *lab) runUntilMaster(r *router, limit time.Duration) time.Duration {
	l.t.Helper()
	start := l.now
	for l.now.Sub(start) < limit {
		if r.m.State() == StateMaster {
			return l.now.Sub(start)
		}
		l.run(time.Millisecond)
	}
	l.t.Fatalf("%s not MASTER after %v (state %s)", r.name, limit, r.m.State())
	return 0
}

func (l *lab) expectStates(want ...State) {
	l.t.Helper()
	for i, r := range l.routers {
		if got := r.m.State(); got != want[i] {
			l.t.Fatalf("at %v: %s is %s, want %s", l.now.Sub(epoch), r.name, got, want[i])
		}
		if r.vips != (want[i] == StateMaster) {
			l.t.Fatalf("%s in %s holds VIPs = %v", r.name, want[i], r.vips)
		}
	}
}

// pair starts a (prio a) and b (prio b) and lets them elect.
func pair(t *testing.T, pa, pb int, tweak func(*MachineConfig)) (*lab, *router, *router) {
	l := newLab(t)
	ca, cb := MachineConfig{Priority: pa, Preempt: true}, MachineConfig{Priority: pb, Preempt: true}
	if tweak != nil {
		tweak(&cb)
	}
	a, b := l.add("A", 1, ca), l.add("B", 2, cb)
	l.start(a)
	l.start(b)
	l.run(5 * time.Second)
	return l, a, b
}

func TestTimersFollowRFC3768(t *testing.T) {
	if got, want := SkewTime(100), 609375*time.Microsecond; got != want {
		t.Fatalf("Skew_Time(100) = %v, want %v", got, want)
	}
	if got, want := MasterDownInterval(time.Second, 100), 3*time.Second+609375*time.Microsecond; got != want {
		t.Fatalf("Master_Down_Interval = %v, want %v", got, want)
	}
	if got := SkewTime(255); got != 3906250*time.Nanosecond {
		t.Fatalf("Skew_Time(255) = %v", got)
	}
}

func TestHigherPriorityWinsElection(t *testing.T) {
	l, a, _ := pair(t, 150, 100, nil)
	l.expectStates(StateMaster, StateBackup)
	if ip, prio := l.routers[1].m.Master(); ip != a.ip || prio != 150 {
		t.Fatalf("backup sees master %v/%d", ip, prio)
	}
	// The master advertises once per advert_int.
	n := len(a.adverts)
	l.run(10 * time.Second)
	if got := len(a.adverts) - n; got != 10 {
		t.Fatalf("%d adverts in 10 s, want 10", got)
	}
	l.expectStates(StateMaster, StateBackup)
}

func TestFirstStarterBecomesMasterAfterMasterDownInterval(t *testing.T) {
	l := newLab(t)
	a := l.add("A", 1, MachineConfig{Priority: 100, Preempt: true})
	l.start(a)
	l.runUntilMaster(a, 10*time.Second)
	if took, want := a.garps[0].Sub(epoch), MasterDownInterval(time.Second, 100); took != want {
		t.Fatalf("took %v, want Master_Down_Interval %v", took, want)
	}
	if len(a.garps) != 1 || len(a.adverts) != 1 {
		t.Fatalf("on takeover: %d GARP rounds, %d adverts; want 1 and 1", len(a.garps), len(a.adverts))
	}
}

func TestAddressOwnerTakesOverAtOnce(t *testing.T) {
	l, a, b := pair(t, 100, 255, nil)
	_ = a
	l.expectStates(StateBackup, StateMaster)
	if b.trans[0].From != StateInit || b.trans[0].To != StateMaster {
		t.Fatalf("owner went %v -> %v first", b.trans[0].From, b.trans[0].To)
	}
}

func TestBackupTakesOverAfterMasterDownInterval(t *testing.T) {
	for _, how := range []string{"kill", "link cut", "stop"} {
		t.Run(how, func(t *testing.T) {
			l, a, b := pair(t, 150, 100, nil)
			last := a.adverts[len(a.adverts)-1]
			switch how {
			case "kill", "stop":
				a.stopped = true
			case "link cut":
				a.cut = true
				l.apply(a, a.m.SetFault(l.now, true, "link down"))
			}
			l.runUntilMaster(b, 10*time.Second)
			took := b.garps[0].Sub(last)
			if mdi := MasterDownInterval(time.Second, 100); took != mdi {
				t.Fatalf("GARP %v after last advert, want Master_Down_Interval %v", took, mdi)
			}
		})
	}
}

func TestBackupTakesOverAfterSkewTimeOnPriorityZero(t *testing.T) {
	l, a, b := pair(t, 150, 100, nil)
	l.run(300 * time.Millisecond)
	at := l.now
	l.apply(a, a.m.Shutdown(l.now))
	if len(a.resigned) != 1 || a.vips {
		t.Fatalf("shutdown: %d priority-0 adverts, VIPs held %v", len(a.resigned), a.vips)
	}
	a.stopped = true
	l.runUntilMaster(b, 5*time.Second)
	if took := b.garps[0].Sub(at); took != SkewTime(100) {
		t.Fatalf("took %v, want Skew_Time %v", took, SkewTime(100))
	}
}

func TestPreemption(t *testing.T) {
	tests := []struct {
		name        string
		tweak       func(*MachineConfig)
		wantPreempt time.Duration // 0: never
	}{
		{"preempt", nil, MasterDownInterval(time.Second, 200)},
		{"nopreempt", func(c *MachineConfig) { c.Preempt = false }, 0},
		{"preempt_delay", func(c *MachineConfig) { c.PreemptDelay = 10 * time.Second }, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A (100) is master alone; B (200) joins later.
			l := newLab(t)
			a := l.add("A", 1, MachineConfig{Priority: 100, Preempt: true})
			cb := MachineConfig{Priority: 200, Preempt: true}
			if tt.tweak != nil {
				tt.tweak(&cb)
			}
			b := l.add("B", 2, cb)
			b.stopped = true
			l.start(a)
			l.runUntilMaster(a, 5*time.Second)
			b.stopped = false
			joined := l.now
			l.start(b)
			if tt.wantPreempt == 0 {
				l.run(30 * time.Second)
				l.expectStates(StateMaster, StateBackup)
				return
			}
			l.runUntilMaster(b, 30*time.Second)
			took := l.now.Sub(joined)
			if took < tt.wantPreempt || took > tt.wantPreempt+MasterDownInterval(time.Second, 200)+2*time.Millisecond {
				t.Fatalf("preempted after %v, want %v (+ at most one Master_Down_Interval)", took, tt.wantPreempt)
			}
			l.run(time.Millisecond)
			l.expectStates(StateBackup, StateMaster)
		})
	}
}

func TestEqualPriorityHigherPrimaryIPWins(t *testing.T) {
	// Two masters of equal priority meet (RFC 3768 §6.4.3): the higher
	// primary address (B, 10.0.0.2) stays master whoever speaks first.
	for _, first := range []int{0, 1} {
		l := newLab(t)
		a := l.add("A", 1, MachineConfig{Priority: 100, Preempt: true})
		b := l.add("B", 2, MachineConfig{Priority: 100, Preempt: true})
		a.cut, b.cut = true, true
		l.start(a)
		l.start(b)
		l.run(5 * time.Second)
		a.cut, b.cut = false, false
		r := l.routers[first]
		l.apply(r, r.m.Tick(r.m.Deadline()))
		l.expectStates(StateBackup, StateMaster)
		l.run(20 * time.Second)
		l.expectStates(StateBackup, StateMaster)
	}
}

func TestBackupFollowsEqualPriorityMaster(t *testing.T) {
	// RFC 3768 §6.4.2: a backup resets its timer on an advert of equal
	// priority, whatever the sender's address.
	l := newLab(t)
	a := l.add("A", 1, MachineConfig{Priority: 100, Preempt: true})
	b := l.add("B", 2, MachineConfig{Priority: 100, Preempt: true})
	b.stopped = true
	l.start(a)
	l.runUntilMaster(a, 5*time.Second)
	b.stopped = false
	l.start(b)
	l.run(20 * time.Second)
	l.expectStates(StateMaster, StateBackup)
}

func TestSplitBrainHeals(t *testing.T) {
	// Both become master while the link is cut, then it heals: the lower
	// priority one hears the higher and steps down; the higher re-advertises
	// and re-sends GARPs at once when it hears the lower (keepalived #166).
	l := newLab(t)
	a := l.add("A", 1, MachineConfig{Priority: 150, Preempt: true})
	b := l.add("B", 2, MachineConfig{Priority: 100, Preempt: true})
	a.cut, b.cut = true, true
	l.start(a)
	l.start(b)
	l.run(5 * time.Second)
	l.expectStates(StateMaster, StateMaster)
	a.cut, b.cut = false, false
	garps := len(a.garps)
	// Let B advertise first: A hears a lower priority and answers at once.
	l.apply(b, b.m.Tick(b.m.Deadline()))
	l.expectStates(StateMaster, StateBackup)
	if len(a.garps) != garps+1 {
		t.Fatalf("master re-sent %d GARP rounds on hearing a lower priority, want 1", len(a.garps)-garps)
	}
}

func TestFaultOnLinkDownAndRecovery(t *testing.T) {
	l, a, b := pair(t, 150, 100, nil)
	l.apply(a, a.m.SetFault(l.now, true, "eth0 down"))
	if len(a.resigned) != 1 {
		t.Fatal("no priority-0 advert on entering FAULT")
	}
	l.run(time.Second)
	l.expectStates(StateFault, StateMaster)
	_ = b
	// Adverts are ignored in FAULT.
	l.run(5 * time.Second)
	l.expectStates(StateFault, StateMaster)
	l.apply(a, a.m.SetFault(l.now, false, "eth0 up"))
	if a.m.State() != StateBackup {
		t.Fatalf("recovered to %s, want BACKUP", a.m.State())
	}
	l.runUntilMaster(a, 10*time.Second) // preempts again
	l.run(time.Millisecond)
	l.expectStates(StateMaster, StateBackup)
}

func TestTrackWeightLowersPriorityAndHandsOver(t *testing.T) {
	l, a, _ := pair(t, 150, 100, nil)
	l.apply(a, a.m.SetPriority(l.now, 90))
	l.run(5 * time.Second)
	l.expectStates(StateBackup, StateMaster)
}

func TestGarpRepeatDelayAndRefresh(t *testing.T) {
	l := newLab(t)
	a := l.add("A", 1, MachineConfig{Priority: 255, Preempt: true, GarpRepeat: 5, GarpDelay: 5 * time.Second,
		GarpRefresh: 10 * time.Second, GarpRefreshRepeat: 2})
	l.start(a)
	l.run(25 * time.Second)
	var got []string
	for _, g := range a.garps {
		got = append(got, g.Sub(epoch).String())
	}
	if want := "[0s 5s 10s 20s]"; fmt.Sprint(got) != want {
		t.Fatalf("GARP rounds at %v, want %v", got, want)
	}
}

func TestSyncGroupForce(t *testing.T) {
	l, a, _ := pair(t, 150, 100, nil)
	l.apply(a, a.m.Force(l.now, StateBackup, "sync group"))
	if a.m.State() != StateBackup || a.vips || len(a.resigned) != 0 {
		t.Fatalf("forced backup: state %s, vips %v, resigned %d", a.m.State(), a.vips, len(a.resigned))
	}
	l.apply(a, a.m.Force(l.now, StateFault, "sync group"))
	if a.m.State() != StateFault {
		t.Fatalf("forced fault: %s", a.m.State())
	}
}

func TestShutdownFromBackupSendsNothing(t *testing.T) {
	l, _, b := pair(t, 150, 100, nil)
	n := len(b.adverts) + len(b.resigned)
	l.apply(b, b.m.Shutdown(l.now))
	if b.m.State() != StateInit || len(b.adverts)+len(b.resigned) != n {
		t.Fatalf("backup shutdown: state %s, sent %d", b.m.State(), len(b.adverts)+len(b.resigned)-n)
	}
}

// restart replaces r's machine as a restarted daemon would (kill -9, then
// start): the kernel kept r's VIPs, so the new machine resumes.
func (l *lab) restart(r *router, cfg MachineConfig) {
	r.m, r.stopped, r.trans = NewMachine(r.config(cfg)), false, nil
	l.apply(r, r.m.Resume(l.now))
}

func TestResumeAfterKillKeepsOrYieldsTheVIPs(t *testing.T) {
	cases := []struct {
		name      string
		down      time.Duration // how long A's daemon was dead
		aCfg      MachineConfig // the restarted A
		bPriority int
		want      [2]State // A, B after the dust settles
		bTookOver bool     // B was ever MASTER
	}{
		{name: "quick restart: A takes mastership back before B notices",
			down: 500 * time.Millisecond, aCfg: MachineConfig{Priority: 150, Preempt: true}, bPriority: 100,
			want: [2]State{StateMaster, StateBackup}},
		{name: "B took over, A preempts it back at once",
			down: 10 * time.Second, aCfg: MachineConfig{Priority: 150, Preempt: true}, bPriority: 100,
			want: [2]State{StateMaster, StateBackup}, bTookOver: true},
		{name: "B took over, A with nopreempt yields",
			down: 10 * time.Second, aCfg: MachineConfig{Priority: 150}, bPriority: 100,
			want: [2]State{StateBackup, StateMaster}, bTookOver: true},
		{name: "B took over, A within preempt_delay yields",
			down: 10 * time.Second, aCfg: MachineConfig{Priority: 150, Preempt: true, PreemptDelay: time.Minute}, bPriority: 100,
			want: [2]State{StateBackup, StateMaster}, bTookOver: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t)
			a := l.add("A", 1, MachineConfig{Priority: 150, Preempt: true})
			b := l.add("B", 2, MachineConfig{Priority: c.bPriority, Preempt: true})
			l.start(a)
			l.start(b)
			l.run(5 * time.Second)
			l.expectStates(StateMaster, StateBackup)
			// kill -9: no priority-0 advert, the VIPs stay.
			a.stopped = true
			l.run(c.down)
			l.restart(a, c.aCfg)
			if a.m.State() != StateInit || !a.m.Resuming() || !a.vips {
				t.Fatalf("resuming A: state %s, resuming %v, VIPs %v", a.m.State(), a.m.Resuming(), a.vips)
			}
			l.run(10 * time.Second)
			l.expectStates(c.want[0], c.want[1])
			tookOver := false
			for _, tr := range b.trans {
				tookOver = tookOver || tr.To == StateMaster
			}
			if tookOver != c.bTookOver {
				t.Fatalf("B took over: %v, want %v (B transitions %+v)", tookOver, c.bTookOver, b.trans)
			}
		})
	}
}

func TestResumeWaitsResumeIntervalThenAdvertises(t *testing.T) {
	l := newLab(t)
	a := l.add("A", 1, MachineConfig{Priority: 150, Preempt: true})
	a.vips = true
	l.apply(a, a.m.Resume(l.now))
	l.runUntilMaster(a, 5*time.Second)
	since, _ := a.m.Since()
	took := since.Sub(epoch)
	if want := ResumeInterval(time.Second, 150); took != want {
		t.Fatalf("resumed after %v, want ResumeInterval %v", took, want)
	}
	if want := MasterDownInterval(time.Second, 254) - time.Second; took >= want {
		t.Fatalf("ResumeInterval %v is not an interval shorter than any peer's Master_Down_Interval (%v)", took, want)
	}
	if len(a.adverts) != 1 || len(a.garps) != 1 || !a.vips {
		t.Fatalf("on resume: adverts %d, GARP rounds %d, VIPs %v", len(a.adverts), len(a.garps), a.vips)
	}
}

func TestResumeWithAFaultRemovesTheVIPs(t *testing.T) {
	l := newLab(t)
	a := l.add("A", 1, MachineConfig{Priority: 150, Preempt: true})
	a.vips = true
	l.apply(a, a.m.Resume(l.now))
	l.apply(a, a.m.SetFault(l.now, true, "eth1 down"))
	if a.m.State() != StateFault || a.vips {
		t.Fatalf("state %s, VIPs %v", a.m.State(), a.vips)
	}
}
