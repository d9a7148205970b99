package vrrp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/hcltest"
)

// TestTrackedObjectsMoveLikeKeepalived: keepalived's rules for a tracked
// interface, script or process (vrrp_track.c) and a tracked file
// (track_file.c), weight and reverse.
func TestTrackedObjectsMoveLikeKeepalived(t *testing.T) {
	objects := []struct {
		weight  int
		reverse bool
		up      bool
		fault   bool
		delta   int
	}{
		{0, false, true, false, 0},
		{0, false, false, true, 0},
		{0, true, true, true, 0}, // reverse: FAULT while up
		{0, true, false, false, 0},
		{10, false, true, false, 10},
		{10, false, false, false, 0},
		{10, true, true, false, -10}, // reverse: the weight is taken away while up
		{-10, false, false, false, -10},
		{-10, false, true, false, 0},
		{-10, true, false, false, 10},
	}
	for _, tt := range objects {
		fault, delta := trackedEffect(tt.weight, tt.reverse, tt.up)
		if fault != tt.fault || delta != tt.delta {
			t.Errorf("weight %d reverse %v up %v: fault %v delta %d, want %v %d", tt.weight, tt.reverse, tt.up, fault, delta, tt.fault, tt.delta)
		}
	}
	files := []struct {
		weight  int
		reverse bool
		value   int64
		fault   bool
		delta   int
	}{
		{0, false, 0, false, 0},
		{0, false, 7, true, 0}, // weight 0: any number but 0 is FAULT
		{0, true, 0, true, 0},  // reverse: 0 is FAULT
		{0, true, 7, false, 0},
		{1, false, 20, false, 20},
		{5, false, 100, false, 253}, // capped at 253
		{1, false, -253, false, -253},
		{1, false, -254, true, 0}, // -254 or below is FAULT
		{10, true, 3, false, -30},
		{10, true, -3, false, 30},
	}
	for _, tt := range files {
		fault, delta := fileEffect(hcl.TrackedFile{Weight: tt.weight, Reverse: tt.reverse}, tt.value)
		if fault != tt.fault || delta != tt.delta {
			t.Errorf("file weight %d reverse %v value %d: fault %v delta %d, want %v %d", tt.weight, tt.reverse, tt.value, fault, delta, tt.fault, tt.delta)
		}
	}
}

// notices records what a node tells Options.OnNotice.
type notices struct {
	mu    sync.Mutex
	lines []string
}

func (n *notices) add(nt Notice) {
	n.mu.Lock()
	n.lines = append(n.lines, nt.Line())
	n.mu.Unlock()
}

func (n *notices) get() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.lines)
}

// startWith is wire.start with options of the test's.
func (l *wire) startWith(cfg *hcl.Config, fn *fakeNet, opts Options) *node {
	l.t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", fn.name)
	}
	opts.Network, opts.Clock = fn.network(), l.clock
	n := NewNode(cfg, opts)
	ctx, cancel := context.WithCancel(context.Background())
	nd := &node{Node: n, cancel: cancel, done: make(chan error, 1)}
	go func() { nd.done <- n.Run(ctx) }()
	l.t.Cleanup(nd.stop)
	l.settle()
	return nd
}

func TestNodeTrackFileMovesPriorityAndFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		file := filepath.Join(t.TempDir(), "prio")
		write := func(s string) {
			if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("2\n")
		cfg := hcltest.Load(t, fmt.Sprintf(`track_file "f" {
  file = %q
  weight = 10
}
`, file)+instanceHCL("VI_1", 51, 100, "192.0.2.100", `  track_file = ["f"]
`))
		na := l.start(cfg, l.net("A", 1))
		if p := na.Status()[0].Priority; p != 120 {
			t.Fatalf("priority %d with the file at 2 × weight 10 at start, want 120", p)
		}
		write("-5")
		l.advance(hcl.ProcessPollInterval)
		if p := na.Status()[0].Priority; p != 50 {
			t.Fatalf("priority %d with the file at -5, want 50", p)
		}
		write("-30") // -300: FAULT
		l.advance(hcl.ProcessPollInterval)
		if s := na.state("VI_1"); s != StateFault {
			t.Fatalf("%s with the file at -30 × 10, want FAULT", s)
		}
		os.Remove(file) // a missing file reads 0
		l.advance(hcl.ProcessPollInterval)
		if s, p := na.state("VI_1"), na.Status()[0].Priority; s != StateBackup || p != 100 {
			t.Fatalf("%s at %d with the file gone, want BACKUP at 100", s, p)
		}
	})
}

