package vrrp

import (
	"net/netip"
	"time"
)

// State is the state of one VRRP instance (RFC 3768 §6.4, plus keepalived's
// FAULT).
type State uint8

// States of an instance.
const (
	StateInit   State = iota // RFC 3768 §6.4.1 Initialize
	StateBackup              // §6.4.2
	StateMaster              // §6.4.3
	StateFault               // keepalived: a tracked interface or script failed
)

func (s State) String() string {
	switch s {
	case StateInit:
		return "INIT"
	case StateBackup:
		return "BACKUP"
	case StateMaster:
		return "MASTER"
	case StateFault:
		return "FAULT"
	}
	return "UNKNOWN"
}

// MachineConfig holds the settings of one instance that the state machine
// needs. Durations are real durations; AdvertInt is whole seconds on the
// wire in VRRPv2, centiseconds in VRRPv3. vrrp builds it from the final hcl
// configuration (instance.go), so it is taken as it is: AdvertInt is in
// range and the GARP repeat counts are at least 1, as hcl validated them;
// the Machine defaults nothing again.
type MachineConfig struct {
	// Version is 2 (RFC 3768 timers) or 3 (RFC 5798 timers); zero is 2.
	Version      int
	Priority     int           // effective priority at start, 1..255
	AdvertInt    time.Duration // advert_int: 1..255 s (v2), 0.01..40.95 s (v3)
	Preempt      bool          // false with nopreempt
	PreemptDelay time.Duration // keepalived preempt_delay: no preemption this long after start
	// PrimaryIP is this router's address on the instance's interface (the
	// advert's IP source); it breaks priority ties (RFC 3768 §6.4.3).
	PrimaryIP netip.Addr
	// Gratuitous ARP on takeover: GarpRepeat at once, GarpRepeat again
	// after GarpDelay, GarpRefreshRepeat every GarpRefresh (if > 0).
	GarpRepeat        int
	GarpDelay         time.Duration
	GarpRefresh       time.Duration
	GarpRefreshRepeat int
	// DownTimerAdverts replaces RFC 3768's 3 in Master_Down_Interval
	// (keepalived's down_timer_adverts); zero is 3.
	DownTimerAdverts int
	// StartBackup starts an address owner (priority 255) in Backup, as
	// keepalived does with state BACKUP (track.go's keepalived.conf
	// semantics; see vrrp/README.md).
	StartBackup bool
	// LowerPriorityNoAdvert: as MASTER, discard an advert of a lower
	// priority (RFC 3768 §6.4.3) instead of answering it with an advert
	// and gratuitous ARPs (keepalived's default; its strict mode discards).
	LowerPriorityNoAdvert bool
}

// ActionKind says what the driver must do.
type ActionKind uint8

// Actions, executed by the driver in the order returned.
const (
	// ActTransition: the instance changed state (From, To, Reason). For a
	// move to MASTER it comes before ActAddVIPs; for a move away from
	// MASTER after ActRemoveVIPs.
	ActTransition ActionKind = iota + 1
	ActSendAdvert            // send an advertisement with Priority
	ActAddVIPs               // add the virtual addresses
	ActRemoveVIPs            // remove the virtual addresses
	ActSendGARP              // send Count gratuitous ARPs for every VIP
	// ActLowerPriorityHeard: a MASTER heard a lower-priority master
	// (keepalived's notify_master_rx_lower_pri).
	ActLowerPriorityHeard
)

// Action is one thing the driver must do.
type Action struct {
	Kind     ActionKind
	Priority int    // ActSendAdvert
	Count    int    // ActSendGARP
	From, To State  // ActTransition
	Reason   string // ActTransition
}

