package checks

import (
	"runtime"
	"slices"
	"testing"
	"time"
	"weak"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/internal/checksbench"
)

// liveHeap is the heap's live objects after two collections.
func liveHeap() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// maxKeptPerTCPCheck bounds what a Manager keeps in the heap per
// TCP_CHECK of the checks benchmark's table, once every check has passed
// once: a check's record (128 bytes), its real server's (56), its place in
// the list of checks and in the schedule (8 each), the lists that link
// them (4 each), and the Manager's own records spread over the checks
// (about 9). It was 361.6 before the checks and the real servers read
// their settings in the configuration (a heap profile of the daemon
// showed 0.8 MB for the 2,326 TCP_CHECKs); 216.9 since.
const maxKeptPerTCPCheck = 232

// What the Manager keeps per TCP_CHECK, on the checks benchmark's table
// (143 virtual servers, 2,326 real servers, one TCP_CHECK each), after
// its start and a round of passing attempts; the configuration is there
// before and counted out, as are the Events not yet forwarded.
func TestKeptPerTCPCheck(t *testing.T) {
	var l hcl.Loader
	cfg, diags := l.LoadSource("/etc/keepalived/keepalived.conf", checksbench.KeepalivedConf(checksbench.VirtualServers, checksbench.RealServers))
	if cfg == nil {
		t.Fatal(diags)
	}
	clock := newFakeClock()
	base := liveHeap()
	m := NewManager(cfg, Options{Clock: clock, Dialer: NetDialer{}})
	// The connector of the operating system's dialer, as Run makes it
	// (its loop does not run: the round's results are folded in here).
	c, err := newConnector(m.connected)
	if err != nil {
		t.Skipf("no connector: %v", err)
	}
	t.Cleanup(c.stop)
	m.connector = c
	m.mu.Lock()
	m.applyLocked(t.Context())
	done := clock.Now().Add(7 * time.Second)
	for _, p := range m.probes {
		m.sched.remove(p)
		p.running = true
		m.inflight++
		m.completeLocked(t.Context(), completion{p: p, r: Result{OK: true, Weight: -1, Reason: reasonConnected, Latency: 300 * time.Microsecond}, done: done})
	}
	m.mu.Unlock()
	m.qmu.Lock()
	m.pending = nil // forward's to take
	m.qmu.Unlock()
	kept := liveHeap() - base
	if len(m.probes) != 2326 || len(m.reals) != 2326 {
		t.Fatalf("%d checks of %d real servers, want 2,326 of 2,326", len(m.probes), len(m.reals))
	}
	per := float64(kept) / float64(len(m.probes))
	t.Logf("kept %d bytes, %.1f per TCP_CHECK", kept, per)
	if per > maxKeptPerTCPCheck {
		t.Errorf("the Manager keeps %.1f bytes per TCP_CHECK, want at most %d", per, maxKeptPerTCPCheck)
	}
	runtime.KeepAlive(m)
	runtime.KeepAlive(cfg)
}

// The checks and the real servers read their settings in the
// configuration applied; a reload that keeps them points them at the new
// one, so that the old configuration goes (kept, it would double the
// model's heap).
func TestAReloadLetsTheOldConfigurationGo(t *testing.T) {
	build := func() *hcl.Config {
		c := tcpChecker(1, time.Second, time.Second, 6*time.Second)
		return load(t,
			service("192.0.2.1:80", real("10.0.0.1:80", c, `notify_down = "/bin/true"`), real("10.0.0.2:80", c)),
			service("192.0.2.2:80", real("10.0.0.1:80", c)),
		)
	}
	old := build()
	m := NewManager(old, Options{Clock: newFakeClock(), Dialer: &fakeDialer{}})
	m.mu.Lock()
	m.applyLocked(t.Context())
	m.mu.Unlock()
	checker := weak.Make(&old.VirtualServers[0].RealServers[0].Checkers[0])
	server := weak.Make(&old.VirtualServers[0].RealServers[0])
	probes := slices.Clone(m.probes)
	m.Reload(build())
	old = nil
	m.mu.Lock()
	m.applyLocked(t.Context())
	m.mu.Unlock()
	if !slices.Equal(m.probes, probes) {
		t.Fatal("the reload did not keep the checks")
	}
	runtime.GC()
	runtime.GC()
	if checker.Value() != nil || server.Value() != nil {
		t.Errorf("the configuration replaced is kept (its checkers: %v, its real servers: %v)", checker.Value() != nil, server.Value() != nil)
	}
	runtime.KeepAlive(m)
}
