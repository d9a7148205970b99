package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lvsd/lvsd/integration/kadiff"
	"github.com/lvsd/lvsd/integration/vm"
)

// TestIPVSInVM runs, in one boot of the IPVS test VM, the kernel tests of
// package lvs (LVSD_IPVS_KERNEL=1, tests named *Kernel*) and the scenarios
// of integration/vm/scenarios (namespaces, real servers, a client, traffic
// through DR, NAT and TUN VIPs). Each inner test shows up as a subtest:
// TestIPVSInVM/lvs/TestKernel…, TestIPVSInVM/scenarios/Test….
func TestIPVSInVM(t *testing.T) {
	vm.Require(t)
	var suites []vm.Suite
	// A build failure of lvs is reported; the scenarios still run.
	bin, err := vm.CompileTests(t.TempDir(), "./lvs")
	if err != nil {
		t.Error(err)
	}
	if bin != "" {
		suites = append(suites, vm.Suite{
			Name: "lvs", Binary: bin, Run: "Kernel",
			Env: map[string]string{"LVSD_IPVS_KERNEL": "1"},
		})
	} else {
		t.Log("package lvs has no tests yet")
	}
	env := map[string]string{"LVSD_BIN": lvsdGuestPath}
	lvsd := vm.BuildBinary(t, "./cmd/lvsd")
	// 15 min: the scenarios took over 8 min on a loaded 2-core host,
	// TestLvsdClusterBehindBIRD 2.3 min of it (issue 16), and the takeover
	// and SIGKILL tests add about 3 (issue 19).
	spec := vm.Spec{Files: map[string]string{lvsdGuestPath: lvsd}, Timeout: 15 * time.Minute}
	// TestLvsdKeepalivedGroupTable compares lvsd's table with the host's
	// keepalived's, copied into the guest with its libraries.
	const keepalived = "/usr/sbin/keepalived"
	if _, err := os.Stat(keepalived); err == nil {
		spec.Programs = []string{keepalived}
		env["KEEPALIVED_BIN"] = keepalived
	}
	// TestLvsdFullNATServesRealServersWithoutARouteBack reads lvsd's
	// FULLNAT table with nft.
	if _, err := os.Stat("/usr/sbin/nft"); err == nil {
		spec.Programs = append(spec.Programs, "/usr/sbin/nft")
	}
	// TestLvsdRunsTheLVSMaterialsLdirectordCf runs ldirectord itself as the
	// reference, with perl and its modules (ldirectord_vm_test.go).
	if progs, files := ldirectordGuest(t); progs != nil {
		spec.Programs = append(spec.Programs, progs...)
		for guest, host := range files {
			spec.Files[guest] = host
		}
		env["LDIRECTORD_BIN"] = ldirectordPath
	}
	// TestLvsdKeepalivedCorpusTables runs both on every LVS file of the
	// differential corpus (keepalived_diff_test.go's kaDiffCorpus),
	// TestLvsdKeepalivedCorpusAdverts on the files whose keepalived VRRP
	// process needs IPVS.
	for _, path := range kaDiffCorpus(t) {
		if src, err := os.ReadFile(path); err == nil && (strings.Contains(string(src), "virtual_server") || kadiff.NeedsIPVS(src)) {
			spec.Files["/kadiff/"+filepath.Base(path)] = path
			env["LVSD_KA_CORPUS"] = "/kadiff"
		}
	}
	// make bench passes LVSD_BENCH on to the takeover-during-repair test.
	if os.Getenv("LVSD_BENCH") == "1" {
		env["LVSD_BENCH"] = "1"
	}
	suites = append(suites, vm.Suite{
		// TestPair* runs in TestPairInVM, TestBench* in the benchmarks.
		Name: "scenarios", Binary: vm.BuildTestBinary(t, "./integration/vm/scenarios"), Run: "^TestLvsd",
		Env: env,
	})
	vm.RunGoTests(t, spec, suites...)
}
