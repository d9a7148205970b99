package director

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/resetguard"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/vrrp"
)

// wantedSyncDaemons is the decision of which IPVS connection sync daemons
// run (the kernel calls are lvs.Manager.SetSyncDaemons'): none with sync
// off or while stopping; both when no instance is named, as keepalived
// runs them; else the master daemon while the instance is MASTER and the
// backup daemon otherwise (keepalived's ipvs_syncd_master and
// ipvs_syncd_backup on its transitions), so a director that is not MASTER
// holds the connections the MASTER serves. A new MASTER keeps its backup
// daemon beside the master daemon while receiving (backupLinger after the
// takeover): the old master's last connections, from its kernel's buffer
// and from its handover (handOverConnections), arrive after the takeover.
func wantedSyncDaemons(s hcl.LVSSyncDaemon, master, receiving, stopping bool) []lvs.SyncDaemon {
	if !s.Enabled || stopping {
		return nil
	}
	m, b := syncDaemon(s, lvs.SyncMaster), syncDaemon(s, lvs.SyncBackup)
	switch {
	case s.Instance == "" || master && receiving:
		return []lvs.SyncDaemon{m, b}
	case master:
		return []lvs.SyncDaemon{m}
	default:
		return []lvs.SyncDaemon{b}
	}
}

// syncDaemon is the daemon of the configuration in state st.
func syncDaemon(s hcl.LVSSyncDaemon, st lvs.SyncState) lvs.SyncDaemon {
	return lvs.SyncDaemon{
		State: st, Interface: s.Interface, SyncID: uint8(s.SyncID), MaxLen: uint16(s.MaxLen),
		Group: s.Group, Port: uint16(s.Port), TTL: uint8(s.TTL),
	}
}

const (
	// backupLinger is how long a new MASTER keeps its backup daemon: a
	// little over the kernel's 2 s sync flush (IPVS_SYNC_FLUSH_TIME)
	// plus its 1 s check period, and over the old master's handover.
	backupLinger = 4 * time.Second
)

// A director that leaves MASTER sends its connection table to the new
// master (handOverConnections): a stopping MASTER once as its
// make-before-break begins (the new master then has, before it takes
// over, what the kernel's sync holds back), and every director at once
// after leaving MASTER, then again after handoverFirstGap, doubling the
// gap while under handoverFor (0, 100, 300 and 700 ms): for what its
// kernel still scheduled from packets in flight, or what changed state
// since. Each send reads the whole connection table
// (/proc/net/ip_vs_conn_sync, the kernel's only listing of it), TIME_WAIT
// entries included; reading it every 100 ms through the make-before-break
// starved the test VM's forwarding, so it is read only these few times.
const (
	handoverFirstGap = 100 * time.Millisecond
	handoverFor      = time.Second
)

// kickSyncDaemons asks runSyncDaemons to apply the mastership now.
func (d *Director) kickSyncDaemons() {
	select {
	case d.syncKick <- struct{}{}:
	default: // a kick is pending: it will read the newest mastership
	}
}

// runSyncDaemons applies the sync daemons on every kick until ctx ends,
// and once more when a new master's backupLinger is over.
// Starting and stopping a daemon takes the kernel a while (it starts and
// stops kernel threads and sockets; 0.1–0.8 s in the test VM), so the VRRP
// transition hook only kicks this worker, and a new master's daemons are
// switched only after its VIPs and GARPs (waitForAnnouncedMastership: the
// kernel would otherwise make the VIPs wait for the start, through
// rtnl_lock). The connections a backup daemon received stay in the table
// when it stops.
func (d *Director) runSyncDaemons(ctx context.Context) {
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.syncKick:
		case <-linger.C:
		}
		if d.stopping.Load() {
			continue
		}
		d.waitForAnnouncedMastership(ctx)
		if d.stopping.Load() || ctx.Err() != nil {
			continue // nothing starts on the way out (c6d000e)
		}
		if left := d.applySyncDaemons(false); left > 0 {
			linger.Reset(left)
		} else {
			d.releaseResets()
		}
	}
}