// Machine is the pure VRRP state machine of one instance: RFC 3768 §6
// (VRRPv2) or RFC 5798 §6 (VRRPv3, same states, the interval of the
// master adopted and Skew_Time scaled by it).
// It never reads a clock, a socket or a file: the driver passes the time
// with every event and executes the returned actions. It is not safe for
// concurrent use.
type Machine struct {
	cfg      MachineConfig
	state    State
	priority int // effective priority
	fault    bool

	masterDown     time.Time // Master_Down_Timer (BACKUP), zero when off
	advertAt       time.Time // Adver_Timer (MASTER), zero when off
	garpAt         time.Time // delayed GARP round (MASTER), zero when off
	garpRefreshAt  time.Time // periodic GARP (MASTER), zero when off
	preemptAllowed time.Time // preempt_delay end
	resumeBy       time.Time // Resume: mastership is taken back then, zero when off
	handoverBy     time.Time // Handover: the addresses go then at the latest, zero when off

	masterIP       netip.Addr
	masterPriority int
	// masterAdverInt is RFC 5798's Master_Adver_Interval: our own
	// AdvertInt, or in VRRPv3 the interval the master advertises
	// (§6.4.2). VRRPv2 never changes it.
	masterAdverInt time.Duration
	since          time.Time
	reason         string
}

// NewMachine returns a machine in the Initialize state.
func NewMachine(cfg MachineConfig) *Machine {
	return &Machine{cfg: cfg, priority: cfg.Priority, masterAdverInt: cfg.AdvertInt}
}

func (m *Machine) v3() bool { return m.cfg.Version == 3 }

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Priority returns the effective priority.
func (m *Machine) Priority() int { return m.priority }

// Master returns the address and priority of the current master as last
// heard (our own address when we are master).
func (m *Machine) Master() (netip.Addr, int) { return m.masterIP, m.masterPriority }

// Since returns when the current state was entered and why.
func (m *Machine) Since() (time.Time, string) { return m.since, m.reason }

// SkewTime is the machine's Skew_Time: (256 − Priority)/256 seconds in
// VRRPv2 (RFC 3768 §6.1), ((256 − Priority) × Master_Adver_Interval)/256 in
// VRRPv3 (RFC 5798 §6.1).
func (m *Machine) SkewTime() time.Duration {
	if m.v3() {
		return SkewTimeV3(m.priority, m.masterAdverInt)
	}
	return SkewTime(m.priority)
}

// MasterDownInterval is the machine's Master_Down_Interval: 3 ×
// Advertisement_Interval + Skew_Time in VRRPv2 (RFC 3768 §6.1), 3 ×
// Master_Adver_Interval + Skew_Time in VRRPv3 (RFC 5798 §6.1).
func (m *Machine) MasterDownInterval() time.Duration {
	extra := time.Duration(0)
	if n := m.cfg.DownTimerAdverts; n > 0 && n != 3 {
		// keepalived's down_timer_adverts: N × interval + Skew_Time.
		extra = time.Duration(n-3) * m.masterAdverInt
	}
	if m.v3() {
		return MasterDownIntervalV3(m.masterAdverInt, m.priority) + extra
	}
	return MasterDownInterval(m.cfg.AdvertInt, m.priority) + extra
}

// MasterAdverInterval is RFC 5798's Master_Adver_Interval: the interval
// the master advertises, adopted by a VRRPv3 Backup (§6.4.2); our own
// advert_int in VRRPv2 and until a VRRPv3 master is heard.
func (m *Machine) MasterAdverInterval() time.Duration { return m.masterAdverInt }

// SkewTimeV3 is ((256 − priority) × Master_Adver_Interval)/256 (RFC 5798
// §6.1): it scales with the master's interval, as keepalived's VRRPv3
// timers do, so a 0.1 s interval gives a Master_Down_Interval under 0.4 s.
func SkewTimeV3(priority int, masterAdverInt time.Duration) time.Duration {
	return time.Duration(256-priority) * masterAdverInt / 256
}

// MasterDownIntervalV3 is 3 × Master_Adver_Interval + Skew_Time (RFC 5798 §6.1).
func MasterDownIntervalV3(masterAdverInt time.Duration, priority int) time.Duration {
	return 3*masterAdverInt + SkewTimeV3(priority, masterAdverInt)
}

// SkewTime is (256 − priority)/256 seconds (RFC 3768 §6.1).
func SkewTime(priority int) time.Duration {
	return time.Duration(256-priority) * time.Second / 256
}

