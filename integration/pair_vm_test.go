package integration

import (
	"os"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/vm"
)

// lvsdGuestPath is where the VM tests put the lvsd binary in the guest.
const lvsdGuestPath = "/usr/local/bin/lvsd"

// TestPairInVM boots one IPVS test VM and runs the director pair
// scenarios of integration/vm/scenarios (TestPair*) in it: two lvsd
// directors in namespaces, real servers, a client sending a request every
// 50 ms through the VIP while the master is killed, stopped, reloaded and
// restarted. The TestPairKeepalived* scenarios run lvsd on unchanged
// keepalived.conf files and replace a keepalived pair (the host's
// /usr/sbin/keepalived, copied into the guest with its libraries) by lvsd
// one node at a time; the ones that need keepalived skip without it. The
// inner tests narrate with lines starting "▶" (make demo prints them).
func TestPairInVM(t *testing.T) {
	vm.Require(t)
	lvsd := vm.BuildBinary(t, "./cmd/lvsd")
	spec := vm.Spec{
		Files: map[string]string{lvsdGuestPath: lvsd},
		// TestPairSwitchover's switch-overs take about 1.5 min.
		Timeout: 10 * time.Minute,
	}
	env := map[string]string{"LVSD_BIN": lvsdGuestPath}
	const keepalived = "/usr/sbin/keepalived"
	if _, err := os.Stat(keepalived); err == nil {
		spec.Programs = []string{keepalived}
		env["KEEPALIVED_BIN"] = keepalived
	} else {
		t.Logf("no keepalived: %v (apt-get install keepalived); the rolling replacement skips", err)
	}
	vm.RunGoTests(t, spec, vm.Suite{
		Name:   "scenarios",
		Binary: vm.BuildTestBinary(t, "./integration/vm/scenarios"),
		Run:    "^TestPair",
		Env:    env,
	})
}

// TestBenchPairFailover measures, in one VM run, the failover gap a client
// sees (kill -9 and SIGTERM of the master's daemon) for an lvsd pair and
// for a keepalived pair (the host's /usr/sbin/keepalived, copied into the
// guest with its libraries). LVSD_BENCH=1 only; the figures are printed
// as "BENCH failover gap ..." lines.
func TestBenchPairFailover(t *testing.T) {
	if os.Getenv("LVSD_BENCH") != "1" {
		t.Skip("benchmark: set LVSD_BENCH=1")
	}
	vm.Require(t)
	lvsd := vm.BuildBinary(t, "./cmd/lvsd")
	spec := vm.Spec{
		Files:   map[string]string{lvsdGuestPath: lvsd},
		Timeout: 20 * time.Minute, // 10,000 held connections, four failovers
	}
	env := map[string]string{"LVSD_BIN": lvsdGuestPath, "LVSD_BENCH": "1"}
	const keepalived = "/usr/sbin/keepalived"
	if _, err := os.Stat(keepalived); err == nil {
		spec.Programs = []string{keepalived}
		env["KEEPALIVED_BIN"] = keepalived
	} else {
		t.Logf("no reference: %v (apt-get install keepalived)", err)
	}
	vm.RunGoTests(t, spec, vm.Suite{
		Name:   "scenarios",
		Binary: vm.BuildTestBinary(t, "./integration/vm/scenarios"),
		Run:    "^TestBench(Sync)?Failover$",
		Env:    env,
	})
}