// waitForAnnouncedMastership returns once a new MASTER of the sync
// instance holds its VIPs and has sent its gratuitous ARPs, so that
// starting its master daemon cannot delay them: the kernel's
// start_sync_thread (net/netfilter/ipvs/ip_vs_sync.c, Linux 4.17 and
// later; 6.1 in the test VM) holds rtnl_lock while it creates the
// daemon's socket and kernel thread, 0.1–0.8 s under the test VM's
// emulation, and adding a VIP (RTM_NEWADDR) waits for rtnl_lock. VRRP
// applies a transition to MASTER in order (the transition hook, the VIPs,
// the gratuitous ARPs, the advert) and publishes the instance's new state
// after the last; this waits for that, at most mastershipAnnounceBound.
// Any other change (a backup daemon, a stop, no instance named) goes at
// once.
func (d *Director) waitForAnnouncedMastership(ctx context.Context) {
	s := d.Config().Global.LVSSyncDaemon
	d.mu.Lock()
	master := d.mastership[s.Instance]
	d.mu.Unlock()
	if !s.Enabled || s.Instance == "" || !master || d.node == nil {
		return
	}
	deadline := time.Now().Add(mastershipAnnounceBound)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, st := range d.node.Status() {
			if st.Name == s.Instance && st.State == vrrp.StateMaster {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mastershipAnnounceBound bounds waitForAnnouncedMastership: the master
// daemon starts even if VRRP takes longer to announce the mastership.
const mastershipAnnounceBound = 2 * time.Second

// syncStopBound bounds the wait for the kernel to stop the sync daemons on
// the way out: a stop that hangs in the kernel must not keep SIGTERM from
// ending lvsd (seen once in the test VM, right after a daemon started).
const syncStopBound = 5 * time.Second

// stopSyncDaemons stops the sync daemons on the way out, waiting at most
// syncStopBound; past it the stop is logged and left to the kernel.
func (d *Director) stopSyncDaemons() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.applySyncDaemons(true)
	}()
	select {
	case <-done:
	case <-time.After(syncStopBound):
		d.log.Error("IPVS sync daemons did not stop in time; left to the kernel", "waited", syncStopBound)
	}
}

// applySyncDaemons makes the kernel's sync daemons what the configuration
// and the mastership of its instance ask for, logs what changed and
// returns how long the backup daemon still lingers on a new master (0 when
// it does not).
// Until the instance's first transition (a restarted MASTER resumes) the
// daemons are left as found, like the services.
func (d *Director) applySyncDaemons(stopping bool) time.Duration {
	ipvs := d.ipvsManager()
	if ipvs == nil {
		return 0
	}
	cfg := d.Config()
	s := cfg.Global.LVSSyncDaemon
	d.mu.Lock()
	master, known := d.mastership[s.Instance]
	var left time.Duration
	if master && !d.becameMaster.IsZero() {
		left = max(0, d.syncLinger-time.Since(d.becameMaster))
	}
	d.mu.Unlock()
	if s.Enabled && s.Instance != "" && !known && !stopping {
		return 0
	}
	changed, err := ipvs.SetSyncDaemons(wantedSyncDaemons(s, master, left > 0, stopping))
	for _, c := range changed {
		d.log.Info("IPVS sync daemon", "change", c, "instance", s.Instance)
		if master && s.Instance != "" && strings.HasPrefix(c, "started master daemon") {
			// The kernel syncs a connection on a packet seen while
			// its master daemon runs: the ones this new master
			// scheduled before its daemon started (0.1 s to seconds
			// after the takeover) are sent the handover's way, or a
			// node loss would cut them.
			d.handovers.Add(1)
			go d.handOverConnections(nil)
		}
	}
	if err != nil {
		d.log.Error("IPVS sync daemons", "err", err, "instance", s.Instance)
	}
	return left
}

// syncOnTransition follows a transition of the sync instance (any
// instance when none is named): a new MASTER notes when it took over (its
// backup daemon lingers), and one that leaves MASTER hands its
// connections over (a stopping one already does, startHandover).
// Then the sync-daemon worker is kicked. (A new MASTER's reset guard is
// held beside the IPVS write, startHoldResets.)
func (d *Director) syncOnTransition(t vrrp.Transition) {
	if !d.followsSync(t) {
		return
	}
	switch {
	case t.To == vrrp.StateMaster:
		d.mu.Lock()
		d.becameMaster = time.Now()
		d.mu.Unlock()
	case t.From == vrrp.StateMaster:
		d.releaseResets()
		if !d.stopping.Load() {
			d.handovers.Add(1)
			go d.handOverConnections(nil)
		}
	}
	d.kickSyncDaemons()
}

// followsSync says whether the sync daemons follow t's instance.
func (d *Director) followsSync(t vrrp.Transition) bool {
	s := d.Config().Global.LVSSyncDaemon
	return s.Enabled && (s.Instance == "" || s.Instance == t.Instance)
}

// startHoldResets starts holding the reset guard (holdResets) when t makes
// the sync instance MASTER, beside the transition hook's IPVS write: the
// two wait on different kernel locks (nftables' commit mutex, genetlink's
// mutex), so under load the hook waits for the longer of them, not their
// sum. It returns what waits for the hold and says how long it took (at
// once when there is nothing to hold).
func (d *Director) startHoldResets(t vrrp.Transition) (wait func() time.Duration) {
	if t.To != vrrp.StateMaster || !d.followsSync(t) {
		return func() time.Duration { return 0 }
	}
	done := make(chan time.Duration, 1)
	go func() { done <- d.holdResets() }()
	return func() time.Duration { return <-done }
}

// openResetGuard opens the reset guard's table (package resetguard) as
// Run starts, before VRRP runs, when connection sync is on: the table and
// its output chain are installed while no instance is MASTER yet, and
// one left by an lvsd killed earlier is replaced. A takeover then only
// fills its address sets, in one batch on the socket the guard keeps
// open. With connection sync off, a table an lvsd killed earlier left is
// deleted instead: killed while it held the guard, its sets would go on
// dropping the virtual addresses' resets.
func (d *Director) openResetGuard() {
	if d.ipvsManager() == nil {
		return
	}
	if d.Config().Global.LVSSyncDaemon.Enabled {
		d.resetGuard()
		return
	}
	if err := resetguard.Clear(); err != nil {
		d.log.Debug("reset guard: clearing an earlier table", "err", err)
	}
}

// resetGuard returns the open reset guard, opening it first if Run's
// start did not (a reload turned connection sync on, or nftables was not
// there then); nil, with a warning, when it cannot be opened.
func (d *Director) resetGuard() *resetguard.Guard {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.guard == nil {
		g, err := resetguard.Open()
		if err != nil {
			d.log.Warn("reset guard not available: a connection the old master opened last may be reset at a takeover", "err", err)
			return nil
		}
		d.guard = g
	}
	return d.guard
}

// closeResetGuard deletes the reset guard's table as Run ends.
func (d *Director) closeResetGuard() {
	d.mu.Lock()
	g := d.guard
	d.guard = nil
	d.mu.Unlock()
	if g == nil {
		return
	}
	if err := g.Close(); err != nil {
		d.log.Warn("reset guard: deleting its table", "err", err)
	}
}

// holdResets holds the reset guard on the virtual servers' addresses
// while a new MASTER learns the old master's last connections: its stack
// would otherwise answer their next segments with a RST before the
// handover reaches it. It runs in the transition hook, before the VIPs
// come up, and returns how long the hold took (logged by the hook, so
// that the path to the VIPs writes no log line of its own); the sync
// worker releases it when backupLinger is over.
func (d *Director) holdResets() time.Duration {
	var addrs []netip.Addr
	vss := d.Config().VirtualServers
	for i := range vss { // by index: a big table's services are not copied on the takeover's path
		if vss[i].Addr.IsValid() {
			addrs = append(addrs, vss[i].Addr.Addr())
		}
	}
	if len(addrs) == 0 {
		return 0
	}
	g := d.resetGuard()
	if g == nil {
		return 0
	}
	start := time.Now()
	if err := g.Hold(addrs); err != nil {
		d.log.Warn("reset guard not held: a connection the old master opened last may be reset", "err", err)
	}
	return time.Since(start)
}

// releaseResets releases the reset guard, if held, and logs how many
// resets it kept from the clients. The table stays, empty, for the next
// takeover.
func (d *Director) releaseResets() {
	d.mu.Lock()
	g := d.guard
	d.mu.Unlock()
	if g == nil {
		return
	}
	n := len(g.Held())
	if n == 0 {
		return
	}
	dropped, err := g.Release()
	if err != nil {
		d.log.Warn("reset guard release", "err", err)
	}
	d.log.Info("reset guard released", "resets_dropped", dropped, "addresses", n)
}

// startHandover runs as Run begins its way out, before VRRP stops: a
// director that is MASTER of the sync instance keeps serving until the
// new master is heard (vrrp.Machine.Handover); it hands its connections
// over as that begins, and again once vrrpDone is closed (its VIPs are
// gone) for handoverFor.
func (d *Director) startHandover(vrrpDone <-chan struct{}) {
	s := d.Config().Global.LVSSyncDaemon
	d.mu.Lock()
	master := d.mastership[s.Instance]
	d.mu.Unlock()
	if !s.Enabled || s.Instance == "" || !master || d.ipvsManager() == nil {
		return
	}
	d.handovers.Add(1)
	go d.handOverConnections(vrrpDone)
}

// handOverConnections sends this director's own live connection entries
// to the new master's backup daemon, first all of them, then those new or
// changed since (see lvs.Manager.HandOverConnections for why the kernel's
// own sync is not enough): once, then again when until is closed (a nil
// until: at once) on the schedule after leaving MASTER. Run waits for it
// before it stops the sync daemons.
func (d *Director) handOverConnections(until <-chan struct{}) {
	defer d.handovers.Done()
	ipvs := d.ipvsManager()
	if ipvs == nil {
		return
	}
	s := d.Config().Global.LVSSyncDaemon
	daemon := syncDaemon(s, lvs.SyncMaster)
	var memo lvs.HandoverMemo
	total := 0
	send := func() bool {
		n, err := ipvs.HandOverConnections(daemon, &memo)
		if err != nil {
			d.log.Warn("sending connections to the peer's backup daemon", "err", err, "instance", s.Instance)
			return false
		}
		total += n
		return true
	}
	if until != nil {
		if !send() {
			return
		}
		<-until
	}
	start := time.Now()
	for at, gap := time.Duration(0), handoverFirstGap; at < handoverFor; at, gap = at+gap, 2*gap {
		time.Sleep(time.Until(start.Add(at)))
		if !send() {
			return
		}
	}
	d.log.Info("connections sent to the peer's backup daemon", "sent", total, "instance", s.Instance, "interface", s.Interface)
}