// fakeProc writes a /proc-like process entry under root.
func fakeProc(t *testing.T, root string, pid int, comm string, argv ...string) {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "stat"), []byte(fmt.Sprintf("%d (%s) S 1 1 1 0 -1", pid, comm)), 0o644)
	cmd := ""
	for _, a := range argv {
		cmd += a + "\x00"
	}
	os.WriteFile(filepath.Join(dir, "cmdline"), []byte(cmd), 0o644)
}

func TestNodeTrackProcessQuorum(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		root := t.TempDir()
		fakeProc(t, root, 10, "haproxy", "/usr/sbin/haproxy", "-f", "/etc/haproxy.cfg")
		fakeProc(t, root, 11, "sshd", "/usr/sbin/sshd")
		cfg := hcltest.Load(t, `vrrp_track_process "hap" {
  process = "haproxy"
  quorum = 2
  fork_delay = 2
}
vrrp_track_process "web" {
  process = "/usr/sbin/haproxy -f"
  param_match = "partial"
  weight = 15
}
`+instanceHCL("VI_1", 51, 100, "192.0.2.100", `  track_process = ["hap", "web"]
`))
		na := l.startWith(cfg, l.net("A", 1), Options{ProcRoot: root})
		if s := na.state("VI_1"); s != StateFault {
			t.Fatalf("%s with one haproxy of a quorum of 2, want FAULT", s)
		}
		if p := na.Status()[0].Priority; p != 115 {
			t.Fatalf("priority %d with /usr/sbin/haproxy -f … running, want 115", p)
		}
		fakeProc(t, root, 12, "haproxy", "/usr/sbin/haproxy", "-D")
		l.advance(hcl.ProcessPollInterval)
		if s := na.state("VI_1"); s != StateFault {
			t.Fatalf("%s within fork_delay of the second haproxy, want FAULT", s)
		}
		l.advance(3 * hcl.ProcessPollInterval)
		if s := na.state("VI_1"); s != StateBackup {
			t.Fatalf("%s once two haproxy ran for fork_delay, want BACKUP", s)
		}
	})
}

func TestNodeSyncGroupTrackingReachesEveryMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		cfg := hcltest.Load(t, instanceHCL("VI_X", 51, 100, "192.0.2.100", "")+instanceHCL("VI_Y", 52, 100, "192.0.2.101", "")+`vrrp_sync_group "G" {
  group = ["VI_X", "VI_Y"]
  track_interface = ["eth1"]
}
`)
		na := l.start(cfg, fa)
		fa.setLink("eth1", false)
		l.settle()
		if na.state("VI_X") != StateFault || na.state("VI_Y") != StateFault {
			t.Fatalf("the group's eth1 down: VI_X %s, VI_Y %s, want both FAULT", na.state("VI_X"), na.state("VI_Y"))
		}
	})
}

func TestNodeDontTrackPrimaryStaysOutOfFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		fa := l.net("A", 1)
		cfg := hcltest.Load(t, instanceHCL("VI_1", 51, 100, "192.0.2.100", "  dont_track_primary = true\n")+
			instanceHCL("VI_2", 52, 100, "192.0.2.101", ""))
		na := l.start(cfg, fa)
		fa.setLink("eth0", false)
		l.settle()
		if na.state("VI_1") != StateBackup || na.state("VI_2") != StateFault {
			t.Fatalf("eth0 down: VI_1 %s (dont_track_primary), VI_2 %s; want BACKUP and FAULT", na.state("VI_1"), na.state("VI_2"))
		}
	})
}

// TestNodeInitFailStartsTheScriptFailed: init_fail counts the script as
// failed from the start, so a negative weight applies before it first
// runs and the instance does not wait for it; rise successes lift it.
func TestNodeInitFailStartsTheScriptFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		cfg := hcltest.Load(t, `vrrp_script "chk" {
  script = "/bin/true"
  interval = "1h"
  weight = -20
  rise = 2
  init_fail = true
}
`+instanceHCL("VI_1", 51, 100, "192.0.2.100", `  track_script = ["chk"]
`))
		na := l.start(cfg, l.net("A", 1))
		if s, p := na.state("VI_1"), na.Status()[0].Priority; s != StateBackup || p != 80 {
			t.Fatalf("%s at %d at start, want BACKUP at 80 (init_fail)", s, p)
		}
	})
}

