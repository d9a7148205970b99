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
// (integration/vm/scenarios TestBenchChecksVsKeepalived), then where each
// daemon's resident memory is (smaps, pagemap) and its system calls per
// connect (strace -c). Gated by LVSD_BENCH=1; LVSD_BENCH_SECONDS sets the
// window (default 40), LVSD_BENCH_CHECKS_ONLY chooses lvsd's runs by name,
// LVSD_BIN_BEFORE adds an older lvsd binary to the same boot,
// LVSD_BENCH_CHECKS_BUSY sets the busy loops of the starved pairs,
// LVSD_BENCH_FAULT_AROUND the guest kernel's fault_around_bytes (a
// measurement: 4096 maps only the pages a daemon touches).
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
	// strace -c counts each daemon's system calls per connect.
	if _, err := os.Stat("/usr/bin/strace"); err == nil {
		spec.Programs = append(spec.Programs, "/usr/bin/strace")
	}
	// perf samples both daemons of the profiled pair (user and kernel).
	if _, err := os.Stat("/usr/bin/perf"); err == nil {
		spec.Programs = append(spec.Programs, "/usr/bin/perf")
	}
	env := map[string]string{"LVSD_BENCH": "1", "LVSD_BIN": "/usr/local/bin/lvsd"}
	// LVSD_BIN_BEFORE: an older lvsd binary (a host path) measured in
	// the same boot, for before/after figures from one run.
	if before := os.Getenv("LVSD_BIN_BEFORE"); before != "" {
		spec.Files["/usr/local/bin/lvsd-before"] = before
		env["LVSD_BIN_BEFORE"] = "/usr/local/bin/lvsd-before"
	}
	for _, k := range []string{"LVSD_BENCH_CHECKS_SCALE", "LVSD_BENCH_SECONDS", "LVSD_BENCH_CHECKS_ONLY", "LVSD_BENCH_CHECKS_BUSY", "LVSD_BENCH_FAULT_AROUND"} {
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
