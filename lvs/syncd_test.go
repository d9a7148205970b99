package lvs_test

import (
	"slices"
	"testing"

	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// staleDaemonRead is a kernel whose first read of the daemons misses one
// that runs (started by someone else between the read and lvsd's start).
type staleDaemonRead struct {
	*lvstest.FakeKernel
	reads int
}

func (k *staleDaemonRead) SyncDaemons() ([]lvs.SyncDaemon, error) {
	k.reads++
	if k.reads == 1 {
		return nil, nil
	}
	return k.FakeKernel.SyncDaemons()
}

func TestSetSyncDaemonsHandlesEEXISTAndESRCHAsKeepalived(t *testing.T) {
	master := lvs.SyncDaemon{State: lvs.SyncMaster, Interface: "eth0", SyncID: 51}
	backup := lvs.SyncDaemon{State: lvs.SyncBackup, Interface: "eth0", SyncID: 51}
	stranger := lvs.SyncDaemon{State: lvs.SyncBackup, Interface: "eth1", SyncID: 9}

	t.Run("a wanted daemon already running is kept", func(t *testing.T) {
		fk := lvstest.NewFakeKernel(nil)
		k := &staleDaemonRead{FakeKernel: fk}
		fk.StartSyncDaemon(backup)
		fk.TakeDaemonLog()
		m := lvs.NewManager(k, lvs.ManagerOptions{})
		if _, err := m.SetSyncDaemons([]lvs.SyncDaemon{backup}); err != nil {
			t.Fatal(err)
		}
		if l := fk.TakeDaemonLog(); len(l) != 0 {
			t.Errorf("EEXIST for the wanted daemon changed the kernel: %v", l)
		}
	})
	t.Run("another daemon of that state is replaced", func(t *testing.T) {
		fk := lvstest.NewFakeKernel(nil)
		k := &staleDaemonRead{FakeKernel: fk}
		fk.StartSyncDaemon(stranger)
		fk.TakeDaemonLog()
		m := lvs.NewManager(k, lvs.ManagerOptions{})
		if _, err := m.SetSyncDaemons([]lvs.SyncDaemon{backup}); err != nil {
			t.Fatal(err)
		}
		ds, _ := fk.SyncDaemons()
		if len(ds) != 1 || ds[0].Interface != "eth0" || ds[0].SyncID != 51 {
			t.Errorf("running %v, want the backup daemon on eth0 id 51", ds)
		}
	})
	t.Run("a daemon already stopped is not an error", func(t *testing.T) {
		fk := lvstest.NewFakeKernel(nil)
		fk.StartSyncDaemon(master)
		// Someone stops it between lvsd's read and its stop: ESRCH.
		m := lvs.NewManager(&stopsFirst{FakeKernel: fk}, lvs.ManagerOptions{})
		changed, err := m.SetSyncDaemons([]lvs.SyncDaemon{backup})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(changed, []string{"stopped master daemon", "started backup daemon on eth0, sync id 51"}) {
			t.Errorf("changed %q", changed)
		}
	})
	t.Run("the same settings again change nothing", func(t *testing.T) {
		fk := lvstest.NewFakeKernel(nil)
		m := lvs.NewManager(fk, lvs.ManagerOptions{})
		for range 2 {
			if _, err := m.SetSyncDaemons([]lvs.SyncDaemon{master, backup}); err != nil {
				t.Fatal(err)
			}
		}
		if l := fk.TakeDaemonLog(); len(l) != 2 {
			t.Errorf("kernel log %v, want two starts", l)
		}
		if st := m.SyncStatus(); len(st.Daemons) != 2 || st.ReadError != "" {
			t.Errorf("status %+v", st)
		}
	})
}

// stopsFirst stops a daemon behind lvsd's back right before lvsd does.
type stopsFirst struct{ *lvstest.FakeKernel }

func (k *stopsFirst) StopSyncDaemon(st lvs.SyncState) error {
	k.FakeKernel.StopSyncDaemon(st)
	return k.FakeKernel.StopSyncDaemon(st)
}