// MasterDownInterval is 3 × Advertisement_Interval + Skew_Time (RFC 3768 §6.1).
func MasterDownInterval(advertInt time.Duration, priority int) time.Duration {
	return 3*advertInt + SkewTime(priority)
}

// Deadline returns when Tick must next be called; zero means no timer runs.
func (m *Machine) Deadline() time.Time {
	var d time.Time
	for _, t := range []time.Time{m.masterDown, m.advertAt, m.garpAt, m.garpRefreshAt, m.resumeBy, m.handoverBy} {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	return d
}

// Start leaves Initialize (RFC 3768 §6.4.1): the address owner (priority
// 255) becomes MASTER at once, every other router BACKUP with the
// Master_Down_Timer running. A machine with a fault pending goes to FAULT.
func (m *Machine) Start(now time.Time) []Action {
	if m.state != StateInit {
		return nil
	}
	m.preemptAllowed = now.Add(m.cfg.PreemptDelay)
	switch {
	case m.fault:
		return m.enter(now, StateFault, "fault at start", nil)
	case m.priority == 255 && !m.cfg.StartBackup:
		return m.becomeMaster(now, "address owner (priority 255)")
	default:
		return m.becomeBackup(now, "start")
	}
}

// Resume leaves Initialize for an instance whose virtual addresses are
// still on the interface: the previous run of this director died as
// MASTER (kill -9, crash) and its kernel kept serving through the VIPs and
// the IPVS table. keepalived removes such addresses at start and begins as
// BACKUP, so every connection through the VIP fails until its
// Master_Down_Timer fires; lvsd keeps them and listens for
// ResumeInterval. A master heard in that time that a BACKUP would follow
// (RFC 3768 §6.4.2: higher priority, or any with nopreempt or within
// preempt_delay) wins: the addresses go and the machine is BACKUP. Silence,
// or only lower-priority masters that we preempt, and the machine becomes
// MASTER again (advert, gratuitous ARP) before the peer's own
// Master_Down_Interval ends, so the peer never takes over.
func (m *Machine) Resume(now time.Time) []Action {
	if m.state != StateInit {
		return nil
	}
	if m.fault {
		m.preemptAllowed = now.Add(m.cfg.PreemptDelay)
		return m.enter(now, StateFault, "fault at start", []Action{{Kind: ActRemoveVIPs}})
	}
	if m.priority == 255 {
		// The address owner does not wait for anyone (as Start).
		return m.Start(now)
	}
	m.preemptAllowed = now.Add(m.cfg.PreemptDelay)
	m.resumeBy = now.Add(m.cfg.AdvertInt + m.SkewTime())
	return nil
}

// Resuming tells whether the machine holds the addresses of a previous
// run and waits to take mastership back (see Resume).
func (m *Machine) Resuming() bool { return m.state == StateInit && !m.resumeBy.IsZero() }

// ResumeInterval is how long Resume listens for a master: one
// Advertisement_Interval, in which any master advertises (RFC 3768 §6.4.3),
// plus Skew_Time (VRRPv2's; a VRRPv3 machine uses its own, scaled by the
// interval). It is shorter than the peer's Master_Down_Interval
// (3 × Advertisement_Interval + its Skew_Time) by at least one interval,
// the margin for the restart itself.
func ResumeInterval(advertInt time.Duration, priority int) time.Duration {
	return advertInt + SkewTime(priority)
}

// Tick fires every timer due at now.
func (m *Machine) Tick(now time.Time) []Action {
	var acts []Action
	switch m.state {
	case StateInit:
		if !m.resumeBy.IsZero() && !now.Before(m.resumeBy) {
			return m.becomeMaster(now, "resumed: our VIPs were held and no master was heard")
		}
	case StateBackup:
		if !m.masterDown.IsZero() && !now.Before(m.masterDown) {
			// RFC 3768 §6.4.2: Master_Down_Timer fired.
			return m.becomeMaster(now, "master down timer expired")
		}
	case StateMaster:
		if !m.handoverBy.IsZero() {
			if !now.Before(m.handoverBy) {
				return m.leaveMaster(now, StateInit, "shutdown: no new master heard")
			}
			return nil
		}
		if !m.advertAt.IsZero() && !now.Before(m.advertAt) {
			// RFC 3768 §6.4.3: Adver_Timer fired. Keep the period
			// anchored unless we fell more than a period behind.
			acts = append(acts, m.advert())
			m.advertAt = m.advertAt.Add(m.cfg.AdvertInt)
			if !m.advertAt.After(now) {
				m.advertAt = now.Add(m.cfg.AdvertInt)
			}
		}
		if !m.garpAt.IsZero() && !now.Before(m.garpAt) {
			// keepalived garp_master_delay: the second round.
			acts = append(acts, Action{Kind: ActSendGARP, Count: m.cfg.GarpRepeat})
			m.garpAt = time.Time{}
		}
		if !m.garpRefreshAt.IsZero() && !now.Before(m.garpRefreshAt) {
			acts = append(acts, Action{Kind: ActSendGARP, Count: m.cfg.GarpRefreshRepeat})
			m.garpRefreshAt = now.Add(m.cfg.GarpRefresh)
		}
	}
	return acts
}

// Receive handles an advertisement that passed Expect.Check, sent by src.
func (m *Machine) Receive(now time.Time, src netip.Addr, a Advert) []Action {
	prio := int(a.Priority)
	switch m.state {
	case StateInit:
		if m.resumeBy.IsZero() {
			return nil
		}
		better := prio > m.priority || (prio == m.priority && addrGreater(src, m.cfg.PrimaryIP))
		if prio != 0 && (better || !m.cfg.Preempt || now.Before(m.preemptAllowed)) {
			// A master we would follow as BACKUP holds the router: give
			// the addresses up and follow it.
			m.masterIP, m.masterPriority = src, prio
			m.adoptInterval(a)
			return m.enter(now, StateBackup, "resume abandoned: master "+src.String()+" heard",
				[]Action{{Kind: ActRemoveVIPs}})
		}
		// A lower-priority master we preempt, or one resigning: keep
		// listening; at resumeBy we advertise and it steps down.
	case StateBackup:
		m.masterIP, m.masterPriority = src, prio
		switch {
		case prio == 0:
			// RFC 3768 §6.4.2, RFC 5798 §6.4.2: the master resigned;
			// take over after Skew_Time.
			m.masterDown = now.Add(m.SkewTime())
		case !m.cfg.Preempt || prio >= m.priority || now.Before(m.preemptAllowed):
			// RFC 3768 §6.4.2: reset the Master_Down_Timer. With
			// nopreempt, or within preempt_delay, a lower priority
			// master is followed too (keepalived). RFC 5798 §6.4.2:
			// a VRRPv3 Backup first adopts the master's interval.
			m.adoptInterval(a)
			m.masterDown = now.Add(m.MasterDownInterval())
		default:
			// Preempt: discard, our timer runs out and we take over.
		}
	case StateMaster:
		if !m.handoverBy.IsZero() {
			// Handing over: the first advert of a new master ends it.
			if prio == 0 {
				return nil
			}
			m.masterIP, m.masterPriority = src, prio
			return m.leaveMaster(now, StateInit, "shutdown: new master "+src.String()+" heard")
		}
		switch {
		case prio == 0:
			// RFC 3768 §6.4.3: a priority-0 advert: advertise at once.
			m.advertAt = now.Add(m.cfg.AdvertInt)
			return []Action{m.advert()}
		case prio > m.priority || (prio == m.priority && addrGreater(src, m.cfg.PrimaryIP)):
			// RFC 3768 §6.4.3: a better master: step down (RFC 5798
			// §6.4.3: with its Master_Adver_Interval).
			m.masterIP, m.masterPriority = src, prio
			m.adoptInterval(a)
			return m.leaveMaster(now, StateBackup, "higher priority advert from "+src.String())
		case m.cfg.LowerPriorityNoAdvert:
			// RFC 3768 §6.4.3: discard (keepalived's strict mode);
			// keepalived still runs notify_master_rx_lower_pri.
			return []Action{{Kind: ActLowerPriorityHeard, Priority: prio}}
		default:
			// A lower priority master exists: RFC 3768 says discard;
			// keepalived (issue #166) re-advertises at once and
			// re-sends GARPs so a split brain heals fast.
			m.advertAt = now.Add(m.cfg.AdvertInt)
			return []Action{m.advert(), {Kind: ActSendGARP, Count: m.cfg.GarpRepeat}, {Kind: ActLowerPriorityHeard, Priority: prio}}
		}
	}
	return nil
}

// SetFault moves the machine into FAULT (a tracked interface or script
// failed, keepalived) or out of it back to BACKUP.
func (m *Machine) SetFault(now time.Time, fault bool, reason string) []Action {
	if m.fault == fault {
		return nil
	}
	m.fault = fault
	switch {
	case m.state == StateInit && fault && !m.resumeBy.IsZero():
		return m.enter(now, StateFault, reason, []Action{{Kind: ActRemoveVIPs}})
	case m.state == StateInit:
		return nil
	case fault && m.state == StateMaster:
		return m.leaveMaster(now, StateFault, reason)
	case fault:
		return m.enter(now, StateFault, reason, nil)
	case m.state == StateFault && m.priority == 255:
		return m.becomeMaster(now, reason)
	case m.state == StateFault:
		return m.becomeBackup(now, reason)
	}
	return nil
}

// SetPriority changes the effective priority (track_interface and
// track_script weights). A master advertises the new priority at once.
func (m *Machine) SetPriority(now time.Time, priority int) []Action {
	if priority == m.priority {
		return nil
	}
	m.priority = priority
	if m.state == StateMaster {
		m.masterPriority = priority
		m.advertAt = now.Add(m.cfg.AdvertInt)
		return []Action{m.advert()}
	}
	return nil
}

// Force moves the machine to state to (vrrp_sync_group: members follow
// each other). Forcing MASTER on a faulted machine does nothing.
func (m *Machine) Force(now time.Time, to State, reason string) []Action {
	if m.state == to || m.state == StateInit {
		return nil
	}
	switch to {
	case StateMaster:
		if m.fault {
			return nil
		}
		return m.becomeMaster(now, reason)
	case StateBackup:
		if m.state == StateMaster {
			return m.leaveMaster(now, StateBackup, reason)
		}
		if m.fault {
			return nil
		}
		return m.becomeBackup(now, reason)
	case StateFault:
		if m.state == StateMaster {
			return m.leaveMaster(now, StateFault, reason)
		}
		return m.enter(now, StateFault, reason, nil)
	}
	return nil
}

// Handover begins lvsd's make-before-break shutdown of a MASTER: the
// priority-0 advert of RFC 3768 §6.4.3 goes out at once, so a backup takes
// over after its Skew_Time, but the addresses stay (and with them the
// director's IPVS table) until the new master's first advertisement is
// heard, or at the latest after the longest Master_Down_Interval a backup
// can have (priority 1); then the machine leaves MASTER as Shutdown does.
// Adverts and gratuitous ARPs stop at once: the new master's GARPs move the
// clients. In any other state it does nothing (Shutdown follows). See
// vrrp/README.md for the reasoning against §6.4.3.
func (m *Machine) Handover(now time.Time) []Action {
	if m.state != StateMaster || !m.handoverBy.IsZero() {
		return nil
	}
	m.advertAt, m.garpAt, m.garpRefreshAt = time.Time{}, time.Time{}, time.Time{}
	bound := MasterDownInterval(m.cfg.AdvertInt, 1)
	if m.v3() {
		bound = MasterDownIntervalV3(m.masterAdverInt, 1)
	}
	m.handoverBy = now.Add(bound)
	return []Action{{Kind: ActSendAdvert, Priority: 0}}
}

// HandingOver tells whether Handover runs: MASTER, addresses kept, waiting
// for the new master.
func (m *Machine) HandingOver() bool { return m.state == StateMaster && !m.handoverBy.IsZero() }

// Shutdown stops the instance (RFC 3768 §6.4.3 Shutdown event): a master
// sends a priority-0 advert and removes its addresses.
func (m *Machine) Shutdown(now time.Time) []Action {
	switch m.state {
	case StateInit:
		return nil
	case StateMaster:
		return m.leaveMaster(now, StateInit, "shutdown")
	default:
		return m.enter(now, StateInit, "shutdown", nil)
	}
}

func (m *Machine) advert() Action {
	return Action{Kind: ActSendAdvert, Priority: m.priority}
}

func (m *Machine) becomeMaster(now time.Time, reason string) []Action {
	from := m.state
	m.clearTimers()
	m.state, m.since, m.reason = StateMaster, now, reason
	m.masterIP, m.masterPriority = m.cfg.PrimaryIP, m.priority
	// RFC 3768 §6.4.2: send an ADVERTISEMENT, broadcast gratuitous ARP,
	// start the Adver_Timer. The transition comes first so the caller can
	// program IPVS before the VIPs appear. The gratuitous ARPs go before
	// the advertisement, as keepalived sends them: on a preemption the old
	// master drops the VIPs when it hears the advert, and a client whose
	// ARP entry still pointed at it would lose its SYNs until the GARP
	// (seen in the VM's rolling-replacement capture, 12 ms).
	m.advertAt = now.Add(m.cfg.AdvertInt)
	if m.cfg.GarpDelay > 0 {
		m.garpAt = now.Add(m.cfg.GarpDelay)
	}
	if m.cfg.GarpRefresh > 0 {
		m.garpRefreshAt = now.Add(m.cfg.GarpRefresh)
	}
	return []Action{
		{Kind: ActTransition, From: from, To: StateMaster, Reason: reason},
		{Kind: ActAddVIPs},
		{Kind: ActSendGARP, Count: m.cfg.GarpRepeat},
		m.advert(),
	}
}

func (m *Machine) becomeBackup(now time.Time, reason string) []Action {
	// RFC 5798 §6.4.1: Master_Adver_Interval starts as our own.
	m.masterAdverInt = m.cfg.AdvertInt
	return m.enter(now, StateBackup, reason, nil)
}

// adoptInterval sets Master_Adver_Interval to a VRRPv3 advert's interval
// (RFC 5798 §6.4.2, §6.4.3); VRRPv2 keeps its own, a zero one is ignored.
func (m *Machine) adoptInterval(a Advert) {
	if m.v3() && a.MaxAdvertInt > 0 {
		m.masterAdverInt = a.AdvertInterval()
	}
}

// leaveMaster resigns: a priority-0 advert when going down (shutdown,
// fault; RFC 3768 §6.4.3), the VIPs removed, then the transition.
func (m *Machine) leaveMaster(now time.Time, to State, reason string) []Action {
	var acts []Action
	if to != StateBackup {
		acts = append(acts, Action{Kind: ActSendAdvert, Priority: 0})
	}
	acts = append(acts, Action{Kind: ActRemoveVIPs})
	return m.enter(now, to, reason, acts)
}

func (m *Machine) enter(now time.Time, to State, reason string, acts []Action) []Action {
	from := m.state
	m.clearTimers()
	m.state, m.since, m.reason = to, now, reason
	if to == StateBackup {
		m.masterDown = now.Add(m.MasterDownInterval())
	}
	return append(acts, Action{Kind: ActTransition, From: from, To: to, Reason: reason})
}

func (m *Machine) clearTimers() {
	m.masterDown, m.advertAt, m.garpAt, m.garpRefreshAt, m.resumeBy = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	m.handoverBy = time.Time{}
}

// addrGreater compares IPv4 addresses as unsigned integers (RFC 3768
// §6.4.3: the higher primary IP address wins a tie).
func addrGreater(a, b netip.Addr) bool { return a.Compare(b) > 0 }

// Reconfigure takes new settings (a reload) without changing state or
// running timers; the effective priority moves only through SetPriority.
func (m *Machine) Reconfigure(cfg MachineConfig) {
	if !cfg.PrimaryIP.IsValid() {
		cfg.PrimaryIP = m.cfg.PrimaryIP
	}
	if m.masterAdverInt == m.cfg.AdvertInt {
		m.masterAdverInt = cfg.AdvertInt
	}
	m.cfg = cfg
	if m.state == StateMaster {
		m.masterIP = cfg.PrimaryIP
	}
}
