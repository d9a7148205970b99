package integration

import (
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/vm"
)

// TestBenchRepairPassInVM times lvsd's periodic repair pass over the
// 2,000 × 16 table in one boot of the IPVS test VM (package lvs
// TestKernelBenchRepairPass): lvsd's steady pass (/proc/net/ip_vs, then
// through netlink what it shows changed and the rotation's share) beside
// the pass issue 19 measured, re-enacted in the same run (a moby/ipvs
// read and the whole table's diff), and the whole-table read lvsd makes
// after a start or a reload, with each pass's reads (netlink requests,
// system calls, the file's bytes and read calls). Run by make bench
// (LVSD_BENCH=1).
func TestBenchRepairPassInVM(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1 (make bench)")
	}
	vm.Require(t)
	bin, err := vm.CompileTests(t.TempDir(), "./lvs")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LVSD_IPVS_KERNEL": "1", "LVSD_BENCH": "1"}
	// LVSD_BENCH_PROFILE=1 prints a CPU profile of lvsd's passes.
	if p := os.Getenv("LVSD_BENCH_PROFILE"); p != "" {
		env["LVSD_BENCH_PROFILE"] = p
	}
	vm.RunGoTests(t, vm.Spec{Timeout: 10 * time.Minute}, vm.Suite{
		Name:   "lvs",
		Binary: bin,
		Run:    "^TestKernelBenchRepairPass$",
		Env:    env,
	})
}
