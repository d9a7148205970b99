package lvstest

import (
	"slices"
	"syscall"

	"github.com/lvsd/lvsd/lvs"
)

// The sync-daemon side of FakeKernel (lvs.SyncKernel), answering like
// ip_vs_sync.c: EEXIST when a daemon of that state runs, ESRCH when a stop
// finds none, EINVAL without an interface. The kernel fills in its
// defaults for what a start leaves zero; so does the fake.

// SyncDaemons implements lvs.SyncKernel.
func (f *FakeKernel) SyncDaemons() ([]lvs.SyncDaemon, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.daemons), nil
}

// StartSyncDaemon implements lvs.SyncKernel.
func (f *FakeKernel) StartSyncDaemon(d lvs.SyncDaemon) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d.Interface == "" || (d.State != lvs.SyncMaster && d.State != lvs.SyncBackup) {
		return syscall.EINVAL
	}
	if slices.ContainsFunc(f.daemons, func(r lvs.SyncDaemon) bool { return r.State == d.State }) {
		return syscall.EEXIST
	}
	if d.MaxLen == 0 {
		d.MaxLen = 1472 // what a 1500-byte MTU leaves
	}
	if d.Port == 0 {
		d.Port = 8848
	}
	if d.TTL == 0 {
		d.TTL = 1
	}
	f.daemons = append(f.daemons, d)
	f.DaemonLog = append(f.DaemonLog, "start "+d.String())
	return nil
}

// StopSyncDaemon implements lvs.SyncKernel.
func (f *FakeKernel) StopSyncDaemon(st lvs.SyncState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.daemons, func(r lvs.SyncDaemon) bool { return r.State == st })
	if i < 0 {
		return syscall.ESRCH
	}
	f.daemons = slices.Delete(f.daemons, i, i+1)
	f.DaemonLog = append(f.DaemonLog, "stop "+st.String())
	return nil
}

// Connections implements lvs.SyncKernel: what SetConnections set.
func (f *FakeKernel) Connections() (lvs.ConnectionCount, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns, nil
}

// SetConnections sets what Connections reports.
func (f *FakeKernel) SetConnections(c lvs.ConnectionCount) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns = c
}

// TakeDaemonLog returns DaemonLog and empties it.
func (f *FakeKernel) TakeDaemonLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.DaemonLog
	f.DaemonLog = nil
	return l
}
