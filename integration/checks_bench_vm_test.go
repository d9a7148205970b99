package integration

import (
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/vm"
)

// TestBenchChecksInVM runs, in one boot of the IPVS test VM, keepalived's
// largest reported checker configuration (keepalived #2318, scaled down
// for TCG: LVSD_BENCH_CHECKS_SCALE, default 1/16) with the lvsd binary and
// then keepalived 2.2.7 on the same loopback TCP targets, and prints CPU,
// RSS, checks per second and the interval p50/p99 of each side by side
// (integration/vm/scenarios TestBenchChecksVsKeepalived). Gated by
// LVSD_BENCH=1; LVSD_BENCH_SECONDS sets the window (default 40).
func TestBenchChecksInVM(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1")
	}
	vm.Require(t)
	lvsd := vm.BuildBinary(t, "./cmd/lvsd")
	spec := vm.Spec{
		Timeout: 20 * time.Minute,
		Files:   map[string]string{"/usr/local/bin/lvsd": lvsd},
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err == nil {
		spec.Programs = []string{"/usr/sbin/keepalived"}
	} else {
		t.Log("keepalived not installed: no keepalived figure (apt-get install keepalived)")
	}
	env := map[string]string{"LVSD_BENCH": "1", "LVSD_BIN": "/usr/local/bin/lvsd"}
	for _, k := range []string{"LVSD_BENCH_CHECKS_SCALE", "LVSD_BENCH_SECONDS"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	vm.RunGoTests(t, spec, vm.Suite{
		Name:   "scenarios",
		Binary: vm.BuildTestBinary(t, "./integration/vm/scenarios"),
		Run:    "^TestBenchChecksVsKeepalived$",
		Env:    env,
	})
}
