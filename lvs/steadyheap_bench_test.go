package lvs_test

import (
	"context"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/lvsd/lvsd/hcl"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// heapInUse is the live heap after two collections.
func heapInUse() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// checksBenchConfig is the checks benchmark's table (TestBenchChecksInVM,
// keepalived #2318's shape at 1/16 scale): 143 services, 2,326 real
// servers (16 each, 17 for the first 38).
func checksBenchConfig() *hcl.Config {
	cfg := lvstest.SyntheticConfig(143, 16)
	for i := range 38 {
		vs := &cfg.VirtualServers[i]
		extra := vs.RealServers[0]
		a := extra.Addr.Addr().As4()
		a[3] = 200
		extra.Addr = netip.AddrPortFrom(netip.AddrFrom4(a), 80)
		vs.RealServers = append(vs.RealServers, extra)
	}
	return cfg
}

// TestBenchManagerSteadyHeap prints what a Manager keeps in the heap on
// the checks benchmark's table (2,326 real servers), step by step: after
// the start's write, the health verdicts of every real server, three
// repair passes, a status, and once the status's read has aged. The fake
// kernel's own table is counted out (it is there before); the Linux
// reader's and writer's buffers are not in it (genetlink*_linux.go).
// docs/benchmarks.md, "Session 10, lvs's heap".
func TestBenchManagerSteadyHeap(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("set LVSD_BENCH=1 to print what the Manager keeps in the heap")
	}
	cfg := checksBenchConfig()
	fake := lvstest.NewFakeKernel(lvs.Desire(lvs.State{Config: cfg}).Table)
	base := heapInUse()
	kb := func() float64 { return float64(heapInUse()-base) / 1024 }
	m := lvs.NewManager(fake, lvs.ManagerOptions{})
	m.SetConfig(cfg)
	t.Logf("after the start's write: %7.1f KiB", kb())
	reals := 0
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		for _, rs := range vs.RealServers {
			m.SetVerdict(lvs.VerdictKey{Service: vs.Key(), Real: rs.Addr}, lvs.Verdict{Up: true, Weight: -1, Reason: "connected"})
			reals++
		}
	}
	t.Logf("after %d verdicts:    %7.1f KiB", reals, kb())
	for range 3 {
		if _, err := m.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("after 3 repair passes: %7.1f KiB", kb())
	if st := m.Status(); len(st) != len(cfg.VirtualServers) {
		t.Fatalf("status of %d services, want %d", len(st), len(cfg.VirtualServers))
	}
	t.Logf("after a status:       %7.1f KiB", kb())
	time.Sleep(1100 * time.Millisecond) // the status's read ages (statusMaxAge)
	t.Logf("a second later:       %7.1f KiB (%.0f B per real server)", kb(), kb()*1024/float64(reals))
	runtime.KeepAlive(m)
}
