package integration

import (
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/vm"
)

// TestBenchClusterInVM measures, in one boot of the IPVS test VM, the
// cluster of three lvsd directors behind BIRD 2 (integration/vm/scenarios
// TestBenchCluster: connections per second through one, two and three
// directors; kill -9 of one of three) beside the lvsd VRRP pair's failover
// (TestBenchFailover, with keepalived's when the host has it). Run by make
// bench (LVSD_BENCH=1); the figures are the "BENCH ..." lines.
func TestBenchClusterInVM(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1 (make bench)")
	}
	vm.Require(t)
	lvsd := vm.BuildBinary(t, "./cmd/lvsd")
	spec := vm.Spec{
		Files:   map[string]string{lvsdGuestPath: lvsd},
		Timeout: 15 * time.Minute,
	}
	env := map[string]string{"LVSD_BIN": lvsdGuestPath, "LVSD_BENCH": "1"}
	const keepalived = "/usr/sbin/keepalived"
	if _, err := os.Stat(keepalived); err == nil {
		spec.Programs = []string{keepalived}
		env["KEEPALIVED_BIN"] = keepalived
	}
	vm.RunGoTests(t, spec, vm.Suite{
		Name:   "scenarios",
		Binary: vm.BuildTestBinary(t, "./integration/vm/scenarios"),
		Run:    "^(TestBenchCluster|TestBenchFailover)$",
		Env:    env,
	})
}
