package director

import (
	"context"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
)

// wantedSyncDaemons is the decision of which IPVS connection sync daemons
// run (the kernel calls are lvs.Manager.SetSyncDaemons'): none with sync
// off or while stopping; both when no instance is named, as keepalived
// runs them; else the master daemon while the instance is MASTER and the
// backup daemon otherwise (keepalived's ipvs_syncd_master and
// ipvs_syncd_backup on its transitions), so a director that is not MASTER
// holds the connections the MASTER serves.
func wantedSyncDaemons(s hcl.LVSSyncDaemon, master, stopping bool) []lvs.SyncDaemon {
	if !s.Enabled || stopping {
		return nil
	}
	d := lvs.SyncDaemon{
		Interface: s.Interface, SyncID: uint8(s.SyncID), MaxLen: uint16(s.MaxLen),
		Group: s.Group, Port: uint16(s.Port), TTL: uint8(s.TTL),
	}
	m, b := d, d
	m.State, b.State = lvs.SyncMaster, lvs.SyncBackup
	switch {
	case s.Instance == "":
		return []lvs.SyncDaemon{m, b}
	case master:
		return []lvs.SyncDaemon{m}
	default:
		return []lvs.SyncDaemon{b}
	}
}

// kickSyncDaemons asks runSyncDaemons to apply the mastership now.
func (d *Director) kickSyncDaemons() {
	select {
	case d.syncKick <- struct{}{}:
	default: // a kick is pending: it will read the newest mastership
	}
}

// runSyncDaemons applies the sync daemons on every kick until ctx ends.
// Starting and stopping a daemon takes the kernel a while (it starts and
// stops kernel threads and sockets; 0.1–0.8 s in the test VM), so the VRRP
// transition hook only kicks this worker: the new master's VIPs and GARPs
// do not wait for it. The daemon switch needs no ordering with them: the
// connections a backup daemon received stay in the table when it stops.
func (d *Director) runSyncDaemons(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.syncKick:
			if !d.stopping.Load() {
				d.applySyncDaemons(false)
			}
		}
	}
}

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
// and the mastership of its instance ask for, and logs what changed.
// Until the instance's first transition (a restarted MASTER resumes) the
// daemons are left as found, like the services.
func (d *Director) applySyncDaemons(stopping bool) {
	ipvs := d.ipvsManager()
	if ipvs == nil {
		return
	}
	cfg := d.Config()
	s := cfg.Global.LVSSyncDaemon
	d.mu.Lock()
	master, known := d.mastership[s.Instance]
	d.mu.Unlock()
	if s.Enabled && s.Instance != "" && !known && !stopping {
		return
	}
	changed, err := ipvs.SetSyncDaemons(wantedSyncDaemons(s, master, stopping))
	for _, c := range changed {
		d.log.Info("IPVS sync daemon", "change", c, "instance", s.Instance)
	}
	if err != nil {
		d.log.Error("IPVS sync daemons", "err", err, "instance", s.Instance)
	}
}
