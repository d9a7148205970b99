package integration

import (
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/vm"
)

// TestBenchGroupsLoadInVM times, in one boot of the IPVS test VM, loading
// the big table (2,000 services x 16 real servers) declared through 100
// virtual_server_groups, lvsd beside keepalived 2.2.7 on the same
// keepalived.conf, and counts the IPVS operations of a reload that moves
// one member of one group (integration/vm/scenarios TestBenchGroupsLoad).
// Run by make bench (LVSD_BENCH=1).
func TestBenchGroupsLoadInVM(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1 (make bench)")
	}
	vm.Require(t)
	lvsd := vm.BuildBinary(t, "./cmd/lvsd")
	spec := vm.Spec{
		Timeout: 25 * time.Minute,
		Files:   map[string]string{"/usr/local/bin/lvsd": lvsd},
	}
	if _, err := os.Stat("/usr/sbin/keepalived"); err == nil {
		spec.Programs = []string{"/usr/sbin/keepalived"}
	}
	vm.RunGoTests(t, spec, vm.Suite{
		Name:   "scenarios",
		Binary: vm.BuildTestBinary(t, "./integration/vm/scenarios"),
		Run:    "^TestBenchGroupsLoad$",
		Env:    map[string]string{"LVSD_BENCH": "1", "LVSD_BIN": "/usr/local/bin/lvsd"},
	})
}
