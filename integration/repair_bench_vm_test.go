package integration

import (
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/vm"
)

// TestBenchRepairPassInVM times lvsd's periodic repair pass over the
// 2,000 × 16 table in one boot of the IPVS test VM, every table reader
// beside the others: moby/ipvs (the baseline issue 19 measured), lvs's
// reader on one socket and on pools of sockets (package lvs
// TestKernelBenchRepairPass). Run by make bench (LVSD_BENCH=1).
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