func TestNodeVRRPStartupDelayHoldsEveryInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		cfg := hcltest.Load(t, "global {\n  vrrp_startup_delay = 10\n}\n"+instanceHCL("VI_1", 51, 255, "192.0.2.100", ""))
		na := l.start(cfg, l.net("A", 1))
		l.advance(10*time.Second - time.Nanosecond)
		if s := na.state("VI_1"); s != StateInit {
			t.Fatalf("%s before vrrp_startup_delay, want INIT", s)
		}
		l.advance(time.Nanosecond)
		if s := na.state("VI_1"); s != StateMaster {
			t.Fatalf("%s at vrrp_startup_delay, want MASTER (the owner)", s)
		}
	})
}

func TestNodeDownTimerAdvertsLengthensMasterDownInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		cfg := hcltest.Load(t, instanceHCL("VI_1", 51, 100, "192.0.2.100", "  down_timer_adverts = 5\n"))
		na := l.start(cfg, l.net("A", 1))
		want := 5*time.Second + SkewTime(100)
		l.advance(want - time.Nanosecond)
		if s := na.state("VI_1"); s != StateBackup {
			t.Fatalf("%s before 5 × advert_int + Skew_Time, want BACKUP", s)
		}
		l.advance(time.Nanosecond)
		if s := na.state("VI_1"); s != StateMaster {
			t.Fatalf("%s at 5 × advert_int + Skew_Time, want MASTER", s)
		}
	})
}

// TestNodeKeepalivedOwnerWrittenBackupStartsBackup: keepalived starts an
// instance with state BACKUP and priority 255 in BACKUP; it takes over
// when its Master_Down_Timer fires (HCL keeps RFC 3768 §6.4.1).
func TestNodeKeepalivedOwnerWrittenBackupStartsBackup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		cfg := hcltest.LoadKeepalived(t, `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 255
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`)
		na := l.start(cfg, l.net("A", 1))
		if s := na.state("VI_1"); s != StateBackup {
			t.Fatalf("%s at start, want BACKUP as keepalived", s)
		}
		l.advance(MasterDownInterval(time.Second, 255))
		if s := na.state("VI_1"); s != StateMaster {
			t.Fatalf("%s after Master_Down_Interval, want MASTER", s)
		}
	})
}

// TestNodeNoticesInKeepalivedsFIFOFormat: every state change of an
// instance and a group, and the stop, in keepalived's notify FIFO lines;
// a reload that removes an instance says DELETED with notify_deleted.
func TestNodeNoticesInKeepalivedsFIFOFormat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		var got notices
		src := instanceHCL("VI_1", 51, 255, "192.0.2.100", "") + instanceHCL("VI_2", 52, 100, "192.0.2.101", "  notify_deleted = true\n") + `vrrp_sync_group "G" {
  group = ["VI_1"]
}
`
		na := l.startWith(hcltest.Load(t, src), l.net("A", 1), Options{OnNotice: got.add})
		if err := na.Reload(hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", "")+`vrrp_sync_group "G" {
  group = ["VI_1"]
}
`)); err != nil {
			t.Fatal(err)
		}
		l.settle()
		na.stop()
		want := []string{`INSTANCE "VI_1" MASTER 255`, `GROUP "G" MASTER 0`, `INSTANCE "VI_2" BACKUP 100`,
			`INSTANCE "VI_2" DELETED 100`, `INSTANCE "VI_1" STOP 255`, `GROUP "G" STOP 0`}
		if g := got.get(); !slices.Equal(g, want) {
			t.Errorf("notices\n got %q\nwant %q", g, want)
		}
	})
}

// TestNodeMasterHearingALowerPriorityRunsItsScript: a MASTER that hears a
// lower-priority master runs notify_master_rx_lower_pri and tells the
// notice (keepalived's send_event_notify).
func TestNodeMasterHearingALowerPriorityRunsItsScript(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newWire(t)
		var got notices
		script, out := notifyScript(t)
		na := l.startWith(hcltest.Load(t, instanceHCL("VI_1", 51, 255, "192.0.2.100", fmt.Sprintf("  notify_master_rx_lower_pri = %q\n", script+" lower"))),
			l.net("A", 1), Options{OnNotice: got.add})
		l.intruder(Advert{VRID: 51, Priority: 100, AuthType: AuthPassword, AdvertInt: 1, Password: PasswordOf("secret"),
			Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}, 0)
		l.settle()
		na.stop()
		if g := got.get(); !slices.Contains(g, `INSTANCE "VI_1" MASTER_RX_LOWER_PRI 255`) {
			t.Errorf("notices %q", g)
		}
		if lines := readLines(out); !slices.Equal(lines, []string{"lower"}) {
			t.Errorf("notify_master_rx_lower_pri ran with %q", lines)
		}
	})
}
