package director

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/internal/resetguard"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
	"github.com/lvsd/lvsd/vrrp"
)

func TestWantedSyncDaemonsFollowMastership(t *testing.T) {
	inst := hcl.LVSSyncDaemon{Enabled: true, Interface: "eth0", Instance: "VI_1", SyncID: 51, TTL: 2}
	none := inst
	none.Instance = ""
	m := lvs.SyncDaemon{State: lvs.SyncMaster, Interface: "eth0", SyncID: 51, TTL: 2}
	b := m
	b.State = lvs.SyncBackup
	for _, tc := range []struct {
		name                        string
		cfg                         hcl.LVSSyncDaemon
		master, receiving, stopping bool
		want                        []lvs.SyncDaemon
	}{
		{"BACKUP runs the backup daemon", inst, false, false, false, []lvs.SyncDaemon{b}},
		{"MASTER runs the master daemon", inst, true, false, false, []lvs.SyncDaemon{m}},
		{"a new MASTER keeps its backup daemon while receiving", inst, true, true, false, []lvs.SyncDaemon{m, b}},
		{"no instance named runs both (keepalived)", none, false, false, false, []lvs.SyncDaemon{m, b}},
		{"no instance named runs both while MASTER too", none, true, false, false, []lvs.SyncDaemon{m, b}},
		{"sync off runs none", hcl.LVSSyncDaemon{}, true, true, false, nil},
		{"shutdown stops them", inst, true, false, true, nil},
		{"shutdown stops them while receiving too", inst, true, true, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wantedSyncDaemons(tc.cfg, tc.master, tc.receiving, tc.stopping); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

const syncDirectorHCL = `
global {
  lvs_sync_daemon {
    instance = "VI_1"
    ttl      = %d
  }
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.100/24"]
}
virtual_server "192.0.2.100:80" {
  real_server "10.0.0.1:80" {}
}
`

// TestMastershipSwitchesTheSyncDaemons drives the director's transition
// hook as the VRRP node does and reads the fake kernel's daemons.
func TestMastershipSwitchesTheSyncDaemons(t *testing.T) {
	fk := lvstest.NewFakeKernel(nil)
	cfg := hcltest.Load(t, fmt.Sprintf(syncDirectorHCL, 2))
	d, err := New(cfg, Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return fk, nil }})
	if err != nil {
		t.Fatal(err)
	}
	d.syncLinger = time.Second
	stop := startRun(t, d)
	defer stop()
	running := func() []string {
		ds, _ := fk.SyncDaemons()
		var out []string
		for _, x := range ds {
			out = append(out, x.String())
		}
		slices.Sort(out)
		return out
	}
	step := func(to vrrp.State, want ...string) {
		t.Helper()
		if err := d.onTransition(context.Background(), vrrp.Transition{Instance: "VI_1", To: to}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("the daemons after %v: %q", to, want), func() bool { return slices.Equal(running(), want) })
	}
	backup := "backup daemon on eth0, sync id 51, port 8848, ttl 2, maxlen 1472"
	master := "master daemon on eth0, sync id 51, port 8848, ttl 2, maxlen 1472"
	step(vrrp.StateBackup, backup)
	// The new master's backup daemon lingers (syncLinger), then stops.
	step(vrrp.StateMaster, backup, master)
	waitFor(t, "the backup daemon to stop after the linger", func() bool { return slices.Equal(running(), []string{master}) })
	step(vrrp.StateBackup, backup)
	fk.TakeDaemonLog()
	fk.SetConnections(lvs.ConnectionCount{Total: 12, Synced: 10})
	if r := d.Report().Sync; r == nil || r.Instance != "VI_1" || r.Connections != 12 || r.Synced != 10 ||
		len(r.Daemons) != 1 || r.Daemons[0] != (SyncDaemonReport{State: "backup", Interface: "eth0", SyncID: 51}) {
		t.Errorf("status report of sync: %+v", r)
	}
	// A reload with the same settings changes nothing; a new ttl
	// restarts the daemon.
	d.opts.Load = func(string) (*hcl.Config, hcl.Diagnostics) {
		return hcltest.Load(t, fmt.Sprintf(syncDirectorHCL, 2)), nil
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if l := fk.TakeDaemonLog(); len(l) != 0 {
		t.Errorf("an unchanged reload touched the daemons: %q", l)
	}
	d.opts.Load = func(string) (*hcl.Config, hcl.Diagnostics) {
		return hcltest.Load(t, fmt.Sprintf(syncDirectorHCL, 3)), nil
	}
	if err := d.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := running(); !slices.Equal(got, []string{"backup daemon on eth0, sync id 51, port 8848, ttl 3, maxlen 1472"}) {
		t.Errorf("after a reload with ttl 3: %q", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := running(); len(got) != 0 {
		t.Errorf("after shutdown: %q", got)
	}
}

// slowVIPSegment is a fakeSegment whose VIPs take a while to come up (as
// a VIP waits for rtnl_lock in the kernel) and which records, at each
// gratuitous ARP, whether a master sync daemon was running.
type slowVIPSegment struct {
	*fakeSegment
	mu              sync.Mutex
	garps           int
	masterBeforeARP bool
}

func (s *slowVIPSegment) network() vrrp.Network {
	return vrrp.Network{Adverts: s, Addresses: s, Announcer: s, Links: s}
}

func (s *slowVIPSegment) AddVIP(v hcl.VIP) error {
	time.Sleep(200 * time.Millisecond)
	return s.fakeSegment.AddVIP(v)
}

func (s *slowVIPSegment) SendGARP(string, netip.Addr, int) error {
	ds, _ := s.kernel.SyncDaemons()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.garps++
	s.masterBeforeARP = s.masterBeforeARP || slices.ContainsFunc(ds, func(d lvs.SyncDaemon) bool { return d.State == lvs.SyncMaster })
	return nil
}

// TestNewMasterStartsItsMasterSyncDaemonAfterItsGratuitousARP: the
// kernel holds rtnl_lock while it starts a sync daemon, and a VIP waits
// for it, so a new MASTER starts its master daemon only once its VIPs are
// up and announced.
func TestNewMasterStartsItsMasterSyncDaemonAfterItsGratuitousARP(t *testing.T) {
	kernel := lvstest.NewFakeKernel(nil)
	seg := &slowVIPSegment{fakeSegment: newFakeSegment(kernel)}
	d, err := New(hcltest.Load(t, strings.Replace(fmt.Sprintf(syncDirectorHCL, 2), "virtual_router_id = 51", "virtual_router_id = 51\n  state = \"MASTER\"\n  priority = 255", 1)), Options{
		File: "lvsd.hcl", VRRP: true, Checks: true,
		OpenKernel: func() (lvs.Kernel, error) { return kernel, nil },
		Network:    seg.network(),
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, d)
	defer stop()
	// Priority 255 is MASTER at once (RFC 3768 §6.4.1).
	waitFor(t, "the master daemon", func() bool {
		ds, _ := kernel.SyncDaemons()
		return slices.ContainsFunc(ds, func(d lvs.SyncDaemon) bool { return d.State == lvs.SyncMaster })
	})
	seg.mu.Lock()
	defer seg.mu.Unlock()
	if seg.garps == 0 || seg.masterBeforeARP {
		t.Errorf("the master daemon started before the gratuitous ARP (%d ARPs sent, master daemon running at one of them: %v)", seg.garps, seg.masterBeforeARP)
	}
}

// TestResetGuardIsOpenWhileRunningAndHeldByANewMaster: with connection
// sync on, Run installs the reset guard's table before any takeover (its
// sets empty), a new MASTER puts the virtual server's address into them
// and takes it out after the linger, and a stopped director leaves no
// table. Root only, with nf_tables (it uses the host's own
// namespace, as lvsd does).
func TestResetGuardIsOpenWhileRunningAndHeldByANewMaster(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for nftables")
	}
	if err := resetguard.Clear(); err != nil {
		t.Skipf("nftables unavailable here: %v", err)
	}
	// held counts the addresses in the guard's sets (v4 and v6), and
	// says whether its table is there.
	held := func() (int, bool) {
		t.Helper()
		c, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		tb, err := c.ListTableOfFamily(resetguard.TableName, nftables.TableFamilyINet)
		if err != nil {
			return 0, false
		}
		n := 0
		for _, name := range []string{"v4", "v6"} {
			set, err := c.GetSetByName(tb, name)
			if err != nil {
				t.Fatalf("the guard's set %s: %v", name, err)
			}
			elems, err := c.GetSetElements(set)
			if err != nil {
				t.Fatalf("the guard's set %s: %v", name, err)
			}
			n += len(elems)
		}
		return n, true
	}
	fk := lvstest.NewFakeKernel(nil)
	d, err := New(hcltest.Load(t, fmt.Sprintf(syncDirectorHCL, 2)), Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return fk, nil }})
	if err != nil {
		t.Fatal(err)
	}
	d.syncLinger = 300 * time.Millisecond
	stop := startRun(t, d)
	defer stop()
	waitFor(t, "the guard's table at the start", func() bool { n, ok := held(); return ok && n == 0 })
	if err := d.onTransition(context.Background(), vrrp.Transition{Instance: "VI_1", To: vrrp.StateMaster}); err != nil {
		t.Fatal(err)
	}
	// The hook holds the guard before it returns: before the VIPs.
	if n, ok := held(); !ok || n != 1 {
		t.Fatalf("after the transition hook to MASTER: table %v, %d addresses held, want 1", ok, n)
	}
	if got := d.guard.Held(); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("192.0.2.100")}) {
		t.Errorf("held %v, want the virtual server's address", got)
	}
	waitFor(t, "the guard released after the linger", func() bool { n, ok := held(); return ok && n == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n, ok := held(); ok {
		t.Errorf("a stopped director left the guard's table (%d addresses held)", n)
	}
}

// TestDirectorWithoutSyncDeletesAGuardLeftBehind: a reset guard table an
// lvsd killed while it held the guard left behind goes when a director
// without connection sync starts (one with sync replaces it, above):
// otherwise its sets would drop the virtual addresses' resets for good.
// Root only, with nf_tables, in the host's namespace as above.
func TestDirectorWithoutSyncDeletesAGuardLeftBehind(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for nftables")
	}
	left, err := resetguard.Open()
	if err != nil {
		t.Skipf("nftables unavailable here: %v", err)
	}
	defer left.Close()
	if err := left.Hold([]netip.Addr{netip.MustParseAddr("192.0.2.100")}); err != nil {
		t.Fatal(err)
	}
	exists := func() bool {
		c, err := nftables.New()
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListTableOfFamily(resetguard.TableName, nftables.TableFamilyINet)
		return err == nil
	}
	if !exists() {
		t.Fatal("the table left behind is not there")
	}
	fk := lvstest.NewFakeKernel(nil)
	cfg := hcltest.Load(t, `
global {
  lvs_sync_daemon {
    enabled = false
  }
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  virtual_ipaddress = ["192.0.2.100/24"]
}
virtual_server "192.0.2.100:80" {
  real_server "10.0.0.1:80" {}
}
`)
	d, err := New(cfg, Options{Checks: true, OpenKernel: func() (lvs.Kernel, error) { return fk, nil }})
	if err != nil {
		t.Fatal(err)
	}
	stop := startRun(t, d)
	defer stop()
	waitFor(t, "the table left behind deleted", func() bool { return !exists() })
}
