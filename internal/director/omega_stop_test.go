package director

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/lvsd/lvsd/internal/hcltest"
	"github.com/lvsd/lvsd/lvs"
	"github.com/lvsd/lvsd/lvs/lvstest"
)

// TestStopRunsQuorumDownOfOmegaServices: at start, a virtual server
// starting with its quorum runs quorum_up (ipwrapper.c update_quorum_state
// with init set); at stop, a virtual server with omega runs its
// quorum_down script, its quorum up or not, as keepalived 2.2.7's
// clear_services does (update_vs_notifies with stopping set); one without
// omega runs none.
//
// With lvs_program "master" (the default), the services are withdrawn as
// the stop leaves MASTER, and their stop-time notices must still come.
func TestStopRunsQuorumDownOfOmegaServices(t *testing.T) {
	for _, program := range []string{"always", "master"} {
		t.Run(program, func(t *testing.T) {
			dir := t.TempDir()
			omegaFile, plainFile := filepath.Join(dir, "omega"), filepath.Join(dir, "plain")
			cfg := hcltest.Load(t, fmt.Sprintf(`
global {
  lvs_program = %[3]q
}
vrrp_instance "VI_1" {
  interface         = "eth0"
  virtual_router_id = 51
  priority          = 255
  virtual_ipaddress = ["192.0.2.10/24", "192.0.2.11/24"]
}
virtual_server "192.0.2.10:80" {
  protocol    = "TCP"
  omega       = true
  quorum_up   = "/bin/sh -c 'echo up >> %[1]s'"
  quorum_down = "/bin/sh -c 'echo down >> %[1]s'"
  real_server "10.0.0.1:80" {}
}
virtual_server "192.0.2.11:80" {
  protocol    = "TCP"
  quorum_down = "/bin/sh -c 'echo down >> %[2]s'"
  real_server "10.0.0.2:80" {}
}
`, omegaFile, plainFile, program))
			kernel := lvstest.NewFakeKernel(nil)
			d, err := New(cfg, Options{VRRP: true, Checks: true,
				OpenKernel: func() (lvs.Kernel, error) { return kernel, nil },
				Network:    newFakeSegment(kernel).network(),
			})
			if err != nil {
				t.Fatal(err)
			}
			stop := startRun(t, d)
			waitFor(t, "both services programmed", func() bool {
				ipvs := d.ipvsManager()
				if ipvs == nil {
					return false
				}
				n := 0
				for _, s := range ipvs.Status() {
					if s.State == lvs.StateProgrammed {
						n++
					}
				}
				return n == 2
			})
			waitFor(t, "quorum_up at start", func() bool {
				b, _ := os.ReadFile(omegaFile)
				return string(b) == "up\n"
			})
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if b, err := os.ReadFile(omegaFile); err != nil || string(b) != "up\ndown\n" {
				t.Errorf("omega service's quorum scripts: %q, %v; want quorum_up at start, quorum_down at stop", b, err)
			}
			if _, err := os.Stat(plainFile); err == nil {
				t.Error("the service without omega ran its quorum_down at stop")
			}
		})
	}
}
