package integration

import (
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/vm"
)

// TestBenchIPVSLoadInVM times, in one boot of the IPVS test VM, loading
// 2,000 virtual services × 16 real servers into an empty table with
// ipvsadm -R (the reference), with package lvs, with the lvsd binary on
// the keepalived.conf and on the same table as lvsd.hcl (in rounds
// interleaved with lvs's writer), and keepalived 2.2.7 on the
// keepalived.conf, and prints them side by side (integration/vm/scenarios
// TestBenchIPVSLoad). Run by make bench (LVSD_BENCH=1).
func TestBenchIPVSLoadInVM(t *testing.T) {
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
	} else {
		t.Log("keepalived not installed: no keepalived figure (apt-get install keepalived)")
	}
	vm.RunGoTests(t, spec, vm.Suite{
		Name:   "scenarios",
		Binary: vm.BuildTestBinary(t, "./integration/vm/scenarios"),
		Run:    "^TestBenchIPVSLoad$",
		Env:    map[string]string{"LVSD_BENCH": "1", "LVSD_BIN": "/usr/local/bin/lvsd"},
	})
}
